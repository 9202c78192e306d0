"""What the backbone bounds, checked as soon as its config is read: before any data is
tokenized, any weight is loaded or anything is written.

A recipe that asks for more than the backbone can give (a ``task.max_length`` past its
position embeddings, LoRA targets that name no module, more frozen-baseline layers than it
has) would otherwise fail deep inside the model after minutes of loading and a first
evaluation, or train on something the user did not write. The order of checks in a run is:
the recipe itself (``config.py``: keys, types, files exist), the output directory (a finished
run is never overwritten silently), these limits, the data (format, columns, labels), then
the weights.
"""

from __future__ import annotations

from typing import Any

from .backbones import hub_kwargs
from .config import Recipe
from .errors import RecipeError
from .methods import get_method
from .tasks import get_task

POSITION_OFFSET_TYPES = {"roberta", "xlm-roberta", "camembert", "xlm-roberta-xl", "longformer"}
"""Model types whose position ids start after the padding index (RoBERTa's
``padding_idx + 1`` offset): two of ``max_position_embeddings`` are not usable."""


def position_limit(config: Any) -> int | None:
    """The longest sequence the backbone's position embeddings hold (None: no fixed limit)."""
    n = getattr(config, "max_position_embeddings", None)
    if not isinstance(n, int):
        return None
    if config.model_type in POSITION_OFFSET_TYPES:
        n -= (config.pad_token_id or 0) + 1
    return n


def module_names(config: Any) -> list[str]:
    """Every module name of the backbone, from a weightless (meta-device) instance, each both
    bare and under the model's ``base_model_prefix`` (as a task model names them)."""
    import torch
    from transformers import AutoModel

    try:
        with torch.device("meta"):
            model = AutoModel.from_config(config)
    except Exception:  # an architecture AutoModel cannot build: skip the name checks
        return []
    prefix = getattr(model, "base_model_prefix", "")
    names = [n for n, _ in model.named_modules() if n]
    return names + [f"{prefix}.{n}" for n in names if prefix]


def check(recipe: Recipe, path: str, tokenizer: Any) -> None:
    """Raise a :class:`RecipeError` naming the recipe key for the first limit broken."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(path, **hub_kwargs(path, recipe.model))
    except (OSError, ValueError):
        return  # the model loader reports an unreadable backbone with its own message
    source, name = recipe.source, recipe.model.gguf or recipe.model.name
    method = get_method(recipe.method.name)
    max_length = getattr(recipe.task, "max_length", None)
    limit = position_limit(config)
    extra = method.extra_positions(recipe.method)
    if limit is not None and isinstance(max_length, int) and max_length + extra > limit:
        if extra:
            message = (
                f"{max_length} + {extra} virtual tokens (method.num_virtual_tokens) is more "
                f"than the {limit} positions of backbone {name}"
            )
        else:
            message = f"{max_length} is more than the {limit} positions of backbone {name}"
        raise RecipeError(source, "task.max_length", f"{message}; use at most {limit - extra}")
    if extra and get_task(recipe.task.name).builds_attention_mask:
        raise RecipeError(
            source, "method.name",
            f"{recipe.method.name} adds virtual tokens, which task {recipe.task.name!r} cannot "
            "place in its own attention mask; use lora (or another weight method)",
        )
    if tokenizer.pad_token is None:
        raise RecipeError(
            source, "model.name",
            f"the tokenizer of {name} has no pad, eos or unk token to pad batches with",
        )
    for key, message in method.backbone_problems(recipe.method, config, module_names(config)):
        raise RecipeError(source, f"method.{key}", message)
