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
    keeps them frozen. A bias adds the same vector at every position; in a post-norm encoder the
    LayerNorm biases do so after every block. On multilingual-e5-small (Weibo NER, seed 43,
    test F1 0) the trained LayerNorm biases alone shrank the last layer's spread over positions
    from 0.132 to 0.012, all trained biases to 0.002: every position one vector, a tagger that
    only answers ``O``. With them frozen the same run kept its spread (0.097) but hardly left
    the all-``O`` plateau (test F1 0.05); ``task.head_bias_prior`` is what took it off (test
    F1 0.465; benchmarks/results/chinese/collapse.txt)."""


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
