"""The report's continual-learning section: for result files with a ``continual`` record
(:mod:`peftgov.continual`), ACC / BWT / FWT per dataset and strategy (mean ± sample std over
seeds, in points) and a heatmap of the accuracy matrix R (mean over seeds) per strategy."""

from __future__ import annotations

import re
from pathlib import Path

from .plots import _pyplot
from .results import Result
from .stats import mean, sample_std
from .suite import ReportSpec

KEYS = ("ACC", "BWT", "FWT")


def _by_dataset(results: list[Result], spec: ReportSpec) -> dict[str, dict[str, list[Result]]]:
    """Continual results by dataset, then by label in the report's row order."""
    out: dict[str, dict[str, list[Result]]] = {}
    for r in results:
        if isinstance(r.raw.get("continual"), dict):
            out.setdefault(r.dataset, {}).setdefault(r.label, []).append(r)
    return {
        d: {lab: sorted(rs[lab], key=lambda r: r.seed) for lab in sorted(rs, key=spec.sort_key)}
        for d, rs in sorted(out.items())
    }


def _points(values: list[float]) -> str:
    pts = [100 * v for v in values]
    std = sample_std(pts)
    return f"{mean(pts):.2f}" + ("" if std != std else f" \u00b1 {std:.2f}")  # nan: one seed


def mean_matrix(results: list[Result]) -> list[list[float]]:
    """R averaged over seeds (element-wise), in points."""
    mats = [r.raw["continual"]["R"] for r in results]
    t = len(mats[0])
    return [[100 * mean([m[i][j] for m in mats]) for j in range(t)] for i in range(t)]


def plot_matrices(dataset: str, by_label: dict[str, list[Result]], path: Path) -> None:
    """One heatmap of R per strategy, side by side (rows: after stage i; columns: stage j)."""
    plt = _pyplot()
    labels = list(by_label)
    fig, axes = plt.subplots(1, len(labels), figsize=(3.2 * len(labels), 3.4), squeeze=False)
    for ax, label in zip(axes[0], labels):
        R = mean_matrix(by_label[label])
        t = len(R)
        ax.imshow(R, vmin=0, vmax=100, cmap="viridis")
        for i in range(t):
            for j in range(t):
                ax.text(j, i, f"{R[i][j]:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if R[i][j] < 60 else "black")
        ax.set_xticks(range(t), [str(j + 1) for j in range(t)])
        ax.set_yticks(range(t), [str(i + 1) for i in range(t)])
        ax.set_xlabel("tested on stage")
        ax.set_ylabel("after training stage")
        ax.set_title(f"{label} (n={len(by_label[label])})", fontsize=9)
    fig.suptitle(f"{dataset}: test accuracy matrix R (points, mean over seeds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section(results: list[Result], spec: ReportSpec, folder: Path | None) -> list[str]:
    """Markdown lines of the continual section (empty without continual results); writes the
    heatmaps into ``folder`` when given."""
    out: list[str] = []
    for dataset, by_label in _by_dataset(results, spec).items():
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset)
        out += [
            f"## Continual learning: {dataset}",
            "",
            "ACC: mean test accuracy over the stages after the last one; BWT: mean change on "
            "each earlier stage from just after learning it to the end (negative = forgetting); "
            "FWT: mean accuracy on each stage just before learning it, minus the untrained "
            "model's (Lopez-Paz & Ranzato, 2017). Points, mean \u00b1 sample std over seeds.",
            "",
            "| strategy | seeds | setting | ACC | BWT | FWT | final R row (per stage) |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, rs in by_label.items():
            cl = rs[0].raw["continual"]
            figures = [_points([r.raw["continual"][k] for r in rs]) for k in KEYS]
            last = " / ".join(f"{v:.1f}" for v in mean_matrix(rs)[-1])
            out.append(f"| {label} | {len(rs)} | {cl.get('setting', '')} | "
                       + " | ".join(figures) + f" | {last} |")
        out.append("")
        if folder is not None:
            name = f"continual-{slug}.png"
            plot_matrices(dataset, by_label, folder / name)
            out += [f"![{name}]({name})", ""]
    return out
