"""README's measured tables are copies of their reports' blocks, not figures typed by hand: each
table after a ``<!-- quoted from PATH -->`` line must appear, line for line, in the committed
report at PATH (regenerate the report, then copy its block again)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
MARK = re.compile(r"^<!-- quoted from (\S+) -->$")


def quoted_tables(readme: str) -> list[tuple[str, list[str]]]:
    """``(report path, table lines)`` for every table README quotes."""
    out, lines = [], readme.splitlines()
    for i, line in enumerate(lines):
        m = MARK.match(line)
        if m:
            table = []
            for row in lines[i + 1:]:
                if not row.startswith("|"):
                    break
                table.append(row)
            out.append((m.group(1), table))
    return out


def misquoted(readme: str, root: Path) -> list[str]:
    """What does not match: a missing report, an empty quote, or the first line not in it."""
    problems = []
    for path, table in quoted_tables(readme):
        report = root / path
        if not report.is_file():
            problems.append(f"{path}: no such report")
            continue
        if len(table) < 3:
            problems.append(f"{path}: the quote holds no table rows")
            continue
        text = report.read_text(encoding="utf-8").splitlines()
        starts = [j for j, line in enumerate(text) if line == table[0]]
        if not any(text[j:j + len(table)] == table for j in starts):
            block = text[starts[0]:starts[0] + len(table)] if starts else []
            wrong = next((row for k, row in enumerate(table)
                          if k >= len(block) or block[k] != row), table[0])
            problems.append(f"{path}: README's row not in the report: {wrong}")
    return problems


def test_readme_tables_are_copies_of_their_reports():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert quoted_tables(readme), "README quotes no report table"
    assert misquoted(readme, ROOT) == []


def test_a_figure_typed_by_hand_is_caught(tmp_path):
    report = tmp_path / "REPORT.md"
    report.write_text("x\n\n| a | b |\n|---|---|\n| lora | 392 |\n| full | 627 |\n\ny\n")
    good = "<!-- quoted from REPORT.md -->\n| a | b |\n|---|---|\n| lora | 392 |\n| full | 627 |\n"
    assert misquoted(good, tmp_path) == []
    assert misquoted(good.replace("392", "393"), tmp_path) == [
        "REPORT.md: README's row not in the report: | lora | 393 |"
    ]
    assert misquoted(good.replace("REPORT.md", "OTHER.md"), tmp_path) == [
        "OTHER.md: no such report"
    ]
