"""Each method at its best: a suite's ``sweep:`` picks a method's hyper-parameters on validation.

A method entry may carry ``sweep: {train.lr: [1e-4, 3e-4, 1e-3]}`` (several keys: every
combination). Its runs then come in two stages:

1. **sweep runs**: every point, at the suite's ``sweep_seed`` (default: its first seed), id
   ``<dataset>-<label>-sweep-<key><value>[-...]-seed<s>[-n<k>]``, result files in
   ``<runs_dir>/sweep/`` (never in the method tables);
2. **the method's runs**, every seed, with the point whose best *validation* metric is best (the
   test set never chooses; a tie goes to the point listed first). Until every point of a sweep
   has finished they wait; the run at the sweep seed is the picked sweep run itself, its result
   copied rather than trained again (``sweep_reuse: false`` in the suite trains it again).

The report shows each sweep (validation metric per point, the pick) next to the tables.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from .plan import Run, format_value
from .suite import Suite, SuiteError

SWEEP_DIR = "sweep"


def points(sweep: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the swept values, the first key outermost."""
    keys = list(sweep)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(sweep[k] for k in keys))]


def point_slug(point: dict[str, Any]) -> str:
    """``{train.lr: 0.001, method.r: 8}`` -> ``lr0.001-r8`` (a file name, shell-safe)."""
    return "-".join(f"{k.rsplit('.', 1)[-1]}{format_value(v)}" for k, v in point.items())


def sweep_id(run: Run, point: dict[str, Any], seed: int) -> str:
    size = "" if run.train_size is None else f"-n{run.train_size}"
    return f"{run.dataset}-{run.label}-sweep-{point_slug(point)}-seed{seed}{size}"


def result_file(runs_dir: Path, run_id: str) -> Path:
    return Path(runs_dir) / SWEEP_DIR / f"{run_id}.json"


def validation_value(result: dict[str, Any]) -> float | None:
    """The best validation figure a finished run selected its state on."""
    value = (result.get("eval") or {}).get(result.get("metric") or "accuracy")
    return float(value) if isinstance(value, (int, float)) else None


def _greater(metric: str) -> bool:
    return not metric.endswith(("loss", "perplexity"))


def pick(runs_dir: Path, candidates: list[tuple[dict[str, Any], str]]) -> dict[str, Any] | None:
    """The best point by validation metric once every point's result exists, else None."""
    best, best_value = None, None
    for point, rid in candidates:
        path = result_file(runs_dir, rid)
        if not path.is_file():
            return None
        result = json.loads(path.read_text(encoding="utf-8"))
        value = validation_value(result)
        if value is None or math.isnan(value):
            continue
        greater = _greater(result.get("metric") or "accuracy")
        if best_value is None or (value > best_value if greater else value < best_value):
            best, best_value = point, value
    return best


def expand(suite: Suite, runs: list[Run]) -> list[Run]:
    """The plan with the sweeps in: sweep runs first, then every run, each swept method's
    runs carrying the picked point (or waiting for it)."""
    entries = {m.label: m for m in suite.methods}
    seed0 = suite.sweep_seed
    sweeps: dict[str, Run] = {}
    out: list[Run] = []
    template = {(r.recipe, r.label, r.train_size): r for r in runs if r.seed == seed0}
    by_dataset = {(r.dataset, r.label, r.train_size): r for r in runs if r.seed == seed0}
    for run in runs:
        entry = entries.get(run.label)
        source = entries.get(entry.pick_from) if entry is not None and entry.pick_from else entry
        if source is None or not source.sweep:
            out.append(run)
            continue
        if source is entry:
            base = template[(run.recipe, run.label, run.train_size)]
        else:  # a variant: the swept entry's run on this dataset and train size
            base = by_dataset.get((run.dataset, source.label, run.train_size))
            if base is None:
                raise SuiteError(f"methods {run.label!r}: pick_from: {source.label!r} has no "
                                 f"run on {run.dataset} (train size {run.train_size}, "
                                 f"seed {seed0}) to take a pick from")
        candidates = []
        for point in points(source.sweep):
            rid = sweep_id(base, point, seed0)
            candidates.append((point, rid))
            if rid not in sweeps:
                sweeps[rid] = replace(base, id=rid, overrides={**base.overrides, **point},
                                      sweep=point)
        chosen = pick(suite.runs_dir, candidates)
        if chosen is None:
            out.append(replace(run, waiting=True))
            continue
        reuse = None
        # the picked sweep run is this very run (never a variant's: its overrides differ)
        if run.seed == seed0 and suite.sweep_reuse and source is entry:
            reuse = str(result_file(suite.runs_dir, next(r for p, r in candidates if p == chosen)))
        out.append(replace(run, overrides={**run.overrides, **chosen}, picked=chosen,
                           reuse=reuse))
    return list(sweeps.values()) + out


def report_lines(runs_dir: Path, pending: list[str] = ()) -> list[str]:
    """The sweeps of a results folder: validation metric per point in the points' order, the
    pick in bold once every point has finished; ``pending``: run ids not finished yet (a sweep
    with points among them is shown as unfinished, its missing points listed)."""
    folder = Path(runs_dir) / SWEEP_DIR
    found: dict[tuple[str, str], list[tuple[str, dict[str, Any], float | None]]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        bench = result.get("bench") or {}
        point = bench.get("sweep") or {}
        key = (result.get("dataset") or "?", bench.get("label") or result.get("method", "?"))
        found.setdefault(key, []).append((result.get("metric") or "accuracy", point,
                                          validation_value(result)))
    if not found:
        return []
    out = ["## Hyper-parameter sweeps", "",
           "Each point trained once at the sweep seed; the method's runs use the point with the "
           "best validation metric (bold); the test set plays no part in the choice.", ""]
    for (dataset, label), rows in sorted(found.items()):
        metric = rows[0][0]
        greater = _greater(metric)
        missing = [rid for rid in pending if rid.startswith(f"{dataset}-{label}-sweep-")]
        valued = [v for _, _, v in rows if v is not None]
        best = (max if greater else min)(valued) if valued and not missing else None
        state = f", {len(rows)} of {len(rows) + len(missing)} points so far" if missing else ""
        out += [f"**{dataset} / {label}** (validation {metric}{state})", "",
                "| point | validation |", "|---|---|"]
        for _, point, value in sorted(rows, key=lambda row: _order(row[1])):
            shown = "n/a" if value is None else f"{value:.4f}"
            if value is not None and value == best:
                shown = f"**{shown}**"
            out.append(f"| {point_slug(point)} | {shown} |")
        if missing:
            out += ["", f"Not run yet: {', '.join(missing)}; the pick waits for them."]
        elif best is not None:
            picked = next(point for _, point, value in rows if value == best)
            out += [f"The pick's {edge} is the {side} value swept: a better point may lie "
                    "beyond the range." for edge, side in at_edge(picked, [p for _, p, _ in rows])]
        out.append("")
    return out


def at_edge(picked: dict[str, Any], swept: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(key, "lowest" | "highest")`` for each numeric key whose picked value is an end of
    the swept values, where at least three values were swept (with two, every pick is one)."""
    out = []
    for key, value in picked.items():
        values = sorted({p[key] for p in swept if isinstance(p.get(key), (int, float))})
        if len(values) >= 3 and isinstance(value, (int, float)):
            if value == values[0]:
                out.append((key, "lowest"))
            elif value == values[-1]:
                out.append((key, "highest"))
    return out


def _order(point: dict[str, Any]) -> tuple:
    """Points by their values (numbers numerically), key by key."""
    return tuple((0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))
                 for v in point.values())
