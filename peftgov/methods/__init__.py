"""Fine-tuning methods: one module each.

``METHODS`` maps a recipe's ``method.name`` to a :class:`~peftgov.methods.base.Method`.
To add a method: write a module with a frozen ``MethodConfig`` subclass and a ``Method``
subclass decorated with ``@register`` (from :mod:`peftgov.methods.registry`), and import it —
below for a built-in method, anywhere (your own code, a test) for your own.
"""

from __future__ import annotations

from .base import Method
from .registry import METHODS, get_method, register

# Registration order is the order methods are listed.
from . import full, freeze, lora, adapter, bitfit, prompt, ia3  # noqa: E402,F401,I001

__all__ = ["METHODS", "Method", "get_method", "register"]
