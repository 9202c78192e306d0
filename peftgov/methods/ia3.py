"""(IA)^3 (Liu et al., 2022) through peft: learned rescaling of keys, values and FFN activations."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import MethodConfig
from .base import PeftMethod
from .registry import register


@dataclass(frozen=True)
class IA3Options(MethodConfig):
    name: str = "ia3"
    target_modules: list[str] | None = None
    """``None`` = peft's default for the architecture (key, value, output.dense for BERT)."""
    feedforward_modules: list[str] | None = None


@register
class IA3(PeftMethod):
    name = "ia3"
    config_cls = IA3Options
    identity_at_init = True

    def peft_config(self, cfg, *, head, peft_task_type):
        from peft import IA3Config

        return IA3Config(
            task_type=peft_task_type,
            target_modules=cfg.target_modules,
            feedforward_modules=cfg.feedforward_modules,
        )
