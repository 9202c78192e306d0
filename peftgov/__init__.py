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
from typing import Any

# bitsandbytes (imported by peft) warns on CPUs with AVX-512 BF16 that it could not fetch an
# optional CPU kernel from the hub; peftgov never downloads code, so the warning only adds a
# line to every command's output (and to every one-line error).
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
# peft 0.21 still calls transformers' renamed is_gradient_checkpointing on every get_peft_model.
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated")

# Eager on purpose: `import peftgov` registers the bottleneck adapter with peft, so plain peft
# loads a peftgov adapter after it (README, "Reloading a peft adapter outside peftgov";
# tests/test_adapter.py). Names loaded on first use made `peftgov --help` take 0.3 s instead
# of ~5 CPU s, and broke that.
from .config import Recipe  # noqa: E402
from .recipe import load_recipe  # noqa: E402
from .errors import PeftgovError  # noqa: E402
from .methods import METHODS  # noqa: E402
from .tasks import TASKS  # noqa: E402

__version__ = "0.1.0"


def train(recipe: Recipe | str | Path, *, progress: bool = True):
    """Train ``recipe`` (a :class:`Recipe` or a YAML path); returns a ``TrainResult`` with
    ``metrics``, ``run_dir`` and the trained ``model`` (a recipe with a ``continual:`` section
    trains its stages in order: :mod:`peftgov.continual`)."""
    from .loop import run

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
