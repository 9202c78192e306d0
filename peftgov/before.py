"""The before-training test figure, computed once per backbone + data + task + seed.

A method whose untrained form is the backbone itself (LoRA's B = 0, adapters' zero
up-projection, IA3's ones, BitFit / full / freeze before a step; ``Method.identity_at_init``)
gets the same "test before training" metrics as any other such method on the same backbone,
data, task options and seed: the task head is drawn from the seed before the method is
applied. A benchmark suite evaluates that once instead of once per method. The figure is
cached under ``cache_dir()/test_before/<key>.json``, the key hashing everything it depends
on (the backbone's fingerprint, the test file's SHA-256, the data and task options, the
seed, precision and dtype, and peftgov's own code but the benchmark harness); single-process
runs only (processes must agree on whether to evaluate).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from . import artifacts
from .cache import cache_dir, file_sha256

PACKAGE = Path(__file__).resolve().parent


def code_digest(package: Path = PACKAGE) -> str:
    """SHA-256 over peftgov's Python files, but for the benchmark harness (``bench/``: it
    launches runs and writes reports, and computes no test figure), so that a change there
    does not make every suite run evaluate its test set again."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.parts[0] == "bench":
            continue
        h.update(str(rel).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def key(recipe: Any, backbone: dict[str, Any], test_file: Path, mixed_precision: str) -> str:
    record = {
        "backbone": backbone,
        "test_sha256": file_sha256(test_file),
        "data": {k: v for k, v in recipe.to_dict()["data"].items() if k not in ("name",)},
        "task": recipe.to_dict()["task"],
        "model": recipe.to_dict()["model"],
        "seed": recipe.train.seed,
        "eval_batch_size": recipe.train.eval_batch_size,
        "mixed_precision": mixed_precision,
        "code": code_digest(),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def _path(k: str) -> Path:
    return cache_dir() / "test_before" / f"{k}.json"


def load(k: str) -> dict[str, Any] | None:
    try:
        return json.loads(_path(k).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def store(k: str, metrics: dict[str, Any]) -> None:
    artifacts.write_json(_path(k), metrics)
