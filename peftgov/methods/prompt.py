"""Prompt learning through peft: prompt tuning (Lester et al., 2021), prefix tuning
(Li & Liang, 2021) and p-tuning (Liu et al., 2021), as variants of one method.

Prompt-learning special cases (virtual tokens, prefix key/values) stay inside peft and this
module; the loop sees an ordinary model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import MethodConfig, _require
from ..errors import PeftgovError
from . import register
from .base import PeftMethod


@dataclass(frozen=True)
class PromptOptions(MethodConfig):
    name: str = "prompt"
    variant: Literal["prompt", "prefix", "p-tuning"] = "prompt"
    num_virtual_tokens: int = 20
    init_text: str | None = None
    """Prompt tuning only: initialise the soft prompt from this text's embeddings."""
    encoder_hidden_size: int | None = None
    """P-tuning / prefix projection: hidden size of the prompt encoder."""
    prefix_projection: bool = False

    def __post_init__(self) -> None:
        _require(self.num_virtual_tokens > 0, "num_virtual_tokens", "must be positive")


@register
class Prompt(PeftMethod):
    name = "prompt"
    config_cls = PromptOptions

    def apply(self, model, cfg, *, head, peft_task_type):
        if peft_task_type == "TOKEN_CLS" and cfg.variant != "prefix":
            # peft prepends virtual tokens to the inputs but not to per-token labels.
            raise PeftgovError(
                f"method.variant: {cfg.variant!r} cannot do token classification (virtual "
                "tokens shift the labels); use variant: prefix"
            )
        # Text initialisation needs the backbone's tokenizer; it lives where the model came from.
        self._tokenizer_path = getattr(model.config, "name_or_path", None)
        return super().apply(model, cfg, head=head, peft_task_type=peft_task_type)

    def peft_config(self, cfg, *, head, peft_task_type):
        import peft

        common = dict(task_type=peft_task_type, num_virtual_tokens=cfg.num_virtual_tokens)
        if cfg.variant == "prefix":
            extra = {"prefix_projection": cfg.prefix_projection}
            if cfg.encoder_hidden_size:
                extra["encoder_hidden_size"] = cfg.encoder_hidden_size
            return peft.PrefixTuningConfig(**common, **extra)
        if cfg.variant == "p-tuning":
            extra = {"encoder_hidden_size": cfg.encoder_hidden_size or 128}
            return peft.PromptEncoderConfig(**common, **extra)
        if cfg.init_text:
            return peft.PromptTuningConfig(
                **common,
                prompt_tuning_init=peft.PromptTuningInit.TEXT,
                prompt_tuning_init_text=cfg.init_text,
                tokenizer_name_or_path=self._tokenizer_path,
            )
        return peft.PromptTuningConfig(**common)
