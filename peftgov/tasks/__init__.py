"""Tasks: one module each, registered once here (``TASKS`` maps ``task.name`` to a Task)."""

from __future__ import annotations

from ..config import TASK_CONFIGS
from .base import Prepared, Task

TASKS: dict[str, Task] = {}


def register(cls: type[Task]) -> type[Task]:
    if cls.name in TASKS:
        raise ValueError(f"task {cls.name!r} registered twice")
    TASKS[cls.name] = cls()
    TASK_CONFIGS[cls.name] = cls.config_cls
    return cls


def get_task(name: str) -> Task:
    return TASKS[name]


from . import classification, ner, dialogue  # noqa: E402,F401

__all__ = ["TASKS", "Prepared", "Task", "get_task", "register"]
