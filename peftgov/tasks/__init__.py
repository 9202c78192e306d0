"""Tasks: one module each (``TASKS`` maps ``task.name`` to a Task)."""

from __future__ import annotations

from .base import Prepared, Task
from .registry import TASKS, get_task, register

from . import classification, ner, dialogue, lm_classification  # noqa: E402,F401,I001

__all__ = ["TASKS", "Prepared", "Task", "get_task", "register"]
