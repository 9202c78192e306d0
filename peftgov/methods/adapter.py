"""Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2021) as a real peft method.

An adapter is a small residual MLP inserted after a sub-layer's output projection::

    out = h + up(act(down(h)))        down: hidden -> hidden // reduction_factor, up: back

``up`` starts at exactly zero (weight and bias), so an untrained adapter is the identity and the
adapted model's outputs are bit-identical to the backbone's until training moves ``up``.

Placement follows the papers. The adapter acts on a sub-layer's output *before* the residual
add (and, for post-LN models like BERT, before the LayerNorm), which is exactly the output of
the sub-layer's last linear layer; wrapping that layer so ``forward = adapter(linear(x))`` puts
it there without touching the model's code. ``houlsby`` adapts the attention output and the
feed-forward output of every block; ``pfeiffer`` only the feed-forward output.

peft has no bottleneck adapter, so this module adds one through peft's extension point
(:func:`peft.utils.peft_types.register_peft_method`) under the peft type ``BOTTLENECK``: then
``get_peft_model(model, BottleneckConfig(...))``, ``save_pretrained`` and
``PeftModel.from_pretrained`` work as for peft's own methods, and a run's ``adapter/`` folder
is a standard peft folder. peft only accepts names listed in its ``PeftType`` enum, so the
member is added to that enum at import (see :func:`_peft_type`). Registration happens once, when
``peftgov.methods`` is imported; that import is what a process loading such a folder needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

import torch
import torch.nn.functional as F
from peft.config import PeftConfig
from peft.tuners.tuners_utils import BaseTuner, BaseTunerLayer
from peft.utils.peft_types import PeftType, register_peft_method
from torch import nn
from transformers.pytorch_utils import Conv1D

from ..config import MethodConfig, _require
from ..errors import PeftgovError
from .base import PeftMethod, layer_problem, unmatched_targets
from .registry import register

PEFT_NAME = "bottleneck"
"""The peft method name (``adapter_config.json`` says ``"peft_type": "BOTTLENECK"``)."""
PREFIX = "bottleneck_"
"""Prefix of every adapter parameter name (``...output.dense.bottleneck_down.default.weight``)."""

VARIANTS = ("houlsby", "pfeiffer")
ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "swish": F.silu, "tanh": torch.tanh}

# --------------------------------------------------------------------------- placement

_BERT = (r"layer\.\d+\.attention\.output\.dense", r"layer\.\d+\.output\.dense")
_LLAMA = (r"layers\.\d+\.self_attn\.o_proj", r"layers\.\d+\.mlp\.down_proj")
PLACEMENT: dict[str, tuple[str, str]] = {
    "bert": _BERT,
    "roberta": _BERT,
    "xlm-roberta": _BERT,
    "distilbert": (r"layer\.\d+\.attention\.out_lin", r"layer\.\d+\.ffn\.lin2"),
    "gpt2": (r"h\.\d+\.attn\.c_proj", r"h\.\d+\.mlp\.c_proj"),
    "llama": _LLAMA,
    "gemma": _LLAMA,
    "gemma2": _LLAMA,
    "gemma3_text": _LLAMA,
    "mistral": _LLAMA,
    "qwen2": _LLAMA,
    "qwen3": _LLAMA,
}
"""model_type -> (attention output projection, feed-forward output projection), as regexes for
the end of a module name. The block index is part of the pattern so that BERT's feed-forward
``layer.N.output.dense`` does not also match ``layer.N.attention.output.dense``."""


def default_target_modules(
    model_type: str | None, variant: str, layers: list[int] | None = None
) -> str:
    """The peft ``target_modules`` regex (full match) placing ``variant`` adapters in a model of
    this type, in the blocks ``layers`` only when given; ValueError naming the type when there
    is no default placement for it."""
    if model_type not in PLACEMENT:
        raise ValueError(
            f"bottleneck adapter: no default placement for model type {model_type!r} (known: "
            f"{', '.join(sorted(PLACEMENT))}); set `method.target_modules` in the recipe (or "
            "`target_modules` in BottleneckConfig) to the names of the sub-layer output linear "
            "layers to adapt, e.g. ['mlp.down_proj']"
        )
    attention, feed_forward = PLACEMENT[model_type]
    patterns = [attention, feed_forward] if variant == "houlsby" else [feed_forward]
    if layers is not None:  # peft ignores layers_to_transform with a regex: put them in it
        blocks = "(?:" + "|".join(str(i) for i in sorted(set(layers))) + ")"
        patterns = [p.replace(r"\d+", blocks) for p in patterns]
    return rf"(?:.*\.)?(?:{'|'.join(patterns)})"


# --------------------------------------------------------------------------- peft registration


def _peft_type() -> PeftType:
    """``PeftType.BOTTLENECK``, adding the member to peft's enum if it is not there yet.

    ``register_peft_method`` requires the name to be a ``PeftType`` member (peft's own methods
    are listed in the enum's source). Adding one at runtime keeps every peft code path that does
    ``config.peft_type.value`` or compares with ``PeftType`` members working unchanged.
    """
    name = PEFT_NAME.upper()
    if name in PeftType.__members__:
        return PeftType[name]
    member = str.__new__(PeftType, name)
    member._name_, member._value_ = name, name
    member.__objclass__ = PeftType
    member._sort_order_ = len(PeftType._member_names_)
    type.__setattr__(PeftType, name, member)  # EnumType.__setattr__ refuses new members
    PeftType._member_names_.append(name)
    PeftType._member_map_[name] = member
    PeftType._value2member_map_[name] = member
    if PeftType(name) is not member:  # an enum implementation this code does not know
        raise RuntimeError("could not add BOTTLENECK to peft's PeftType")
    return member


BOTTLENECK = _peft_type()


@dataclass
class BottleneckConfig(PeftConfig):
    """peft configuration of bottleneck adapters (what ``adapter_config.json`` holds).

    ``target_modules`` left ``None`` is resolved from the model type and ``variant`` when the
    adapter is injected; the resolved regex is what gets saved, so reloading does not depend on
    the placement table.
    """

    variant: str = field(default="pfeiffer", metadata={"help": "houlsby | pfeiffer"})
    reduction_factor: int = field(default=16, metadata={"help": "bottleneck = hidden // this"})
    activation: str = field(default="relu", metadata={"help": "relu | gelu | swish | tanh"})
    target_modules: Optional[Union[list[str], str]] = field(
        default=None,
        metadata={"help": "Output layers to wrap: names (suffix match) or a full-match regex."},
    )
    exclude_modules: Optional[Union[list[str], str]] = field(default=None)
    modules_to_save: Optional[list[str]] = field(
        default=None, metadata={"help": "Extra modules trained and saved, e.g. the task head."}
    )
    layers_to_transform: Optional[list[int]] = field(
        default=None, metadata={"help": "Adapt only these blocks (indices); None: every block."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.peft_type = BOTTLENECK
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {tuple(ACTIVATIONS)}, got {self.activation!r}"
            )
        if isinstance(self.reduction_factor, bool) or not isinstance(self.reduction_factor, int):
            raise ValueError(f"reduction_factor must be an int, got {self.reduction_factor!r}")
        if self.reduction_factor < 1:
            raise ValueError(f"reduction_factor must be >= 1, got {self.reduction_factor}")
        if isinstance(self.target_modules, list):
            self.target_modules = set(self.target_modules)
        if isinstance(self.exclude_modules, list):
            self.exclude_modules = set(self.exclude_modules)


def _out_features(layer: nn.Module) -> int:
    if isinstance(layer, nn.Linear):
        return layer.out_features
    if isinstance(layer, Conv1D):  # GPT-2 stores (in, out)
        return layer.nf
    raise ValueError(
        f"bottleneck adapters wrap linear layers (nn.Linear or Conv1D), got {type(layer).__name__}"
    )


class BottleneckLayer(nn.Module, BaseTunerLayer):
    """A wrapped output projection: ``forward(x) = h + up(act(down(h)))`` with ``h = base(x)``.

    One ``down``/``up`` pair per adapter name (peft's multi-adapter convention); several active
    adapters are applied one after the other. Cannot be merged into the base weights: the
    activation makes it non-linear.
    """

    adapter_layer_names = ("bottleneck_down", "bottleneck_up")
    other_param_names = ("bottleneck_activation",)

    def __init__(self, base_layer: nn.Module, adapter_name: str, config: BottleneckConfig) -> None:
        super().__init__()
        self.base_layer = base_layer
        self.bottleneck_down = nn.ModuleDict({})
        self.bottleneck_up = nn.ModuleDict({})
        self.bottleneck_activation: dict[str, str] = {}
        self._disable_adapters = False
        self.merged_adapters = []
        self.out_features = _out_features(self.get_base_layer())
        self._active_adapter = adapter_name
        self.update_layer(adapter_name, config)

    def update_layer(self, adapter_name: str, config: BottleneckConfig, **kwargs: Any) -> None:
        hidden = self.out_features
        bottleneck = max(1, hidden // config.reduction_factor)
        down = nn.Linear(hidden, bottleneck)  # default (Kaiming-uniform) init
        up = nn.Linear(bottleneck, hidden)
        nn.init.zeros_(up.weight)  # zero up-projection: the untrained adapter is the identity
        nn.init.zeros_(up.bias)
        self.bottleneck_down[adapter_name] = down
        self.bottleneck_up[adapter_name] = up
        self.bottleneck_activation[adapter_name] = config.activation
        self._move_adapter_to_device_of_base_layer(adapter_name)
        self.set_adapter(self.active_adapters, inference_mode=config.inference_mode)

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        result = self.base_layer(x, *args, **kwargs)
        if self.disable_adapters:
            return result
        for name in self.active_adapters:
            if name not in self.bottleneck_down:
                continue
            down, up = self.bottleneck_down[name], self.bottleneck_up[name]
            act = ACTIVATIONS[self.bottleneck_activation[name]]
            h = self._cast_input_dtype(result, down.weight.dtype)
            result = result + up(act(down(h))).to(result.dtype)
        return result

    def merge(self, safe_merge: bool = False, adapter_names: Optional[list[str]] = None) -> None:
        raise ValueError("bottleneck adapters are non-linear and cannot be merged into the weights")

    def unmerge(self) -> None:
        pass  # never merged

    def __repr__(self) -> str:
        return "bottleneck." + super().__repr__()


class BottleneckModel(BaseTuner):
    """peft tuner that wraps the target output projections in :class:`BottleneckLayer`."""

    prefix: str = PREFIX
    tuner_layer_cls = BottleneckLayer
    target_module_mapping: dict[str, list[str]] = {}  # placement is resolved per variant below

    def _prepare_adapter_config(self, peft_config: BottleneckConfig, model_config: dict):
        if peft_config.target_modules is None:
            peft_config.target_modules = default_target_modules(
                model_config.get("model_type"), peft_config.variant,
                peft_config.layers_to_transform,
            )
        return peft_config

    def _create_and_replace(
        self, peft_config, adapter_name, target, target_name, parent, current_key, **kwargs
    ) -> None:
        if isinstance(target, BottleneckLayer):
            target.update_layer(adapter_name, peft_config)
            return
        new_module = BottleneckLayer(target, adapter_name, peft_config)
        if adapter_name not in self.active_adapters:
            new_module.requires_grad_(False)  # an added, inactive adapter does not train
        self._replace_module(parent, target_name, new_module, target)

    def _check_merge_allowed(self) -> None:
        raise ValueError(
            "bottleneck adapters are non-linear and cannot be merged into the base weights; "
            "use the adapted model as is (or unload() to drop the adapters)"
        )


def _register_with_peft() -> None:
    """Register the method with peft; calling it again is a no-op."""
    from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING

    current = PEFT_TYPE_TO_CONFIG_MAPPING.get(BOTTLENECK)
    if current is BottleneckConfig:
        return
    if current is not None:
        raise RuntimeError(
            f"peft already has a method {PEFT_NAME!r} ({current.__module__}.{current.__qualname__})"
        )
    register_peft_method(
        name=PEFT_NAME, config_cls=BottleneckConfig, model_cls=BottleneckModel, prefix=PREFIX
    )


_register_with_peft()

# --------------------------------------------------------------------------- peftgov method


@dataclass(frozen=True)
class AdapterOptions(MethodConfig):
    name: str = "adapter"
    variant: Literal["houlsby", "pfeiffer"] = "pfeiffer"
    """``houlsby``: an adapter after the attention output and after the feed-forward output of
    every block (Houlsby et al., 2019). ``pfeiffer``: after the feed-forward output only
    (Pfeiffer et al., 2021): half the adapters, usually as accurate."""
    reduction_factor: int = 16
    """Bottleneck width = hidden_size // reduction_factor (at least 1)."""
    activation: Literal["relu", "gelu", "swish", "tanh"] = "relu"
    """Non-linearity between the down- and up-projection."""
    target_modules: list[str] | None = None
    """Override the placement: names of the linear layers whose output is adapted (exact name or
    name suffix, as in peft). ``None`` = the variant's placement for the model type. Note that a
    suffix like ``output.dense`` also matches BERT's ``attention.output.dense``. When set,
    ``variant`` no longer matters."""
    layers: list[int] | None = None
    """Adapt only these transformer blocks (0 = the bottom one); ``None`` = every block. Top
    blocks only leave a frozen prefix that ``train.reuse_frozen_prefix`` computes once."""

    def __post_init__(self) -> None:
        _require(self.variant in VARIANTS, "variant", f"must be one of {', '.join(VARIANTS)}")
        _require(
            isinstance(self.reduction_factor, int) and not isinstance(self.reduction_factor, bool),
            "reduction_factor",
            "must be an integer",
        )
        _require(self.reduction_factor >= 1, "reduction_factor", "must be >= 1")
        _require(
            self.activation in ACTIVATIONS, "activation", f"must be one of {', '.join(ACTIVATIONS)}"
        )
        targets = self.target_modules
        _require(
            targets is None or (bool(targets) and all(isinstance(t, str) and t for t in targets)),
            "target_modules",
            "must be null or a non-empty list of module names",
        )
        _require(
            self.layers is None or (bool(self.layers) and min(self.layers) >= 0),
            "layers",
            "must be null or a non-empty list of block indices >= 0",
        )


@register
class Adapter(PeftMethod):
    """Bottleneck adapters: only the adapters and the task head train; saved as a peft folder."""

    def merged(self, model):
        raise PeftgovError(
            "bottleneck adapters add a non-linear block (down-projection, activation, "
            "up-projection) that no weight of the backbone can absorb: they cannot be merged; "
            "ship the run's adapter/ folder (PeftModel.from_pretrained after `import peftgov`)"
        )

    def backbone_problems(self, cfg, config, module_names):
        problem = layer_problem(cfg.layers, config) if cfg.layers is not None else None
        if problem:
            return [("layers", problem)]
        if cfg.target_modules is None:
            try:
                default_target_modules(config.model_type, cfg.variant)
            except ValueError as exc:
                return [("target_modules", str(exc))]
            return []
        missing = unmatched_targets(list(cfg.target_modules), module_names)
        if missing:
            return [("target_modules", f"{missing} match no module of this backbone")]
        return []

    name = "adapter"
    config_cls = AdapterOptions
    identity_at_init = True

    def peft_config(self, cfg, *, head, peft_task_type):
        return BottleneckConfig(
            task_type=peft_task_type,
            variant=cfg.variant,
            reduction_factor=cfg.reduction_factor,
            activation=cfg.activation,
            target_modules=list(cfg.target_modules) if cfg.target_modules else None,
            modules_to_save=list(head) or None,
            layers_to_transform=list(cfg.layers) if cfg.layers is not None else None,
        )


__all__ = [
    "ACTIVATIONS",
    "Adapter",
    "AdapterOptions",
    "BOTTLENECK",
    "BottleneckConfig",
    "BottleneckLayer",
    "BottleneckModel",
    "PLACEMENT",
    "default_target_modules",
]
