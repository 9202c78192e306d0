"""Offline metrics. ``evaluate.load("accuracy")`` needs the hub; these need nothing.

Each function takes plain Python lists and returns plain floats, so figures are easy to check
by hand (the tests do).
"""

from __future__ import annotations

from .classification import classification_metrics

__all__ = ["classification_metrics"]
