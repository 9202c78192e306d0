"""Offline metrics. ``evaluate.load("accuracy")`` needs the hub; these need nothing.

Each function takes plain Python lists and returns plain floats, so figures are easy to check
by hand (the tests do). The tasks call these functions; the same functions are shipped as
``evaluate`` modules in ``modules/`` (:func:`module_path`), so user code can
``evaluate.load`` them offline and get the figures a run reports.
"""

from __future__ import annotations

from pathlib import Path

from .classification import classification_metrics
from .generation import char_f1, generation_metrics, rouge_l
from .ner import entity_metrics, ner_metrics, token_report

MODULES = ("classification", "ner", "generation")


def module_path(name: str) -> str:
    """The file to pass to ``evaluate.load`` for one of :data:`MODULES`."""
    if name not in MODULES:
        raise ValueError(f"unknown metric module {name!r}; choose one of {', '.join(MODULES)}")
    return str(Path(__file__).with_name("modules") / f"{name}.py")


def load(name: str):
    """``evaluate.load`` of one of peftgov's metric modules (no network)."""
    import evaluate

    return evaluate.load(module_path(name))


__all__ = [
    "MODULES",
    "load",
    "module_path",
    "char_f1",
    "classification_metrics",
    "entity_metrics",
    "generation_metrics",
    "ner_metrics",
    "rouge_l",
    "token_report",
]
