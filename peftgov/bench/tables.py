"""The report's tables: results grouped (dataset x task x metric x examples per class), one row
per method with its statistics against the reference, as markdown and as CSV rows."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, replace
from collections.abc import Callable
from typing import Any

from .results import Result
from .stats import Diff, diff_ci, mean, pareto_front, sample_std
from .suite import ReportSpec, Target

CSV_COLUMNS = [
    "dataset", "task", "metric", "train_size", "examples_per_class", "method", "n_seeds",
    "seeds", "trainable_params", "total_params", "trainable_pct", "test_mean_pts",
    "test_std_pts", "delta_vs_full_pts", "reference", "ci95_low_pts", "ci95_high_pts",
    "ci_kind", "ci_df", "target_pts", "target_met", "pareto", "train_time_s", "wall_time_s",
    "samples_per_s", "tokens_per_s", "mfu", "peak_memory_mb", "train_peak_memory_mb", "artifact_mb",
]
"""``delta_vs_full_pts`` is the difference from the row named in ``reference`` (the suite's
reference method, ``full`` by default, unless the entry set its own);
``peak_memory_mb`` is the whole process's, ``train_peak_memory_mb`` the training phase's."""


def scale_for(metric: str) -> float:
    """Points: x100 for [0, 1] metrics (accuracy, F1); losses and perplexities as they are."""
    return 1.0 if metric.endswith(("loss", "perplexity")) else 100.0


@dataclass
class Row:
    label: str
    method: str
    results: list[Result]
    values: dict[int, float]
    """Per-seed test metric in points."""
    mean: float
    std: float
    target: Target = None
    """Points below the reference allowed, ``gap`` (stated, no target) or None."""
    diff: Diff | None = None
    pareto: bool = False
    reference: str | None = None
    """The label ``diff`` and the target are against (None for the reference itself)."""

    def avg(self, key: str, *, bench: bool = False) -> float | None:
        vals = [r.bench(key) if bench else r.get(key) for r in self.results]
        vals = [float(v) for v in vals if isinstance(v, (int, float))]
        return mean(vals) if vals else None

    @property
    def target_pts(self) -> float | None:
        return None if self.target in (None, "gap") else float(self.target)

    def meets(self, gap: float) -> bool:
        """Whether a gap to the reference (points, negative: behind) is within the target."""
        return gap >= -self.target_pts

    @property
    def target_met(self) -> bool | None:
        """Whether the mean gap to the reference is within the target (None: no target or no
        reference to measure the gap against)."""
        return None if self.target_pts is None or self.diff is None else self.meets(self.diff.diff)

    @property
    def gap_shown(self) -> str:
        """The mean gap as the report prints it: signed, with the digits that put it on its
        target's side (:func:`verdict_digits`)."""
        if self.diff is None:
            return "n/a"
        if self.target_pts is None:
            return signed(self.diff.diff)
        return verdict_digits(self.diff.diff, self.meets, sign=True)


@dataclass
class Group:
    dataset: str
    task: str
    metric: str
    train_size: int | None
    rows: list[Row]
    scale: float
    reference: str = "full"

    @property
    def title(self) -> str:
        size = "" if self.train_size is None else f", {self.train_size} examples per class"
        return f"{self.dataset} ({self.task}, test {self.metric}{size})"

    @property
    def slug(self) -> str:
        size = "" if self.train_size is None else f"-n{self.train_size}"
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.dataset}{size}")

    def row(self, label: str) -> Row | None:
        return next((r for r in self.rows if r.label == label), None)


def build_groups(results: list[Result], spec: ReportSpec | None = None) -> list[Group]:
    spec = spec or ReportSpec()
    if spec.metric:  # the suite's report_metric instead of each run's own test metric
        results = [replace(r, metric=spec.metric, value=r.get(spec.metric)) for r in results]
    buckets: dict[tuple, list[Result]] = {}
    for r in results:
        if r.value is not None:
            # one table per dataset, metric and size: a task scoring the same labels its own
            # way (a classifier head, an LM's verbalisers) is a row beside the others
            buckets.setdefault((r.dataset, r.metric, r.train_size), []).append(r)
    groups = []
    order = sorted(buckets, key=lambda k: (k[0], k[1], k[2] is None, k[2] or 0))
    for key in order:
        dataset, metric, size = key
        task = " + ".join(sorted({r.task for r in buckets[key]}))
        scale = scale_for(metric)
        by_label: dict[str, list[Result]] = {}
        for r in buckets[key]:
            by_label.setdefault(r.label, []).append(r)
        rows = []
        for label in sorted(by_label, key=spec.sort_key):
            rs = sorted(by_label[label], key=lambda r: r.seed)
            values = {r.seed: r.value * scale for r in rs}
            vals = list(values.values())
            rows.append(Row(label, rs[0].method, rs, values, mean(vals), sample_std(vals),
                            spec.target(label, rs[0].method)))
        by_row = {r.label: r for r in rows}
        for row in rows:
            if row.label != spec.reference:
                row.reference = spec.reference_of(row.label)
                ref = by_row.get(row.reference)
                row.diff = diff_ci(row.values, ref.values) if ref is not None else None
        params = {
            r.label: (r.avg("trainable_params"), r.mean)
            for r in rows
            if r.avg("trainable_params") is not None
        }
        higher = not metric.endswith(("loss", "perplexity"))
        front = pareto_front({k: (c, v if higher else -v) for k, (c, v) in params.items()})
        for row in rows:
            row.pareto = row.label in front
        groups.append(Group(dataset, task, metric, size, rows, scale, spec.reference))
    return groups


# --------------------------------------------------------------------------- formatting


def num(x: float | None, fmt: str = ".2f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return format(x, fmt)


def signed(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:+.2f}".replace("-", "\u2212")


def verdict_digits(value: float, passes: Callable[[float], bool], *, sign: bool = False) -> str:
    """``value`` to 2 decimals, or to as many more as it takes to show it on the side of its
    target that ``passes`` puts it (0.4976 against ">= 0.50" is shown 0.498, not a "missed"
    0.50); ``sign``: with its sign, as :func:`signed` writes it."""
    if math.isnan(value):
        return "n/a"
    for digits in range(2, 7):
        shown = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
        if passes(float(shown)) == passes(value):
            break
    return shown.replace("-", "\u2212") if sign else shown


def _params(n: float | None) -> str:
    if n is None:
        return "n/a"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"


def _bytes_mb(n: float | None) -> float | None:
    return None if n is None else n / 2**20


def describe_diff(d: Diff) -> str:
    if d.kind == "none":
        return f"{signed(d.diff)} (CI needs \u22652 seeds each)"
    df = f"df={d.df:.0f}" if d.kind == "paired" else f"df={d.df:.1f}"
    return f"{signed(d.diff)} [{signed(d.low)}, {signed(d.high)}] {d.kind}, {df}"


def markdown_table(group: Group) -> str:
    unit = "pts" if group.scale == 100 else ""
    head = (
        f"| method | trainable params | trainable % | test {group.metric} {unit} (mean \u00b1 std)"
        f" | \u0394 vs {group.reference} [95% CI] | train time s | wall time s | samples/s"
        f" | tokens/s | MFU | peak mem MB | train peak MB | artifact MB | n seeds |"
    )
    lines = [head, "|" + "---|" * 14]
    for row in group.rows:
        label = f"**{row.label}**" if row.pareto else row.label
        diff = "reference" if row.label == group.reference else (
            describe_diff(row.diff) if row.diff else "n/a"
        ) + (f" vs {row.reference}" if row.reference not in (None, group.reference) else "")
        cells = [
            label,
            _params(row.avg("trainable_params")),
            num(row.avg("trainable_pct"), ".3f"),
            f"{row.mean:.2f} \u00b1 {num(row.std)}",
            diff,
            num(row.avg("train_time_s"), ".1f"),
            num(row.avg("wall_time_s", bench=True), ".1f"),
            num(row.avg("train_samples_per_s"), ".1f"),
            num(row.avg("train_tokens_per_s"), ".0f"),
            num(row.avg("mfu"), ".2f"),
            num(row.avg("peak_memory_mb"), ".0f"),
            num(row.avg("memory_mb.train"), ".0f"),
            num(_bytes_mb(row.avg("artifact_bytes")), ".2f"),
            str(len(row.values)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def csv_rows(groups: list[Group]) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        for row in g.rows:
            d, target = row.diff, row.target_pts
            out.append({
                "dataset": g.dataset,
                "task": g.task,
                "metric": g.metric,
                "train_size": "all" if g.train_size is None else g.train_size,
                "examples_per_class": row.avg("examples_per_class", bench=True),
                "method": row.label,
                "n_seeds": len(row.values),
                "seeds": " ".join(str(s) for s in sorted(row.values)),
                "trainable_params": row.avg("trainable_params"),
                "total_params": row.avg("total_params"),
                "trainable_pct": row.avg("trainable_pct"),
                "test_mean_pts": row.mean,
                "test_std_pts": row.std,
                "delta_vs_full_pts": d.diff if d else None,
                "reference": row.reference,
                "ci95_low_pts": d.low if d else None,
                "ci95_high_pts": d.high if d else None,
                "ci_kind": d.kind if d else ("reference" if row.label == g.reference else ""),
                "ci_df": d.df if d else None,
                "target_pts": target,
                "target_met": row.target_met,
                "pareto": row.pareto,
                "train_time_s": row.avg("train_time_s"),
                "wall_time_s": row.avg("wall_time_s", bench=True),
                "samples_per_s": row.avg("train_samples_per_s"),
                "tokens_per_s": row.avg("train_tokens_per_s"),
                "mfu": row.avg("mfu"),
                "peak_memory_mb": row.avg("peak_memory_mb"),
                "train_peak_memory_mb": row.avg("memory_mb.train"),
                "artifact_mb": _bytes_mb(row.avg("artifact_bytes")),
            })
    return out


def csv_text(rows: list[dict[str, Any]]) -> str:
    """CSV at full precision (``repr`` of floats); NaN and None as empty cells."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        clean = {}
        for k, v in row.items():
            if isinstance(v, float) and math.isnan(v):
                v = None
            clean[k] = "" if v is None else (repr(v) if isinstance(v, float) else v)
        writer.writerow(clean)
    return buf.getvalue()
