"""The benchmark report: tables, statistics and plots, generated only from result JSON files.

Input: ``<results>/<id>.json`` (one finished run each: peftgov's ``metrics.json`` plus the
harness's ``bench`` record) and ``<results>/failed/<id>.json`` (failed or interrupted runs,
listed separately, never in a table). Output, in the same folder: ``REPORT.md``,
``report.csv`` and PNG plots. Nothing here trains or reads a run directory.

Statistics, per group (dataset x task x metric x examples per class), per method:

* test metric mean and sample standard deviation (n - 1) over seeds, in points (x100) for
  metrics in [0, 1] such as accuracy and F1;
* the difference from full fine-tuning with a 95% t-interval: *paired* on the per-seed
  differences when both methods ran the same seeds (df = n - 1), otherwise *Welch* (unequal
  variances, Welch-Satterthwaite df). The t quantile comes from scipy when installed, else
  from :func:`t_quantile_fallback` (incomplete-beta CDF, inverted by bisection).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REFERENCE = "full"
"""The method every other method is compared with."""

TARGETS = {"lora": 0.5, "adapter": 0.5, "bitfit": 1.5}
"""The issue's targets: at most this many points below full fine-tuning (mean over seeds).
Prompt tuning has no target: its gap is stated."""

GAP_ONLY = {"prompt"}

METHOD_ORDER = ["full", "freeze", "lora", "adapter", "bitfit", "prompt", "ia3"]

CSV_COLUMNS = [
    "dataset", "task", "metric", "train_size", "examples_per_class", "method", "n_seeds",
    "seeds", "trainable_params", "total_params", "trainable_pct", "test_mean_pts",
    "test_std_pts", "delta_vs_full_pts", "ci95_low_pts", "ci95_high_pts", "ci_kind", "ci_df",
    "target_pts", "target_met", "pareto", "train_time_s", "wall_time_s", "samples_per_s",
    "tokens_per_s", "mfu", "peak_memory_mb", "artifact_mb",
]


# --------------------------------------------------------------------------- statistics


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def sample_std(values: list[float]) -> float:
    """Sample standard deviation (n - 1); NaN for fewer than two values."""
    n = len(values)
    if n < 2:
        return math.nan
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student t cumulative distribution function."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile_fallback(p: float, df: float) -> float:
    """Student t quantile without scipy: bisection on :func:`t_cdf` (to ~1e-12)."""
    if not 0 < p < 1 or not df > 0:
        raise ValueError(f"t quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile_fallback(1 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def t_quantile(p: float, df: float) -> float:
    """Student t quantile: scipy when installed, else :func:`t_quantile_fallback`."""
    try:
        from scipy import stats
    except ImportError:
        return t_quantile_fallback(p, df)
    return float(stats.t.ppf(p, df))


@dataclass(frozen=True)
class Diff:
    """``a - b`` with a two-sided confidence interval (``low``/``high`` NaN when undefined)."""

    diff: float
    low: float
    high: float
    kind: str
    """``paired``, ``welch`` or ``none`` (fewer than two seeds on a side)."""
    df: float
    n_a: int
    n_b: int


def diff_ci(a: dict[Any, float], b: dict[Any, float], *, level: float = 0.95) -> Diff:
    """Mean difference ``a - b`` of per-seed values with a ``level`` t-interval.

    Paired t on the per-seed differences when ``a`` and ``b`` ran exactly the same seeds
    (at least two); otherwise Welch's t-interval when both sides have two or more seeds.
    """
    q = 1 - (1 - level) / 2
    na, nb = len(a), len(b)
    if set(a) == set(b) and na >= 2:
        d = [a[s] - b[s] for s in sorted(a)]
        m, sd = mean(d), sample_std(d)
        half = t_quantile(q, na - 1) * sd / math.sqrt(na)
        return Diff(m, m - half, m + half, "paired", float(na - 1), na, nb)
    m = mean(list(a.values())) - mean(list(b.values())) if na and nb else math.nan
    if na < 2 or nb < 2:
        return Diff(m, math.nan, math.nan, "none", math.nan, na, nb)
    va = sample_std(list(a.values())) ** 2 / na
    vb = sample_std(list(b.values())) ** 2 / nb
    se = math.sqrt(va + vb)
    if se == 0:
        return Diff(m, m, m, "welch", float(na + nb - 2), na, nb)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = t_quantile(q, df) * se
    return Diff(m, m - half, m + half, "welch", df, na, nb)


def pareto_front(points: dict[str, tuple[float, float]]) -> set[str]:
    """Names whose (cost, value) no other point beats: cost <= and value >=, one strictly."""
    front = set()
    for name, (cost, value) in points.items():
        dominated = any(
            c <= cost and v >= value and (c < cost or v > value)
            for other, (c, v) in points.items()
            if other != name
        )
        if not dominated:
            front.add(name)
    return front


# --------------------------------------------------------------------------- loading


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
        value = self.raw.get(key)
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
        test = raw.get("test") or {}
        value = test.get(metric)
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


# --------------------------------------------------------------------------- tables


def scale_for(metric: str) -> float:
    """Points: x100 for [0, 1] metrics (accuracy, F1); losses and perplexities as they are."""
    return 1.0 if metric.endswith(("loss", "perplexity")) else 100.0


def method_sort_key(label: str) -> tuple[int, str]:
    base = label.split("-")[0]
    return (METHOD_ORDER.index(base) if base in METHOD_ORDER else len(METHOD_ORDER), label)


@dataclass
class Row:
    label: str
    method: str
    results: list[Result]
    values: dict[int, float]
    """Per-seed test metric in points."""
    mean: float
    std: float
    diff: Diff | None = None
    pareto: bool = False

    def avg(self, key: str, *, bench: bool = False) -> float | None:
        vals = [r.bench(key) if bench else r.get(key) for r in self.results]
        vals = [float(v) for v in vals if isinstance(v, (int, float))]
        return mean(vals) if vals else None

    @property
    def target(self) -> float | None:
        return TARGETS.get(self.method)


@dataclass
class Group:
    dataset: str
    task: str
    metric: str
    train_size: int | None
    rows: list[Row]
    scale: float

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


def build_groups(results: list[Result]) -> list[Group]:
    buckets: dict[tuple, list[Result]] = {}
    for r in results:
        if r.value is not None:
            buckets.setdefault((r.dataset, r.task, r.metric, r.train_size), []).append(r)
    groups = []
    order = sorted(buckets, key=lambda k: (k[0], k[1], k[2], k[3] is None, k[3] or 0))
    for key in order:
        dataset, task, metric, size = key
        scale = scale_for(metric)
        by_label: dict[str, list[Result]] = {}
        for r in buckets[key]:
            by_label.setdefault(r.label, []).append(r)
        rows = []
        for label in sorted(by_label, key=method_sort_key):
            rs = sorted(by_label[label], key=lambda r: r.seed)
            values = {r.seed: r.value * scale for r in rs}
            vals = list(values.values())
            rows.append(Row(label, rs[0].method, rs, values, mean(vals), sample_std(vals)))
        ref = next((r for r in rows if r.label == REFERENCE), None)
        if ref is not None:
            for row in rows:
                if row is not ref:
                    row.diff = diff_ci(row.values, ref.values)
        params = {
            r.label: (r.avg("trainable_params"), r.mean)
            for r in rows
            if r.avg("trainable_params") is not None
        }
        higher = not metric.endswith(("loss", "perplexity"))
        front = pareto_front(
            {k: (c, v if higher else -v) for k, (c, v) in params.items()}
        )
        for row in rows:
            row.pareto = row.label in front
        groups.append(Group(dataset, task, metric, size, rows, scale))
    return groups


# --------------------------------------------------------------------------- formatting


def _num(x: float | None, fmt: str = ".2f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return format(x, fmt)


def _signed(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:+.2f}".replace("-", "\u2212")


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
        return f"{_signed(d.diff)} (CI needs \u22652 seeds each)"
    df = f"df={d.df:.0f}" if d.kind == "paired" else f"df={d.df:.1f}"
    return f"{_signed(d.diff)} [{_signed(d.low)}, {_signed(d.high)}] {d.kind}, {df}"


def target_line(group: Group, row: Row) -> str:
    """One sentence: the method's gap to full fine-tuning against the issue's target."""
    d = row.diff
    if d is None:
        return f"- **{row.label}**: no full fine-tuning results in this group: gap unknown."
    ci = (
        f"95% CI {_signed(d.low)} to {_signed(d.high)}, {d.kind} t"
        if d.kind != "none"
        else "no CI (fewer than two seeds on a side)"
    )
    gap = f"\u0394 = {_signed(d.diff)} points vs full ({ci}; n = {d.n_a} vs {d.n_b} seeds)"
    target = row.target
    if target is None:
        what = "gap stated (no target)" if row.method in GAP_ONLY else "no target in the issue"
        return f"- **{row.label}**: {gap}: {what}."
    met = d.diff >= -target
    verdict = "**met**" if met else "**missed**"
    if d.kind == "none":
        certainty = ""
    elif d.low >= -target:
        certainty = f"; the CI lower bound {_signed(d.low)} is also above \u2212{target}"
    else:
        certainty = (
            f"; the CI lower bound {_signed(d.low)} does not rule out a gap larger "
            f"than {target}"
        )
    return (
        f"- **{row.label}**: {gap}: target within {target} points of full \u2014 "
        f"{verdict}{certainty}."
    )


SPEED_BASELINE = "hf_trainer_lora"
MFU_TARGETS = {"full": 0.50, "lora": 0.35}
MEMORY_TARGET = 0.75  # LoRA peak memory / full fine-tuning's


def speed_lines(group: Group) -> list[str]:
    """The speed and memory targets: LoRA end to end >= 2x faster than the plain Trainer + peft
    baseline at equal accuracy (+-0.5 point), MFU >= 50% (full) / 35% (LoRA) of the measured
    peak, LoRA peak memory <= 0.75x full fine-tuning's."""
    out = []
    lora, base, full = group.row("lora"), group.row(SPEED_BASELINE), group.row(REFERENCE)
    if lora and base:
        w_l, w_b = lora.avg("wall_time_s", bench=True), base.avg("wall_time_s", bench=True)
        t_l, t_b = lora.avg("train_time_s"), base.avg("train_time_s")
        gap = lora.mean - base.mean
        if w_l and w_b:
            speedup = w_b / w_l
            ok = speedup >= 2 and abs(gap) <= 0.5
            train_ratio = f"; training time alone {t_b / t_l:.2f}x" if t_l and t_b else ""
            out.append(
                f"- **speed vs plain Trainer + peft**: peftgov LoRA end to end {speedup:.2f}x "
                f"the speed of `{SPEED_BASELINE}` (mean wall time {w_l:.0f} s vs {w_b:.0f} s"
                f"{train_ratio}), test {group.metric} {_signed(gap)} points: target ≥2x at "
                f"equal accuracy (±0.5) — {'**met**' if ok else '**missed**'}."
            )
    for label, target in MFU_TARGETS.items():
        row = group.row(label)
        mfu = row.avg("mfu") if row else None
        if row and mfu is not None:
            ok = mfu >= target
            out.append(
                f"- **MFU {label}**: {mfu:.2f} of the measured matmul peak (the run's precision)"
                f": target ≥{target:.2f} — {'**met**' if ok else '**missed**'}."
            )
    if lora and full:
        m_l, m_f = lora.avg("peak_memory_mb"), full.avg("peak_memory_mb")
        if m_l and m_f:
            ratio = m_l / m_f
            out.append(
                f"- **memory**: LoRA peak {m_l:.0f} MB = {ratio:.2f}x full fine-tuning's "
                f"{m_f:.0f} MB: target ≤{MEMORY_TARGET}x — "
                f"{'**met**' if ratio <= MEMORY_TARGET else '**missed**'}."
            )
    return out


def _table(group: Group) -> str:
    unit = "pts" if group.scale == 100 else ""
    head = (
        f"| method | trainable params | trainable % | test {group.metric} {unit} (mean \u00b1 std)"
        f" | \u0394 vs full [95% CI] | train time s | wall time s | samples/s | tokens/s"
        f" | MFU | peak mem MB | artifact MB | n seeds |"
    )
    lines = [head, "|" + "---|" * 13]
    for row in group.rows:
        label = f"**{row.label}**" if row.pareto else row.label
        diff = "reference" if row.label == REFERENCE else (
            describe_diff(row.diff) if row.diff else "n/a"
        )
        lines.append(
            "| "
            + " | ".join(
                [
                    label,
                    _params(row.avg("trainable_params")),
                    _num(row.avg("trainable_pct"), ".3f"),
                    f"{row.mean:.2f} \u00b1 {_num(row.std)}",
                    diff,
                    _num(row.avg("train_time_s"), ".1f"),
                    _num(row.avg("wall_time_s", bench=True), ".1f"),
                    _num(row.avg("train_samples_per_s"), ".1f"),
                    _num(row.avg("train_tokens_per_s"), ".0f"),
                    _num(row.avg("mfu"), ".2f"),
                    _num(row.avg("peak_memory_mb"), ".0f"),
                    _num(_bytes_mb(row.avg("artifact_bytes")), ".2f"),
                    str(len(row.values)),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def csv_rows(groups: list[Group]) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        for row in g.rows:
            d = row.diff
            target = row.target
            out.append(
                {
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
                    "ci95_low_pts": d.low if d else None,
                    "ci95_high_pts": d.high if d else None,
                    "ci_kind": d.kind if d else ("reference" if row.label == REFERENCE else ""),
                    "ci_df": d.df if d else None,
                    "target_pts": target,
                    "target_met": (d.diff >= -target) if (d and target is not None) else None,
                    "pareto": row.pareto,
                    "train_time_s": row.avg("train_time_s"),
                    "wall_time_s": row.avg("wall_time_s", bench=True),
                    "samples_per_s": row.avg("train_samples_per_s"),
                    "tokens_per_s": row.avg("train_tokens_per_s"),
                    "mfu": row.avg("mfu"),
                    "peak_memory_mb": row.avg("peak_memory_mb"),
                    "artifact_mb": _bytes_mb(row.avg("artifact_bytes")),
                }
            )
    return out


def _csv_text(rows: list[dict[str, Any]]) -> str:
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


# --------------------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_pareto(group: Group, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    pts = [(r, r.avg("trainable_params")) for r in group.rows if r.avg("trainable_params")]
    for row, x in pts:
        ax.errorbar(
            x, row.mean, yerr=0 if math.isnan(row.std) else row.std, fmt="o",
            color="tab:red" if row.pareto else "tab:gray", capsize=3, zorder=3,
        )
        ax.annotate(row.label, (x, row.mean), textcoords="offset points", xytext=(5, 5),
                    fontsize=8)
    front = sorted((x, r.mean) for r, x in pts if r.pareto)
    if len(front) > 1:
        ax.plot(*zip(*front), color="tab:red", lw=1.2, ls="--", label="Pareto front", zorder=2)
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters (log scale)")
    unit = " (points)" if group.scale == 100 else ""
    ax.set_ylabel(f"test {group.metric}{unit}, mean \u00b1 std over seeds")
    ax.set_title(group.title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_efficiency(group: Group, path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.8))
    labels = [r.label for r in group.rows]
    for ax, key, title in (
        (axes[0], "train_samples_per_s", "training throughput (samples/s)"),
        (axes[1], "peak_memory_mb", "peak memory (MB)"),
    ):
        means, errs = [], []
        for row in group.rows:
            vals = [r.get(key) for r in row.results if r.get(key) is not None]
            means.append(mean(vals) if vals else 0.0)
            errs.append(sample_std(vals) if len(vals) > 1 else 0.0)
        ax.bar(labels, means, yerr=errs, capsize=3, color="tab:blue")
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", rotation=45, labelsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(group.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_learning_curve(dataset: str, groups: list[Group], path: Path) -> None:
    """Test metric vs training examples per class; the ``all`` point sits at the average
    number of examples per class of the full training split."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    labels = sorted({r.label for g in groups for r in g.rows}, key=method_sort_key)
    ticks: dict[float, str] = {}
    for label in labels:
        xs, ys, es = [], [], []
        for g in groups:
            row = g.row(label)
            if row is None:
                continue
            x = row.avg("examples_per_class", bench=True)
            if x is None:
                x = float(g.train_size) if g.train_size is not None else None
            if x is None:
                continue
            ticks[x] = "all" if g.train_size is None else str(g.train_size)
            xs.append(x)
            ys.append(row.mean)
            es.append(0 if math.isnan(row.std) else row.std)
        if xs:
            order = sorted(range(len(xs)), key=xs.__getitem__)
            ax.errorbar([xs[i] for i in order], [ys[i] for i in order],
                        yerr=[es[i] for i in order], marker="o", capsize=3, label=label)
    ax.set_xscale("log")
    if ticks:
        ax.set_xticks(sorted(ticks))
        ax.set_xticklabels([ticks[t] if ticks[t] != "all" else f"all\n(~{t:.0f})"
                            for t in sorted(ticks)])
        ax.minorticks_off()
    g0 = groups[0]
    unit = " (points)" if g0.scale == 100 else ""
    ax.set_xlabel("training examples per class (log scale)")
    ax.set_ylabel(f"test {g0.metric}{unit}, mean \u00b1 std")
    ax.set_title(f"{dataset}: learning curve", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- the report


def _environment(results: list[Result]) -> list[str]:
    def distinct(values):
        return sorted({str(v) for v in values if v not in (None, "")})

    commits = distinct(
        (r.bench("git_commit") or "")[:10] + ("-dirty" if r.bench("git_dirty") else "")
        for r in results
    )
    versions = {}
    for r in results:
        for k, v in (r.raw.get("versions") or {}).items():
            versions.setdefault(k, set()).add(str(v))
    lines = [
        f"- git commits: {', '.join(commits) or 'unknown'}",
        "- versions: " + (
            ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in sorted(versions.items())) or "n/a"
        ),
        "- processes x precision: "
        + ", ".join(
            distinct(f"{r.raw.get('num_processes')} x {r.raw.get('mixed_precision')}"
                     for r in results)
        ),
        "- machines: " + (", ".join(distinct(r.bench("host") for r in results)) or "unknown"),
        "- accelerate launch configs: "
        + (", ".join(distinct(r.bench("launch") for r in results)) or "none (plain process)"),
    ]
    walls = [r.bench("wall_time_s") for r in results]
    walls = [w for w in walls if isinstance(w, (int, float))]
    if walls:
        lines.append(f"- total wall time of the finished runs: {sum(walls) / 3600:.2f} h")
    return lines


def render(
    groups: list[Group],
    results: list[Result],
    failures: list[dict[str, Any]],
    *,
    suite: str,
    notes: list[str] = (),
    pending: list[str] = (),
    problems: list[str] = (),
    plots: dict[str, list[str]] | None = None,
) -> str:
    plots = plots or {}
    out = [
        f"# Benchmark report: {suite}",
        "",
        "Generated by `python -m benchmarks report` from the result JSON files in this folder "
        f"({len(results)} finished runs, {len(failures)} failed). Do not edit by hand.",
        "",
    ]
    if notes:
        out += ["## Suite notes", ""] + [f"- {n}" for n in notes] + [""]
    out += ["## Environment", ""] + _environment(results) + [""]
    out += [
        "## How to read",
        "",
        "- Test metric in points (x100) for metrics in [0, 1]; mean \u00b1 sample std "
        "(n \u2212 1) over seeds. **Bold** methods are on the Pareto front of trainable "
        "parameters vs mean test metric.",
        "- \u0394 vs full: mean difference from full fine-tuning in points, with a 95% t-interval: "
        "**paired** t on the per-seed differences when both methods ran the same seeds "
        "(df = n \u2212 1), otherwise **Welch** t (unequal variances, Welch\u2013Satterthwaite "
        "df).",
        "- Targets (from the issue): LoRA and adapters within 0.5 points of full fine-tuning, "
        "BitFit within 1.5 (judged on the mean gap; the CI says how sure that is); prompt "
        "tuning: gap stated. `hf_trainer_*` rows are the plain transformers Trainer baseline.",
        "- train time excludes evaluation and checkpoint I/O; wall time is the whole "
        "subprocess (model load, evaluations, saving); samples/s and tokens/s are over train "
        "time; peak memory is GPU memory allocated on CUDA, else the process's peak RSS.",
        "- MFU: useful training FLOPs (counted by torch's FLOP counter on a real step, times "
        "the real, non-padding tokens trained on) per second of train time, over the matmul "
        "peak measured on the same machine and thread count for the run's precision "
        "(`python -m benchmarks peak`).",
        "",
    ]
    for g in groups:
        out += [f"## {g.title}", "", _table(g), ""]
        out += ["Targets:", ""]
        for row in g.rows:
            if row.label != REFERENCE:
                out.append(target_line(g, row))
        if g.row(REFERENCE) is None:
            out.append("- no full fine-tuning results in this group: targets cannot be checked.")
        speed = speed_lines(g)
        if speed:
            out += ["", "Speed and memory targets:", ""] + speed
        out.append("")
        for name in plots.get(g.slug, []):
            out += [f"![{name}]({name})", ""]
    for dataset, names in plots.items():
        if dataset.startswith("learning-curve:"):
            out += [f"## Learning curve: {dataset.split(':', 1)[1]}", ""]
            out += [f"![{n}]({n})" for n in names] + [""]
    out += ["## Failed runs (not in any table)", ""]
    if failures:
        out += ["| run | status | return code | error | record |", "|---|---|---|---|---|"]
        for f in failures:
            err = str(f.get("error") or "").replace("|", "\\|").replace("\n", " ")[:200]
            out.append(
                f"| {f.get('id')} | {f.get('status', 'failed')} | {f.get('returncode', '')} "
                f"| {err} | {f.get('file')} |"
            )
    else:
        out.append("None.")
    out.append("")
    if pending:
        out += ["## Not run yet", ""] + [", ".join(pending), ""]
    if problems:
        out += ["## Files not used", ""] + [f"- {p}" for p in problems] + [""]
    return "\n".join(out)


def write_report(
    folder: str | Path,
    *,
    suite: str | None = None,
    notes: list[str] = (),
    pending: list[str] = (),
    plots: bool = True,
) -> Path:
    """Write ``REPORT.md``, ``report.csv`` and the plots into ``folder``; returns the report."""
    folder = Path(folder)
    results, problems = load_results(folder)
    failures = load_failures(folder)
    groups = build_groups(results)
    made: dict[str, list[str]] = {}
    if plots:
        for old in folder.glob("*.png"):
            old.unlink()
        for g in groups:
            names = [f"pareto-{g.slug}.png", f"efficiency-{g.slug}.png"]
            plot_pareto(g, folder / names[0])
            plot_efficiency(g, folder / names[1])
            made[g.slug] = names
        by_dataset: dict[tuple, list[Group]] = {}
        for g in groups:
            by_dataset.setdefault((g.dataset, g.task, g.metric), []).append(g)
        for (dataset, _, _), gs in by_dataset.items():
            if any(g.train_size is not None for g in gs):
                name = "learning-curve-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset) + ".png"
                plot_learning_curve(dataset, gs, folder / name)
                made[f"learning-curve:{dataset}"] = [name]
    text = render(
        groups, results, failures, suite=suite or folder.name, notes=list(notes),
        pending=list(pending), problems=problems, plots=made,
    )
    (folder / "report.csv").write_text(_csv_text(csv_rows(groups)), encoding="utf-8")
    report = folder / "REPORT.md"
    report.write_text(text, encoding="utf-8")
    return report
