"""The report's verdicts: each method's gap to the reference against its target (from the suite
file, default the issue's), and the issue's speed, MFU and memory targets."""

from __future__ import annotations

from peftgov.methods import METHODS

from .suite import ISSUE_TARGETS, REFERENCE
from .tables import Group, Row, signed, verdict_digits

SPEED_BASELINE = "hf_trainer_lora"
MFU_TARGETS = {"full": 0.50, "lora": 0.35}
MEMORY_TARGET = 0.75  # LoRA's train-phase peak memory / full fine-tuning's

ISSUE_SENTENCE = (
    "Targets (from the issue): LoRA and adapters within 0.5 points of full fine-tuning, "
    "BitFit within 1.5 (judged on the mean gap; the CI says how sure that is); prompt "
    "tuning: gap stated."
)


def long_name(reference: str) -> str:
    """How a report names its reference method (``Method.title``, else its label)."""
    method = METHODS.get(reference)
    return (method.title if method is not None else "") or reference


def targets_sentence(groups: list[Group], reference: str) -> str:
    """The targets as the report's reader needs them: the issue's, or the suite file's."""
    rows = [r for g in groups for r in g.rows]
    if reference == REFERENCE and all(r.target == ISSUE_TARGETS.get(r.method)
                                      and r.reference in (None, reference) for r in rows):
        return ISSUE_SENTENCE
    stated = dict.fromkeys((r.label, r.target, r.reference or reference)
                           for r in rows if r.target is not None)
    parts = [
        f"{label}: gap stated" if t == "gap" else f"{label} within {t} points of {ref}"
        for label, t, ref in stated
    ]
    return ("Targets (from the suite file): " + ("; ".join(parts) or "none")
            + " (judged on the mean gap; the CI says how sure that is).")


def target_line(group: Group, row: Row) -> str:
    """One sentence: the method's gap to the reference against its target."""
    ref, d = row.reference or group.reference, row.diff
    if d is None:
        return f"- **{row.label}**: no {long_name(ref)} results in this group: gap unknown."
    ci = (
        f"95% CI {signed(d.low)} to {signed(d.high)}, {d.kind} t"
        if d.kind != "none"
        else "no CI (fewer than two seeds on a side)"
    )
    target = row.target_pts
    gap = f"\u0394 = {row.gap_shown} points vs {ref} ({ci}; n = {d.n_a} vs {d.n_b} seeds)"
    if target is None:
        what = "gap stated (no target)" if row.target == "gap" else "no target in the issue"
        return f"- **{row.label}**: {gap}: {what}."
    verdict = "**met**" if row.target_met else "**missed**"
    if d.kind == "none":
        certainty = ""
    elif d.low >= -target:
        certainty = f"; the CI lower bound {signed(d.low)} is also above \u2212{target}"
    else:
        certainty = (
            f"; the CI lower bound {signed(d.low)} does not rule out a gap larger "
            f"than {target}"
        )
    return (
        f"- **{row.label}**: {gap}: target within {target} points of {ref} \u2014 "
        f"{verdict}{certainty}."
    )


def absolute_lines(group: Group, target: float | None) -> list[str]:
    """The suite's absolute target for this group's dataset (``absolute_targets``, in the
    metric's own units, e.g. 0.92 accuracy): each method's mean test metric against it, at
    least (at most, for losses and perplexities) that value."""
    if target is None or not group.rows:
        return []
    lower = group.metric.endswith(("loss", "perplexity"))
    pts = target * group.scale
    out = [f"Absolute target (suite file): test {group.metric} {'≤' if lower else '≥'} "
           f"{pts:.2f} points, judged on each method's mean over seeds:", ""]
    for row in group.rows:
        met = row.mean <= pts + 1e-9 if lower else row.mean >= pts - 1e-9
        seeds = sorted(row.values.values())
        best = seeds[0] if lower else seeds[-1]
        out.append(
            f"- **{row.label}**: {row.mean:.2f} — {'**met**' if met else '**missed**'} "
            f"(best seed {best:.2f}; n = {len(seeds)})."
        )
    return out


END_TO_END_TARGET = 1.5
"""Issue 13: a fixed-epoch peftgov LoRA run's wall time at least this many times shorter than the
Trainer + peft baseline's (issue 5 asked 2x end to end; issue 13 put the 2x on time to accuracy)."""


def speed_lines(group: Group) -> list[str]:
    """The speed and memory targets: a fixed-epoch LoRA run end to end >= 1.5x faster than the
    plain Trainer + peft baseline at equal accuracy (+-0.5 point; issue 13, which moved the 2x
    to time to accuracy, :mod:`.tta`), MFU >= 50% (full) / 35% (LoRA) of the measured
    peak, LoRA peak memory <= 0.75x full fine-tuning's: the training phase's peaks
    (``memory_mb.train``) where both have them, else the whole process's."""
    out = []
    lora, base = group.row("lora"), group.row(SPEED_BASELINE)
    if lora and base:
        w_l, w_b = lora.avg("wall_time_s", bench=True), base.avg("wall_time_s", bench=True)
        t_l, t_b = lora.avg("train_time_s"), base.avg("train_time_s")
        gap = lora.mean - base.mean
        if w_l and w_b:
            speedup = w_b / w_l

            def fast(v: float) -> bool:
                return v >= END_TO_END_TARGET

            ok = fast(speedup) and abs(gap) <= 0.5
            ratios = f"; training time alone {t_b / t_l:.2f}x" if t_l and t_b else ""
            if all(isinstance(r.get("cpu_s"), (int, float)) for r in lora.results + base.results):
                ratios += (f"; in CPU seconds {base.avg('cpu_s') / lora.avg('cpu_s'):.2f}x, "
                           "which other jobs on the cores do not stretch")
            out.append(
                f"- **speed vs plain Trainer + peft**: peftgov LoRA end to end "
                f"{verdict_digits(speedup, fast)}x "
                f"the speed of `{SPEED_BASELINE}` (mean wall time {w_l:,.0f} s vs {w_b:,.0f} s"
                f"{ratios}), test {group.metric} {signed(gap)} points: target "
                f"≥{END_TO_END_TARGET:g}x at equal accuracy (±0.5) — "
                f"{'**met**' if ok else '**missed**'}."
            )
        p_l, p_b = lora.avg("peak_memory_mb"), base.avg("peak_memory_mb")
        if p_l and p_b:  # whole process on both sides: the baseline records no phases
            out.append(
                f"- **memory vs plain Trainer + peft** (no target): peftgov LoRA's whole-process "
                f"peak {p_l:,.0f} MB = {p_l / p_b:.2f}x `{SPEED_BASELINE}`'s {p_b:,.0f} MB."
            )
    for label, target in MFU_TARGETS.items():
        row = group.row(label)
        mfu = row.avg("mfu") if row else None
        if row and mfu is not None:
            def enough(v: float, t: float = target) -> bool:
                return v >= t

            ok = enough(mfu)
            out.append(
                f"- **MFU {label}**: {verdict_digits(mfu, enough)} of the "
                f"measured matmul peak (the run's precision): target ≥{target:.2f} — "
                f"{'**met**' if ok else '**missed**'}."
            )
    # Plain LoRA, then each LoRA variant row, against the full fine-tuning row it is judged
    # against (``lora_e6``: ``full_e6``), else ``full``; a variant judged against the same row as
    # plain LoRA (``lora_gc``: gradient checkpointing) also gets its train time against plain
    # LoRA's.
    lora_full = _full_for(lora, group) if lora is not None else None
    for row in group.rows:
        if row.label == "lora" or row.label.startswith("lora_"):
            full = _full_for(row, group)
            if full is not None:
                out += memory_line(row, full, plain=lora if lora_full is full else None)
    return out


def _full_for(row: Row, group: Group) -> Row | None:
    """The full fine-tuning row ``row`` is judged against: its reference when that trains
    every weight, else the ``full`` row."""
    own = group.row(row.reference) if row.reference else None
    if own is not None and own.results and all(r.method == "full" for r in own.results):
        return own
    return group.row("full")


def memory_line(lora: Row, full: Row, plain: Row | None = None) -> list[str]:
    """LoRA's peak memory against full fine-tuning's (``full``: the row it is judged against):
    the train-phase peaks when both runs recorded phases (:mod:`peftgov.memory`), else the
    whole-process peaks, said which. A variant row (label ``lora_*``) is named, and given its
    train time against ``plain`` LoRA's where passed: what the memory cost in time."""
    t_l, t_f = lora.avg("memory_mb.train"), full.avg("memory_mb.train")
    p_l, p_f = lora.avg("peak_memory_mb"), full.avg("peak_memory_mb")
    if t_l and t_f:
        m_l, m_f, what = t_l, t_f, "train-phase peak"
        aside = f" (whole process {p_l:,.0f} vs {p_f:,.0f} MB)" if p_l and p_f else ""
    elif p_l and p_f:
        m_l, m_f, what = p_l, p_f, "peak"
        aside = " (whole process: these runs have no per-phase figures)"
    else:
        return []
    ratio = m_l / m_f

    def light(v: float) -> bool:
        return v <= MEMORY_TARGET

    whose = "full fine-tuning's" if full.label == "full" else f"`{full.label}`'s"
    name, price = "LoRA", ""
    if lora.label != "lora":
        name = f"LoRA (`{lora.label}`)"
        t_v, t_p = lora.avg("train_time_s"), plain.avg("train_time_s") if plain else None
        if t_v and t_p:
            price = f", at {t_v / t_p:.2f}x plain LoRA's train time ({t_v:,.0f} vs {t_p:,.0f} s)"
    return [
        f"- **memory**: {name} {what} {m_l:,.0f} MB = "
        f"{verdict_digits(ratio, light)}x {whose} "
        f"{m_f:,.0f} MB{aside}{price}: target ≤{MEMORY_TARGET}x — "
        f"{'**met**' if light(ratio) else '**missed**'}."
    ]
