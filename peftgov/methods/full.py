"""Full fine-tuning: the baseline every method is compared against."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ..config import MethodConfig
from ..errors import ArtifactError
from .base import Method
from .registry import register


@dataclass(frozen=True)
class FullConfig(MethodConfig):
    name: str = "full"


@register
class Full(Method):
    name = "full"
    config_cls = FullConfig
    identity_at_init = True
    title = "full fine-tuning"
    supports_quantized_backbone = False

    def apply(self, model, cfg, *, head, peft_task_type):
        for p in model.parameters():
            p.requires_grad_(True)
        return model

    def save(self, model: nn.Module, directory: Path) -> None:
        # A standard Hugging Face folder: usable with from_pretrained outside peftgov too.
        model.save_pretrained(directory / "model", safe_serialization=True)

    def load(self, base, directory, cfg):
        folder = directory / "model"
        if not (folder / "config.json").is_file():
            raise ArtifactError(f"{folder}: no saved model (was this a full fine-tuning run?)")
        return type(base).from_pretrained(folder, dtype=base.dtype)
