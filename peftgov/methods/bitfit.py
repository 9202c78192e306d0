"""BitFit (Ben Zaken et al., 2022): train every bias term of the backbone, plus the head."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import MethodConfig
from .base import Method, load_trainable, save_trainable, set_trainable
from .registry import register


@dataclass(frozen=True)
class BitFitConfig(MethodConfig):
    name: str = "bitfit"
    norm_biases: bool = True
    """Also train the normalisation layers' biases (LayerNorm / RMSNorm ``.bias``). ``false``
    keeps them frozen: in a post-norm encoder they are added after every block, and on
    multilingual-e5-small (Weibo NER, seed 43) training them pulled every position's
    representation onto one vector, layer by layer, so the tagger could only answer ``O``."""


def is_norm(module) -> bool:
    """A normalisation layer: ``nn.LayerNorm`` and the architectures' own (``LlamaRMSNorm``...)."""
    return "norm" in type(module).__name__.lower()


@register
class BitFit(Method):
    name = "bitfit"
    config_cls = BitFitConfig
    identity_at_init = True

    def apply(self, model, cfg, *, head, peft_task_type):
        for module in model.modules():
            if not cfg.norm_biases and is_norm(module):
                continue
            bias = module._parameters.get("bias")
            if bias is not None:
                bias.requires_grad_(True)
        set_trainable(model, head)
        return model

    def save(self, model, directory):
        save_trainable(model, directory, meta={"method": self.name})

    def load(self, base, directory, cfg):
        return load_trainable(base, directory)
