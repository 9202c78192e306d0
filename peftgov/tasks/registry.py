"""The task registry: ``task.name`` -> the :class:`~peftgov.tasks.base.Task` that implements it.
A task module registers itself with ``@register``; its options class (``config_cls``) is what
the recipe's ``task`` section is validated into."""

from __future__ import annotations

from .base import Task

TASKS: dict[str, Task] = {}


def register(cls: type[Task]) -> type[Task]:
    if cls.name in TASKS:
        raise ValueError(f"task {cls.name!r} registered twice")
    TASKS[cls.name] = cls()
    return cls


def get_task(name: str) -> Task:
    return TASKS[name]
