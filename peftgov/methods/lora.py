"""LoRA (Hu et al., 2021) through peft, with the DoRA switch (Liu et al., 2024).

QLoRA is LoRA on a k-bit base: set ``model.quantization: 4bit`` in the recipe.

peft applies LoRA's dropout as ``lora_A(dropout(x))`` with an ``nn.Dropout`` per adapted
linear: each keeps a dropped float copy of its input and a mask for the backward pass (q, k and
v each copy the same input). ``fused_dropout`` (the default) replaces that pair with
:class:`FusedDropoutLinear`: one op that keeps the input (once for q, k and v) and a 1-byte mask,
drawn from 16 random bits per element (a quarter of the generator calls of ``nn.Dropout``'s
float draw per element). It also makes each adapted linear a :class:`ScaledAddLinear`, which adds
``scaling * lora_B(h)`` to the frozen layer's output inside one GEMM instead of a product and a
sum over the whole output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from peft.tuners.lora.layer import Linear as LoraLinear
from torch import nn

from ..config import MethodConfig, _require
from .base import PeftMethod, layer_problem, unmatched_targets
from .registry import register


@dataclass(frozen=True)
class LoraOptions(MethodConfig):
    name: str = "lora"
    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.1
    target_modules: str | list[str] | None = None
    """Module names to adapt; ``all-linear`` for every linear layer; ``None`` = peft's default
    for the architecture (query and value projections for BERT)."""
    use_dora: bool = False
    """Weight-decomposed LoRA (DoRA): magnitude and direction trained separately."""
    bias: str = "none"
    layers: list[int] | None = None
    """Adapt only these transformer blocks (0 = the bottom one; peft's ``layers_to_transform``);
    ``None`` = every block. Top blocks only leave a frozen prefix that
    ``train.reuse_frozen_prefix`` computes once per example."""
    fused_dropout: bool = True
    """Dropout and ``lora_A`` as one op that keeps a 1-byte mask instead of a dropped float copy
    of the input, the mask drawn from 16 random bits per element (p rounded to 1/65536: the
    same expectation, other random draws than peft's): less memory for backward and, on the
    CPU, about 14% less time per step (``benchmarks/lora_dropout_probe.py``); and the adapter's
    scaled output added to the frozen layer's inside one GEMM (:class:`ScaledAddLinear`).
    ``false``: peft's ``nn.Dropout`` and forward. DoRA, autocast (mixed precision) and
    ``train.compile`` always use peft's dropout."""

    def __post_init__(self) -> None:
        _require(
            self.layers is None or (bool(self.layers) and min(self.layers) >= 0),
            "layers",
            "must be null or a non-empty list of block indices >= 0",
        )
        _require(self.r > 0, "r", "must be positive")
        _require(self.alpha > 0, "alpha", "must be positive")
        _require(0 <= self.dropout < 1, "dropout", "must be in [0, 1)")
        _require(self.bias in ("none", "all", "lora_only"), "bias", "must be none|all|lora_only")


@register
class Lora(PeftMethod):
    name = "lora"
    config_cls = LoraOptions
    identity_at_init = True

    def peft_config(self, cfg, *, head, peft_task_type):
        from peft import LoraConfig

        return LoraConfig(
            task_type=peft_task_type,
            r=cfg.r,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules=cfg.target_modules,
            use_dora=cfg.use_dora,
            bias=cfg.bias,
            layers_to_transform=cfg.layers,
        )

    def apply(self, model, cfg, *, head, peft_task_type):
        model = super().apply(model, cfg, head=head, peft_task_type=peft_task_type)
        if cfg.fused_dropout:
            fuse_dropout(model)
            fuse_scaled_add(model)
        return model

    def mixes_in_batch(self, cfg):
        return not cfg.use_dora  # peft refuses adapter_names= with DoRA

    def backbone_problems(self, cfg, config, module_names):
        if cfg.layers is not None:
            problem = layer_problem(cfg.layers, config)
            if problem:
                return [("layers", problem)]
            if isinstance(cfg.target_modules, str) and cfg.target_modules != "all-linear":
                return [("layers", "needs target_modules as a list of names, all-linear or null "
                         "(peft ignores layers with a regex)")]
        if isinstance(cfg.target_modules, list):
            missing = unmatched_targets(cfg.target_modules, module_names)
            if missing:
                return [("target_modules", f"{missing} match no module of this backbone "
                         f"({config.model_type}); e.g. {_linear_examples(module_names)}")]
        return []


def _linear_examples(module_names: list[str]) -> str:
    """A few distinct leaf names from the first block, to show what can be targeted."""
    leaves = []
    for name in module_names:
        if ".0." in name:
            leaf = name.rsplit(".", 1)[-1]
            if leaf not in leaves:
                leaves.append(leaf)
    return ", ".join(leaves[:8]) or "see model.named_modules()"


# --------------------------------------------------------------------------- fused dropout


def keep_mask(x: torch.Tensor, p: float) -> tuple[torch.Tensor, float]:
    """Which elements of ``x`` dropout keeps (bool, ``x``'s shape) and the scale of the kept
    ones: 16 random bits per element from the default generator (so seeding and checkpoints
    cover it), four per 64-bit draw; ``p`` is rounded to 1/65536."""
    n = x.numel()
    words = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64, device=x.device)
    dropped = round(p * 65536)
    keep = words.view(torch.int16)[:n].view(x.shape) >= dropped - 32768
    return keep, 65536 / (65536 - dropped)


class _DropoutLinear(torch.autograd.Function):
    """``linear(dropout(x), weight)`` saving ``x`` and a 1-byte mask, not a dropped copy: q, k
    and v, which read the same ``x``, keep it once."""

    @staticmethod
    def forward(ctx, x, weight, p):
        keep, ctx.scale = keep_mask(x, p)
        ctx.save_for_backward(x, weight, keep)
        return F.linear(x * _multiplier(keep, ctx.scale, x.dtype), weight)

    @staticmethod
    def backward(ctx, grad):
        x, weight, keep = ctx.saved_tensors
        mult = _multiplier(keep, ctx.scale, x.dtype)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = grad.matmul(weight).mul_(mult)
        if ctx.needs_input_grad[1]:
            dropped = (x * mult).reshape(-1, x.shape[-1])
            grad_w = grad.reshape(-1, grad.shape[-1]).t().mm(dropped)
        return grad_x, grad_w, None


def _multiplier(keep: torch.Tensor, scale: float, dtype: torch.dtype) -> torch.Tensor:
    # through uint8: converting a bool tensor directly is several times slower on the CPU
    return keep.view(torch.uint8).to(dtype).mul_(scale)


class FusedDropoutLinear(nn.Linear):
    """peft's ``lora_A`` (an ``nn.Linear`` without bias, same parameter names) with the dropout
    before it folded in; ``p`` is set by :func:`fuse_dropout`."""

    p: float = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return F.linear(x, self.weight, self.bias)
        plain = (
            self.bias is not None
            or torch.is_autocast_enabled(x.device.type)
            or torch.compiler.is_compiling()
        )
        if plain:
            return F.linear(F.dropout(x, self.p, True), self.weight, self.bias)
        # with or without gradients alike: reentrant activation checkpointing runs the forward
        # without them, then again with them, and both must drop the same elements
        return _DropoutLinear.apply(x, self.weight, self.p)


class ScaledAddLinear(LoraLinear):
    """peft's LoRA ``Linear`` whose plain path computes ``base(x) + scaling * lora_B(lora_A(x))``
    as ``base(x).addmm_(lora_A(x), lora_B.T, alpha=scaling)``: peft's product and sum each read
    and write the whole output, forward and backward, for a rank-r update (5% of a MiniLM LoRA
    step on a quiet CPU, ``benchmarks/lora_dropout_probe.py``). The same function up to float rounding; parameter names, saving and
    merging are peft's. Anything else (merged or disabled adapters, several active ones,
    ``adapter_names``, variants such as DoRA, a ``lora_B`` bias, a non-``nn.Linear`` base, mixed
    dtypes, autocast, peft's own dropout) takes peft's forward."""

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        name = None if args or kwargs else self._plain_adapter(x)
        if name is None:
            return super().forward(x, *args, **kwargs)
        flat = x.reshape(-1, x.shape[-1])
        out = self.base_layer(flat)  # a fresh 2-D tensor: updating it in place is safe
        lora_b = self.lora_B[name].weight
        out.addmm_(self.lora_A[name](flat), lora_b.t(), alpha=self.scaling[name])
        return out.view(*x.shape[:-1], out.shape[-1])

    def _plain_adapter(self, x: torch.Tensor) -> str | None:
        """The one active adapter when the plain path computes peft's function, else None."""
        if self.disable_adapters or self.merged or len(self.active_adapters) != 1:
            return None
        name = self.active_adapters[0]
        if name not in self.lora_A or name in self.lora_variant:
            return None
        base = self.base_layer
        lora_a, lora_b = self.lora_A[name], self.lora_B[name]
        plain = (
            type(base) is nn.Linear
            and lora_b.bias is None
            and isinstance(self.lora_dropout[name], nn.Identity)
            and x.dtype == base.weight.dtype == lora_a.weight.dtype == lora_b.weight.dtype
            and not torch.is_autocast_enabled(x.device.type)
        )
        return name if plain else None


def fuse_scaled_add(model: nn.Module) -> int:
    """Make every peft LoRA ``Linear`` a :class:`ScaledAddLinear`; returns how many."""
    fused = 0
    for module in model.modules():
        if type(module) is LoraLinear:
            module.__class__ = ScaledAddLinear
            fused += 1
    return fused


def fuse_dropout(model: nn.Module) -> int:
    """Fold every vanilla LoRA linear's dropout into its ``lora_A`` (DoRA and other variants,
    and non-linear layers, keep peft's); returns how many were folded."""
    folded = 0
    for module in model.modules():
        if not isinstance(module, LoraLinear):
            continue
        for name, drop in list(module.lora_dropout.items()):
            lora_a = module.lora_A[name]
            if (
                name in module.lora_variant
                or not isinstance(drop, nn.Dropout)
                or drop.p == 0
                or type(lora_a) is not nn.Linear
            ):
                continue
            lora_a.__class__ = FusedDropoutLinear
            lora_a.p = float(drop.p)
            module.lora_dropout[name] = nn.Identity()
            folded += 1
    return folded
