"""The headline table: one compact row per method, the table README.md quotes.

README's measured tables are copies of these blocks (``tests/test_readme_figures.py`` checks
each against its report), so no figure there is typed in by hand. Columns: the learning rate the
run trained at (the sweep's pick or the suite's override; ``recipe`` when neither set it), the
test metric (mean ± sample std over seeds), the difference from the row's reference with its 95%
interval, in bold where the method's parity target is met, trainable %, mean train and wall
seconds, the train-phase peak (the whole process's, in brackets, for runs that did not record
one) and, when the suite set a target, the seconds to it and the speed-up over the Trainer +
peft baseline (:mod:`.tta`).
"""

from __future__ import annotations

from .tables import Group, Row, num, signed
from .targets import SPEED_BASELINE
from .tta import per_seed, ratio_cell, spread, target_value


def headline_lines(group: Group) -> list[str]:
    """The headline table of ``group``, as markdown lines."""
    tta = target_value(group) is not None
    per = per_seed(group, "wall_s") if tta else {}
    head = (f"| method | lr | test {group.metric} | \u0394 [95% CI] | trainable % | train s "
            "| wall s | train peak MB |")
    rule = "|---|---|---|---|---|---|---|---|"
    if tta:
        head += f" s to target | vs {SPEED_BASELINE} |"
        rule += "---|---|"
    lines = [head, rule]
    for row in group.rows:
        test = f"{row.mean:.2f} \u00b1 {num(row.std)}"
        diff = _diff(row, group)
        if row.target_met:
            test, diff = f"**{test}**", f"**{diff}**"
        cells = [
            row.label, _lr(row), test, diff, _pct(row.avg("trainable_pct")),
            _int(row.avg("train_time_s")), _int(row.avg("wall_time_s", bench=True)), _peak(row),
        ]
        if tta:
            times = per.get(row.label, {})
            cells += [spread(list(times.values())),
                      ratio_cell(row.label, times, per.get(SPEED_BASELINE, {}))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _diff(row: Row, group: Group) -> str:
    if row.reference is None:
        return "reference"
    if row.diff is None:
        return "n/a"
    d = row.diff
    text = row.gap_shown + ("" if d.kind == "none" else f" [{signed(d.low)}, {signed(d.high)}]")
    return text + ("" if row.reference == group.reference else f" vs {row.reference}")


def _lr(row: Row) -> str:
    """The learning rate the row's runs trained at, e.g. ``2e-4``."""
    values = set()
    for r in row.results:
        chosen = {**(r.bench("overrides") or {}), **(r.bench("picked") or {})}
        values.add(chosen.get("train.lr"))
    if len(values) != 1 or None in values:
        return "recipe" if values == {None} else "mixed"
    mantissa, exponent = f"{float(values.pop()):.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _pct(x: float | None) -> str:
    return num(x, ".3g")


def _int(x: float | None) -> str:
    return num(x, ",.0f")


def _peak(row: Row) -> str:
    train = row.avg("memory_mb.train")
    return _int(train) if train is not None else f"n/a (process {_int(row.avg('peak_memory_mb'))})"
