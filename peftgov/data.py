"""Read local data files into rows with line numbers, and resolve data paths.

Every problem is a :class:`~peftgov.errors.DataError` naming the file and, where there is one,
the line. Tasks turn rows into ``datasets.Dataset`` objects; the CoNLL reader lives with the
NER task because only it needs that format.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from . import redact
from .errors import DataError

BUNDLED_PREFIX = "bundled:"


def bundled_root() -> Path:
    """Folder of the datasets shipped inside the package (``bundled:<path>`` in recipes)."""
    return Path(str(resources.files("peftgov") / "datasets"))


def resolve_path(spec: str) -> Path:
    """``bundled:hotline/en/train.jsonl`` -> the packaged file; anything else as given."""
    if spec.startswith(BUNDLED_PREFIX):
        return bundled_root() / spec[len(BUNDLED_PREFIX) :]
    return Path(spec).expanduser()


@dataclass(frozen=True)
class Row:
    line: int
    """1-based line in the file where the row starts (for messages)."""
    values: dict[str, Any]


def detect_format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffix = path.suffix.lower()
    return {
        ".csv": "csv",
        ".tsv": "tsv",
        ".jsonl": "jsonl",
        ".json": "jsonl",
        ".conll": "conll",
        ".txt": "conll",
        ".bio": "conll",
    }.get(suffix, "jsonl")


def read_text(path: Path, spec: str | None = None) -> str:
    """The file's text; a clear error if it is missing, empty, or not UTF-8."""
    name = spec or str(path)
    if not path.is_file():
        raise DataError(name, "file not found")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(name, "file is empty")
    try:
        return redact.maybe(raw.decode("utf-8-sig"))  # data.redact: before anything else sees it
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            name, f"not UTF-8 (byte 0x{raw[exc.start]:02x}); re-save the file as UTF-8", line=line
        ) from None


def read_rows(
    spec: str, fmt: str = "auto", columns: list[str] | None = None,
    text_keys: Collection[str] | None = None,
) -> list[Row]:
    """Read a csv / tsv / jsonl file into rows. ``spec`` is a path or ``bundled:`` path;
    ``columns`` names the columns of a csv / tsv file that has no header row; ``text_keys``:
    the keys holding prose, the only values ``data.redact_ner`` reads (None: every string)."""
    path = resolve_path(spec)
    kind = detect_format(path, fmt)
    text = read_text(path, spec)
    if kind in ("csv", "tsv"):
        rows = _read_delimited(text, spec, "," if kind == "csv" else "\t", columns)
        return _redacted(rows, text_keys)
    if kind == "jsonl":
        return _redacted(_read_jsonl(text, spec), text_keys)
    raise DataError(spec, f"format {kind!r} is not a table (csv, tsv or jsonl expected)")


def redacted_copy(path: Path, text_keys: Collection[str] | None, *, names: bool) -> str:
    """``peftgov redact``: the file's text with :mod:`peftgov.redact` applied (call inside
    ``redact.active``). jsonl: every value of every row (one batch); csv / tsv: the patterns on
    the text as it is, and with a names redactor (``names``) the cells under ``text_keys``,
    written back by the csv module; other formats (CoNLL): the patterns only."""
    text = read_text(path)
    kind = detect_format(path, "auto")
    if kind == "jsonl":
        lines = text.split("\n")
        parsed = {}
        for i, line in enumerate(lines):
            if line.strip():
                try:
                    parsed[i] = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(str(path), f"invalid JSON ({exc.msg})", line=i + 1) from None
        for i, value in zip(parsed, redact.maybe_values(list(parsed.values()), text_keys)):
            lines[i] = json.dumps(value, ensure_ascii=False)
        return "\n".join(lines)
    if not names:
        return text
    if kind not in ("csv", "tsv"):
        raise DataError(str(path), "names (--ner) are redacted in jsonl, csv or tsv text "
                        f"columns; this file reads as {kind}")
    delimiter = "," if kind == "csv" else "\t"
    rows = _redacted(_read_delimited(text, str(path), delimiter), text_keys)
    out = io.StringIO(newline="")
    quoting = csv.QUOTE_MINIMAL if kind == "csv" else csv.QUOTE_NONE
    writer = csv.DictWriter(out, fieldnames=list(rows[0].values), delimiter=delimiter,
                            quoting=quoting, escapechar=None if kind == "csv" else "\\",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(r.values for r in rows)
    return out.getvalue()


def _redacted(rows: list[Row], text_keys: Collection[str] | None) -> list[Row]:
    """``data.redact``: every parsed value redacted (jsonl text written with ``\\u`` escapes
    only shows its characters once parsed; the names redactor sees cells, never syntax), the
    whole file in one batch."""
    values = redact.maybe_values([r.values for r in rows], text_keys)
    return [Row(r.line, v) for r, v in zip(rows, values)]


def _read_delimited(
    text: str, spec: str, delimiter: str, columns: list[str] | None = None
) -> list[Row]:
    # TSV files of NLP corpora (SST-2) contain bare quotes inside sentences: no quoting there.
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    try:
        header = list(columns) if columns else next(reader)
    except (StopIteration, csv.Error) as exc:
        raise DataError(spec, f"cannot read a header row ({exc})", line=1) from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise DataError(spec, f"duplicate column names in header {header}", line=1)
    rows: list[Row] = []
    start = reader.line_num + 1
    try:
        for record in reader:
            if not record or all(not c.strip() for c in record):
                start = reader.line_num + 1
                continue
            if len(record) != len(header):
                raise DataError(
                    spec,
                    f"expected {len(header)} columns ({', '.join(header)}), found {len(record)}",
                    line=start,
                )
            rows.append(Row(start, dict(zip(header, record))))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(spec, f"malformed row ({exc})", line=reader.line_num) from None
    if not rows:
        raise DataError(spec, "no data rows after the header")
    return rows


def _read_jsonl(text: str, spec: str) -> list[Row]:
    rows: list[Row] = []
    # Split on "\n" only: str.splitlines() also breaks at U+2028 / U+2029 / U+0085, which
    # JSON allows unescaped inside strings.
    for i, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(spec, f"invalid JSON ({exc.msg})", line=i) from None
        if not isinstance(value, dict):
            raise DataError(spec, "each line must be a JSON object", line=i)
        rows.append(Row(i, value))
    if not rows:
        raise DataError(spec, "no rows")
    return rows


def require_columns(rows: list[Row], spec: str, columns: list[str]) -> None:
    """Fail early, naming the column, when the file lacks one the task needs."""
    present = set(rows[0].values)
    for col in columns:
        if col not in present:
            raise DataError(
                spec,
                f"missing column {col!r} (columns: {', '.join(sorted(present))}); "
                "set the task's column option",
                line=rows[0].line,
            )


def carve_validation(rows: list, fraction: float, seed: int) -> tuple[list, list]:
    """Split ``fraction`` of ``rows`` off as validation, reproducibly for a given seed."""
    import random

    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(rows) * fraction))
    val_idx = set(order[:n_val])
    train = [r for i, r in enumerate(rows) if i not in val_idx]
    val = [r for i, r in enumerate(rows) if i in val_idx]
    return train, val


def subsample(rows: list, limit: int | None, seed: int) -> list:
    """At most ``limit`` rows, chosen by a seeded shuffle but kept in file order."""
    import random

    if limit is None or len(rows) <= limit:
        return rows
    keep = set(random.Random(seed).sample(range(len(rows)), limit))
    return [r for i, r in enumerate(rows) if i in keep]


def arrange_splits(splits: dict[str, list], specs: dict[str, Any], data: Any, seed: int) -> None:
    """Shared by every task, in place: carve validation off train when the recipe has none
    (seeded), then apply ``max_train_samples`` / ``max_eval_samples`` (seeded)."""
    if "validation" not in splits:
        splits["train"], splits["validation"] = carve_validation(
            splits["train"], data.validation_fraction, seed
        )
        specs["validation"] = f"{data.train} (validation carve-out)"
    splits["train"] = subsample(splits["train"], data.max_train_samples, seed)
    for split in ("validation", "test"):
        if split in splits:
            splits[split] = subsample(splits[split], data.max_eval_samples, seed)
