"""Prompt learning through peft: prompt tuning (Lester et al., 2021), prefix tuning
(Li & Liang, 2021) and p-tuning (Liu et al., 2021), as variants of one method.

Prompt-learning special cases (virtual tokens, prefix key/values) stay inside peft and this
module; the loop and the tasks see an ordinary model: logits line up with the input positions,
and a prefix reaches the model whatever transformers calls its cache argument.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Literal

from ..config import MethodConfig, _require
from ..errors import PeftgovError
from .base import PeftMethod
from .registry import register


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
        # Text initialisation needs the backbone's tokenizer: where the model came from.
        tokenizer = getattr(model.config, "name_or_path", None)
        config = self.peft_config(cfg, head=head, peft_task_type=peft_task_type, tokenizer=tokenizer)
        return _ordinary(self.wrap(model, config, head), cfg)

    def load(self, base, directory, cfg):
        return _ordinary(super().load(base, directory, cfg), cfg)

    def merged(self, model):
        raise PeftgovError(
            "prompt learning adds virtual tokens / a prefix in front of every input, not a change "
            "to any weight: it cannot be merged; ship the run's adapter/ folder"
        )

    def extra_positions(self, cfg):
        # Prompt tuning / p-tuning prepend virtual tokens to the input; a prefix's keys shift
        # the position ids of the input by its length (transformers' past length).
        return cfg.num_virtual_tokens

    def peft_config(self, cfg, *, head, peft_task_type, tokenizer=None):
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
                tokenizer_name_or_path=tokenizer,
            )
        return peft.PromptTuningConfig(**common)


def _ordinary(model, cfg):
    """What the loop and the tasks see: a model whose outputs line up with its inputs."""
    if cfg.variant == "prefix":
        return expose_past_key_values(model)
    model.register_forward_hook(_drop_virtual_positions, with_kwargs=True)
    return model


def _drop_virtual_positions(module, args, kwargs, output):
    """Prompt tuning and p-tuning prepend virtual tokens, so per-token logits come back longer
    than the input; keep the input's positions, so a task's labels line up with its logits
    (sequence-level logits are untouched; the loss peft computes already masks the prompt)."""
    inputs = kwargs.get("input_ids", args[0] if args else None)
    if inputs is None:
        inputs = kwargs.get("inputs_embeds")
    logits = getattr(output, "logits", None)
    if inputs is not None and logits is not None and logits.dim() == 3:
        if logits.shape[1] > inputs.shape[1]:
            output.logits = logits[:, -inputs.shape[1] :]
    return output


def expose_past_key_values(model):
    """Let peft hand a prefix to models whose forward calls it ``cache``.

    transformers 5.24 renamed the models' ``past_key_values`` argument to ``cache`` (the old
    name is still accepted, deprecated until 5.40), and peft 0.21 prefix tuning breaks two ways:
    for classification and token classification it looks for ``past_key_values`` in the
    encoder's signature (``BertModel.forward``) and refuses to run; for causal LMs,
    ``generate`` passes its own empty ``cache`` beside peft's prefix and the model keeps the
    empty one, so replies are generated WITHOUT the prefix, silently. This gives the model (and
    the encoder peft calls directly) a forward that takes ``past_key_values`` and uses it as
    ``cache`` unless a non-empty cache is already there. On transformers < 5.24 nothing changes.
    A prefix-tuned model loaded with plain ``PeftModel.from_pretrained`` needs this call too.
    """
    modules = [model.base_model]
    name = getattr(model, "transformer_backbone_name", None)
    if name is not None:
        modules.append(model.base_model.get_submodule(name))
    for module in modules:
        _accept_past_key_values(module)
    return model


def _accept_past_key_values(module) -> None:
    forward = module.forward
    sig = inspect.signature(forward)
    if "past_key_values" in sig.parameters or "cache" not in sig.parameters:
        return

    def forward_with_prefix(*args, past_key_values=None, **kwargs):
        cache = kwargs.get("cache")
        if past_key_values is not None and (cache is None or cache.get_seq_length() == 0):
            kwargs["cache"] = past_key_values
        return forward(*args, **kwargs)

    # generate() checks its keyword arguments against this signature: keep the model's own.
    params = [p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
    params.append(inspect.Parameter("past_key_values", inspect.Parameter.KEYWORD_ONLY, default=None))
    params += [p for p in sig.parameters.values() if p.kind == p.VAR_KEYWORD]
    forward_with_prefix.__signature__ = sig.replace(parameters=params)
    module.forward = forward_with_prefix
