"""LoRA (Hu et al., 2021) through peft, with the DoRA switch (Liu et al., 2024).

QLoRA is LoRA on a k-bit base: set ``model.quantization: 4bit`` in the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

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
