"""Read CoNLL-style token files (one ``TOKEN ... TAG`` per line) into sentences.

* Fields are tab-separated when the line has a tab, else whitespace-separated; the token is
  the first field and the BIO tag the last (POS / chunk columns in between are ignored).
* A blank (or whitespace-only) line ends a sentence; ``-DOCSTART-`` lines are skipped.
* Tags must be BIO: ``O``, ``B-TYPE`` or ``I-TYPE`` (the type may contain ``-`` and ``.``,
  as in ``B-creative-work`` or ``B-PER.NAM``).
* ``strip_position_digit``: the Weibo NER variant, where the first field is one character
  followed by its word-position number (``科0`` is the character ``科``, ``e12`` is ``e``).

Every problem is a :class:`~peftgov.errors.DataError` naming file and line; with
``skip=True`` a sentence holding a bad line is dropped instead and counted in
``counts["skipped_bad_rows"]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .data import read_text, resolve_path
from .errors import DataError

DOCSTART = "-DOCSTART-"
_BIO = re.compile(r"^(O|[BI]-\S+)$")
_POSITION = re.compile(r"^(.+?)([0-9]+)$", re.DOTALL)


@dataclass
class Sentence:
    words: list[str]
    tags: list[str]
    line: int
    """1-based line of the sentence's first word (for messages)."""
    lines: list[int] = field(default_factory=list)
    """Line of each word (for messages about one tag)."""

    def __post_init__(self) -> None:
        if not self.lines:
            self.lines = [self.line] * len(self.words)


def is_bio_tag(tag: str) -> bool:
    return isinstance(tag, str) and bool(_BIO.match(tag))


def entity_type(tag: str) -> str | None:
    """``B-PER`` -> ``PER``; ``O`` -> None."""
    return None if tag == "O" else tag[2:]


def bio_error(tag: str) -> str:
    return f"tag {tag!r} is not BIO (expected O, B-TYPE or I-TYPE)"


def split_fields(line: str) -> list[str]:
    """Tab-separated when the line has a tab (tokens may then be odd whitespace characters),
    otherwise whitespace-separated."""
    if "\t" in line:
        fields = [f.strip(" \r") for f in line.split("\t")]
        while fields and not fields[-1]:
            fields.pop()
        return fields
    return line.split()


def strip_position(token: str) -> str | None:
    """``科0`` -> ``科``; ``e12`` -> ``e``; None when there is no trailing position number."""
    m = _POSITION.match(token)
    return m.group(1) if m else None


def read_conll(
    spec: str,
    *,
    strip_position_digit: bool = False,
    skip: bool = False,
    counts: dict[str, int] | None = None,
) -> list[Sentence]:
    """Sentences of a CoNLL file (``spec`` is a path or ``bundled:`` path)."""
    counts = counts if counts is not None else {}
    text = read_text(resolve_path(spec), spec)
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    bad = False

    def flush() -> None:
        nonlocal words, tags, lines, bad
        if bad:
            counts["skipped_bad_rows"] = counts.get("skipped_bad_rows", 0) + 1
        elif words:
            sentences.append(Sentence(words, tags, lines[0], lines))
        words, tags, lines, bad = [], [], [], False

    # split("\n"), not splitlines(): tweets hold U+2028 and friends inside tokens.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            flush()
            continue
        fields = split_fields(line)
        if fields and fields[0] == DOCSTART:
            flush()
            continue
        problem = None
        if len(fields) < 2:
            problem = (
                f"found one column ({line.strip()[:60]!r}): expected a token and a tag "
                "(token first, tag last, separated by spaces or tabs)"
            )
        elif not is_bio_tag(fields[-1]):
            problem = bio_error(fields[-1])
        token = fields[0] if fields else ""
        if problem is None and strip_position_digit:
            stripped = strip_position(token)
            if stripped is None:
                problem = (
                    f"token {token!r} does not end in a position number (strip_position_digit "
                    "expects a character followed by digits, e.g. 科0)"
                )
            token = stripped or token
        if problem is not None:
            if not skip:
                raise DataError(spec, problem, line=number)
            bad = True
            continue
        words.append(token)
        tags.append(fields[-1])
        lines.append(number)
    flush()
    if not sentences:
        raise DataError(
            spec,
            "no sentences (expected 'TOKEN TAG' lines with a blank line between sentences)",
        )
    return sentences
