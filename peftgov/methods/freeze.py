"""Layer freezing baseline: train only the top ``layers`` transformer blocks and the head."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import MethodConfig, _require
from .base import Method, find_layers, load_trainable, save_trainable, set_trainable
from .registry import register


@dataclass(frozen=True)
class FreezeConfig(MethodConfig):
    name: str = "freeze"
    layers: int = 2
    """How many of the top transformer blocks train."""

    def __post_init__(self) -> None:
        _require(self.layers >= 0, "layers", "must be >= 0")


@register
class Freeze(Method):
    name = "freeze"
    config_cls = FreezeConfig
    identity_at_init = True
    supports_quantized_backbone = False

    def apply(self, model, cfg, *, head, peft_task_type):
        prefix, blocks = find_layers(model)
        k = min(cfg.layers, len(blocks))
        top = [f"{prefix}.{i}" for i in range(len(blocks) - k, len(blocks))]
        set_trainable(model, top + head)
        return model

    def backbone_problems(self, cfg, config, module_names):
        depth = getattr(config, "num_hidden_layers", None)
        if depth is not None and cfg.layers > depth:
            return [("layers", f"{cfg.layers} is more than the backbone's {depth} layers")]
        return []

    def save(self, model, directory):
        save_trainable(model, directory, meta={"method": self.name})

    def load(self, base, directory, cfg):
        return load_trainable(base, directory)
