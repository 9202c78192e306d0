"""Bottleneck adapters (Houlsby / Pfeiffer). PLACEHOLDER: being written."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import MethodConfig
from . import register
from .base import Method


@dataclass(frozen=True)
class AdapterOptions(MethodConfig):
    name: str = "adapter"


@register
class Adapter(Method):
    name = "adapter"
    config_cls = AdapterOptions
