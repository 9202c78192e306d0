"""peftgov: parameter-efficient fine-tuning on frozen backbones, through one Accelerate loop.

Python API::

    from peftgov import load_recipe, train
    result = train(load_recipe("recipes/hotline/lora.yaml", overrides={"train.epochs": 1}))
    print(result.metrics["test"]["accuracy"], result.run_dir)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import Recipe, load_recipe
from .errors import PeftgovError
from .methods import METHODS
from .tasks import TASKS

__version__ = "0.1.0"


def train(recipe: Recipe | str | Path, *, progress: bool = True):
    """Train ``recipe`` (a :class:`Recipe` or a YAML path); returns a ``TrainResult`` with
    ``metrics``, ``run_dir`` and the trained ``model``."""
    from .loop import run

    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    return run(recipe, progress=progress)


def evaluate(run_dir: str | Path, split: str = "test", data: str | None = None) -> dict[str, Any]:
    """Evaluate a finished run directory on a split of its data (or on another file)."""
    from .runs import evaluate_run

    return evaluate_run(run_dir, split=split, data=data)


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
