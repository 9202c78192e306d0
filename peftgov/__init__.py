"""peftgov: parameter-efficient fine-tuning on frozen backbones, through one Accelerate loop.

Python API::

    from peftgov import load_recipe, train
    result = train(load_recipe("recipes/hotline/lora.yaml", overrides={"train.epochs": 1}))
    print(result.metrics["test"]["accuracy"], result.run_dir)
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time these load on first use (below)
    from .config import Recipe

# bitsandbytes (imported by peft) warns on CPUs with AVX-512 BF16 that it could not fetch an
# optional CPU kernel from the hub; peftgov never downloads code, so the warning only adds a
# line to every command's output (and to every one-line error).
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
# peft 0.21 still calls transformers' renamed is_gradient_checkpointing on every get_peft_model.
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated")

__version__ = "0.1.0"

# The public names load on first use (PEP 562), so `peftgov --help`, `python -m benchmarks
# --help` and `import peftgov.sm3` do not pay for torch, transformers and peft (about 6 CPU
# seconds); `peftgov.METHODS`, `from peftgov import load_recipe` etc. import them as before.
_LAZY = {
    "Recipe": ("config", "Recipe"),
    "load_recipe": ("recipe", "load_recipe"),
    "PeftgovError": ("errors", "PeftgovError"),
    "METHODS": ("methods", "METHODS"),
    "TASKS": ("tasks", "TASKS"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'peftgov' has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def train(recipe: Recipe | str | Path, *, progress: bool = True):
    """Train ``recipe`` (a :class:`Recipe` or a YAML path); returns a ``TrainResult`` with
    ``metrics``, ``run_dir`` and the trained ``model`` (a recipe with a ``continual:`` section
    trains its stages in order: :mod:`peftgov.continual`)."""
    from .config import Recipe
    from .loop import run
    from .recipe import load_recipe

    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    if recipe.continual is not None:  # stage after stage, each a run of the same loop
        from . import continual

        return continual.run(recipe, progress=progress)
    return run(recipe, progress=progress)


def evaluate(
    run_dir: str | Path, split: str = "test", data: str | None = None, *, progress: bool = False
) -> dict[str, Any]:
    """Evaluate a finished run directory on a split of its data (or on another file);
    ``progress`` shows a progress bar (stderr)."""
    from .runs import evaluate_run

    return evaluate_run(run_dir, split=split, data=data, progress=progress)


def predict(run_dir: str | Path, texts: list[str]) -> list[dict[str, Any]]:
    """Predict with a finished run directory: one dict per text."""
    from .runs import predict_run

    return predict_run(run_dir, texts)


__all__ = [
    "METHODS",
    "TASKS",
    "PeftgovError",
    "Recipe",
    "evaluate",
    "load_recipe",
    "predict",
    "train",
]
