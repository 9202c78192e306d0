"""The benchmark report, generated only from a results folder's JSON files.

Input: ``<results>/<id>.json`` and ``<results>/failed/<id>.json`` (:mod:`.results`). Output, in
the same folder: ``REPORT.md``, ``report.csv`` (:mod:`.tables`, full precision) and PNG plots
(:mod:`.plots`). Nothing here trains or reads a run directory. What the report compares (the
reference method, row order, targets) comes from the suite file (:class:`.suite.ReportSpec`),
or its defaults for a results folder alone. Statistics: :mod:`.stats`; verdicts: :mod:`.targets`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from . import transfer
from .headline import headline_lines
from .plots import plot_efficiency, plot_learning_curve, plot_pareto
from .results import Result, load_failures, load_results
from .stats import Diff, diff_ci, mean, pareto_front, sample_std, t_quantile, t_quantile_fallback
from .suite import ReportSpec
from .tables import Group, build_groups, csv_rows, csv_text, markdown_table
from .targets import absolute_lines, long_name, speed_lines, target_line, targets_sentence
from .sweep import report_lines as sweep_report
from .tta import curve_metric, plot_tta, target_value, tta_lines

__all__ = [  # the report, and the statistics it states (one namespace for callers)
    "Diff", "diff_ci", "mean", "pareto_front", "render", "sample_std", "t_quantile",
    "t_quantile_fallback", "write_report",
]


def _environment(results: list[Result]) -> list[str]:
    def distinct(values):
        return sorted({str(v) for v in values if v not in (None, "")})

    commits = distinct(
        (r.bench("git_commit") or "")[:10] + ("-dirty" if r.bench("git_dirty") else "")
        for r in results
    )
    versions: dict[str, set[str]] = {}
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


def _how_to_read(groups: list[Group], ref: str) -> list[str]:
    return [
        "## How to read",
        "",
        "- Test metric in points (x100) for metrics in [0, 1]; mean \u00b1 sample std "
        "(n \u2212 1) over seeds. **Bold** methods are on the Pareto front of trainable "
        "parameters vs mean test metric.",
        f"- \u0394 vs {ref}: mean difference from {long_name(ref)} in points, with a 95% "
        "t-interval: **paired** t on the per-seed differences when both methods ran the same "
        "seeds (df = n \u2212 1), otherwise **Welch** t (unequal variances, "
        "Welch\u2013Satterthwaite df).",
        f"- {targets_sentence(groups, ref)} `hf_trainer_*` rows are the plain transformers "
        "Trainer baseline.",
        "- train time excludes evaluation and checkpoint I/O; wall time is the whole "
        "subprocess (model load, evaluations, saving); samples/s and tokens/s are over train "
        "time; peak mem is the whole process's peak (GPU memory allocated on CUDA, else "
        "resident set size: model load, tokenised data, every evaluation and saving "
        "included); train peak is the peak during the optimizer steps alone (the counter "
        "reset as training starts and read around each validation, `memory_mb.train` in "
        "metrics.json; on the CPU still the whole resident set at that moment, model and "
        "data included). The memory target is judged on train peaks when both runs have "
        "them.",
        "- MFU: useful training FLOPs (counted by torch's FLOP counter on a real step, times "
        "the real, non-padding tokens trained on) per second of train time, over the matmul "
        "peak measured on the same machine and thread count for the run's precision "
        "(`python -m benchmarks peak`).",
        "",
    ]


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
    spec: ReportSpec | None = None,
    continual: list[str] = (),
    sweeps: list[str] = (),
) -> str:
    plots = plots or {}
    spec = spec or ReportSpec()
    ref = spec.reference
    datasets = sorted({g.dataset for g in groups})
    unmatched = sorted(set(spec.absolute) - set(datasets))
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
    out += _how_to_read(groups, ref)
    for g in groups:
        out += [f"## {g.title}", "", markdown_table(g), ""]
        out += ["Headline (the table README.md quotes):", ""] + headline_lines(g) + [""]
        out += ["Targets:", ""]
        out += [target_line(g, row) for row in g.rows if row.label != ref]
        if g.row(ref) is None:
            out.append(f"- no {long_name(ref)} results in this group: targets cannot be checked.")
        absolute = absolute_lines(g, spec.absolute.get(g.dataset))
        if absolute:
            out += [""] + absolute
        speed = speed_lines(g)
        if speed:
            out += ["", "Speed and memory targets:", ""] + speed
        tta = tta_lines(g)
        if tta:
            out += [""] + tta
        out.append("")
        for name in plots.get(g.slug, []):
            out += [f"![{name}]({name})", ""]
    for dataset, names in plots.items():
        if dataset.startswith("learning-curve:"):
            out += [f"## Learning curve: {dataset.split(':', 1)[1]}", ""]
            out += [f"![{n}]({n})" for n in names] + [""]
    out += list(sweeps)
    out += list(continual)  # the continual-learning section (:mod:`.transfer`), if any
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
    if unmatched:
        out += ["## Absolute targets not checked", "",
                f"- `absolute_targets` names {', '.join(unmatched)}: no results for that dataset "
                f"(the sections here: {', '.join(datasets) or 'none'}).", ""]
    return "\n".join(out)


def _write_plots(folder: Path, groups: list[Group], spec: ReportSpec) -> dict[str, list[str]]:
    """The PNGs (old ones removed first), by group slug / ``learning-curve:<dataset>``."""
    made: dict[str, list[str]] = {}
    for old in folder.glob("*.png"):
        old.unlink()
    for g in groups:
        names = [f"pareto-{g.slug}.png", f"efficiency-{g.slug}.png"]
        plot_pareto(g, folder / names[0])
        plot_efficiency(g, folder / names[1])
        curve = curve_metric(g)
        if curve is not None:
            names.append(f"tta-{g.slug}.png")
            plot_tta(g, folder / names[-1], target_value(g), curve)
        made[g.slug] = names
    by_dataset: dict[tuple, list[Group]] = {}
    for g in groups:
        by_dataset.setdefault((g.dataset, g.metric), []).append(g)
    for (dataset, _), gs in by_dataset.items():
        if any(g.train_size is not None for g in gs):
            name = "learning-curve-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset) + ".png"
            plot_learning_curve(dataset, gs, folder / name, spec.sort_key)
            made[f"learning-curve:{dataset}"] = [name]
    return made


def write_report(
    folder: str | Path,
    *,
    suite: str | None = None,
    notes: list[str] = (),
    pending: list[str] = (),
    plots: bool = True,
    spec: ReportSpec | None = None,
) -> Path:
    """Write ``REPORT.md``, ``report.csv`` and the plots into ``folder``; returns the report."""
    folder, spec = Path(folder), spec or ReportSpec()
    results, problems = load_results(folder)
    failures = load_failures(folder)
    groups = build_groups(results, spec)
    made = _write_plots(folder, groups, spec) if plots else {}
    text = render(
        groups, results, failures, suite=suite or folder.name, notes=list(notes),
        pending=list(pending), problems=problems, plots=made, spec=spec,
        continual=transfer.section(results, spec, folder if plots else None),
        sweeps=sweep_report(folder, list(pending)),
    )
    (folder / "report.csv").write_text(csv_text(csv_rows(groups)), encoding="utf-8")
    report = folder / "REPORT.md"
    report.write_text(text, encoding="utf-8")
    return report
