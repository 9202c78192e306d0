"""Fine-tuning methods: one module each, registered once here.

``METHODS`` maps a recipe's ``method.name`` to a :class:`~peftgov.methods.base.Method`.
To add a method: write ``peftgov/methods/<name>.py`` with a frozen ``MethodConfig`` subclass and
a ``Method`` subclass decorated with ``@register``, then import it below.
"""

from __future__ import annotations

from ..config import METHOD_CONFIGS
from .base import Method

METHODS: dict[str, Method] = {}


def register(cls: type[Method]) -> type[Method]:
    if cls.name in METHODS:
        raise ValueError(f"method {cls.name!r} registered twice")
    METHODS[cls.name] = cls()
    METHOD_CONFIGS[cls.name] = cls.config_cls
    return cls


def get_method(name: str) -> Method:
    return METHODS[name]


# Registration order is the order methods appear in reports.
from . import full, freeze, lora, adapter, bitfit, prompt, ia3  # noqa: E402,F401

__all__ = ["METHODS", "Method", "get_method", "register"]
