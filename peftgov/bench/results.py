"""Reading a results folder: ``<id>.json`` (a finished run: peftgov's ``metrics.json`` plus the
runner's ``bench`` record) and ``failed/<id>.json`` (failed, timed-out or interrupted runs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    id: str
    label: str
    method: str
    dataset: str
    task: str
    metric: str
    seed: int
    train_size: int | None
    examples_per_class: float | None
    value: float | None
    """The test metric as stored (e.g. accuracy in [0, 1]); None when the run has no test."""
    raw: dict[str, Any] = field(repr=False)

    def get(self, key: str) -> float | None:
        """A number of the run's metrics.json, by key or dotted path (``memory_mb.train``)."""
        value: Any = self.raw
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return float(value) if isinstance(value, (int, float)) else None

    def bench(self, key: str) -> Any:
        return (self.raw.get("bench") or {}).get(key)


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def load_results(folder: Path) -> tuple[list[Result], list[str]]:
    """Finished runs in ``folder`` (``*.json`` at its top level) and problems reading them."""
    results, problems = [], []
    for path in sorted(Path(folder).glob("*.json")):
        raw = _load_json(path)
        if raw is None or "method" not in raw or "seed" not in raw:
            problems.append(f"{path.name}: not a result file (unreadable or no method/seed)")
            continue
        bench = raw.get("bench") or {}
        metric = raw.get("metric") or "accuracy"
        value = (raw.get("test") or {}).get(metric)
        results.append(
            Result(
                id=bench.get("id") or path.stem,
                label=bench.get("label") or raw["method"],
                method=raw["method"],
                dataset=raw.get("dataset") or "?",
                task=raw.get("task") or "?",
                metric=metric,
                seed=raw["seed"],
                train_size=bench.get("train_size"),
                examples_per_class=bench.get("examples_per_class"),
                value=float(value) if isinstance(value, (int, float)) else None,
                raw=raw,
            )
        )
        if results[-1].value is None:
            problems.append(f"{path.name}: no test {metric} (left out of the statistics)")
    return results, problems


def load_failures(folder: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted((Path(folder) / "failed").glob("*.json")):
        raw = _load_json(path) or {"id": path.stem, "status": "unreadable"}
        raw.setdefault("id", path.stem)
        raw["file"] = f"failed/{path.name}"
        out.append(raw)
    return out
