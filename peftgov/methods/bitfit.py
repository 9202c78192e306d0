"""BitFit (Ben Zaken et al., 2022): train every bias term of the backbone, plus the head."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import MethodConfig
from .base import Method, load_trainable, save_trainable, set_trainable
from .registry import register


@dataclass(frozen=True)
class BitFitConfig(MethodConfig):
    name: str = "bitfit"


@register
class BitFit(Method):
    name = "bitfit"
    config_cls = BitFitConfig
    identity_at_init = True

    def apply(self, model, cfg, *, head, peft_task_type):
        for pname, p in model.named_parameters():
            if pname.endswith(".bias") or pname == "bias":
                p.requires_grad_(True)
        set_trainable(model, head)
        return model

    def save(self, model, directory):
        save_trainable(model, directory, meta={"method": self.name})

    def load(self, base, directory, cfg):
        return load_trainable(base, directory)
