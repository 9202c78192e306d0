"""The method registry: ``method.name`` -> the :class:`~peftgov.methods.base.Method` that
implements it. A method module registers itself with ``@register``; its options class
(``config_cls``) is what the recipe's ``method`` section is validated into."""

from __future__ import annotations

from .base import Method

METHODS: dict[str, Method] = {}


def register(cls: type[Method]) -> type[Method]:
    if cls.name in METHODS:
        raise ValueError(f"method {cls.name!r} registered twice")
    METHODS[cls.name] = cls()
    return cls


def get_method(name: str) -> Method:
    return METHODS[name]
