"""The best validation result so far, the trainable state it was reached with, and early
stopping (``train.patience``): what the loop keeps between validations and checkpoints."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .errors import RecipeError


def trainable_snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def restore_snapshot(model: nn.Module, snapshot: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in snapshot.items():
            params[name].copy_(value)


def higher_is_better(metric: str) -> bool:
    return not (metric.endswith("loss") or metric.endswith("perplexity"))


class BestTracker:
    """Keeps the best validation result and its trainable state; decides early stopping."""

    def __init__(self, metric: str, patience: int | None, source: str) -> None:
        self.metric, self.patience, self.source = metric, patience, source
        self.greater = higher_is_better(metric)
        self.best_value: float | None = None
        self.best_step = 0
        self.best_metrics: dict[str, Any] = {}
        self.best_state: dict[str, torch.Tensor] = {}
        self.history: list[dict[str, Any]] = []
        self.bad = 0

    @property
    def should_stop(self) -> bool:
        return bool(self.patience) and self.bad >= self.patience

    def dump(self) -> dict[str, Any]:
        keys = ("best_value", "best_step", "best_metrics", "history", "bad")
        return {k: getattr(self, k) for k in keys}

    def load(self, dumped: dict[str, Any], best_state: dict[str, torch.Tensor]) -> None:
        for key, value in dumped.items():
            setattr(self, key, value)
        self.best_state = best_state

    def update(self, m: dict[str, Any], snapshot) -> bool:
        if self.metric not in m:
            raise RecipeError(self.source, "train.metric", f"{self.metric!r} is not among {sorted(m)}")
        self.history.append(m)
        value = float(m[self.metric])
        if self.best_value is None or (value > self.best_value if self.greater else value < self.best_value):
            self.best_value, self.best_step, self.best_metrics, self.bad = value, m["step"], m, 0
            self.best_state = snapshot()
            return True
        self.bad += 1
        return False
