"""Offline metrics. ``evaluate.load("accuracy")`` needs the hub; these need nothing.

Each function takes plain Python lists and returns plain floats, so figures are easy to check
by hand (the tests do).
"""

from __future__ import annotations

from .classification import classification_metrics
from .generation import char_f1, generation_metrics, rouge_l
from .ner import entity_metrics, ner_metrics, token_report

__all__ = [
    "char_f1",
    "classification_metrics",
    "entity_metrics",
    "generation_metrics",
    "ner_metrics",
    "rouge_l",
    "token_report",
]
