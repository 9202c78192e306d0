"""The report's plots (matplotlib, Agg): test metric vs trainable parameters with the Pareto
front, throughput and peak memory per method, and the learning curve over examples per class."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from .stats import mean, sample_std
from .tables import Group


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


def plot_learning_curve(dataset: str, groups: list[Group], path: Path,
                        sort_key: Callable[[str], tuple]) -> None:
    """Test metric vs training examples per class; the ``all`` point sits at the average
    number of examples per class of the full training split."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    labels = sorted({r.label for g in groups for r in g.rows}, key=sort_key)
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
    if 0 in ticks:  # no training example: linear between 0 and 1, log above
        ax.set_xscale("symlog", linthresh=1.0)
    else:
        ax.set_xscale("log")
    if ticks:
        ax.set_xticks(sorted(ticks))
        ax.set_xticklabels([ticks[t] if ticks[t] != "all" else f"all\n(~{t:.0f})"
                            for t in sorted(ticks)])
        ax.minorticks_off()
    g0 = groups[0]
    unit = " (points)" if g0.scale == 100 else ""
    ax.set_xlabel("training examples per class (log scale)" if 0 not in ticks
                  else "training examples per class (symmetric log scale)")
    ax.set_ylabel(f"test {g0.metric}{unit}, mean \u00b1 std")
    ax.set_title(f"{dataset}: learning curve", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
