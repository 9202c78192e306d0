"""Personal information out of the data before training (个人信息保护法, PIPL).

:func:`redact` replaces each piece of personal information in a text with a typed placeholder
(``<ID_CARD>``, ``<MOBILE>``, ...) and counts them per type. Numbers that carry a check digit
are only redacted when it is right, so look-alikes (order numbers, amounts, dates) stay:

=============  ==========================================================================
``ID_CARD``    18-character resident identity number (GB 11643): 6-digit region, a real
               birth date, 3-digit sequence, ISO 7064 MOD 11-2 check character.
``CREDIT_CODE`` 18-character unified social credit code (GB 32100): check character
               MOD 31 over its 31-character alphabet; not an all-digit run shaped like an ID.
``BANK_CARD``  16-19 digits (spaces or dashes allowed every 4), Luhn check, issuer prefix
               3/4/5/6 (UnionPay 62, Visa, Mastercard, JCB, Amex); not an 18-digit run
               shaped like an ID number (a mistyped ID is no card).
``MOBILE``     mainland mobile numbers 1[3-9]x xxxx xxxx, optionally +86 / 86, spaced 3-4-4.
``LANDLINE``   area code 0xx / 0xxx with a separator or brackets, then 7-8 digits.
``EMAIL``      addresses.
``PLATE``      licence plates: province character, letter, 5 characters (6 for new energy).
``PASSPORT``   Chinese passports: E / G + 8 digits, or E + letter + 7 digits.
=============  ==========================================================================

A digit run is only a candidate as a whole (never the middle of a longer number), and the
placeholders match no pattern, so redaction is idempotent and touches nothing but the spans
it replaces. The run records the counts per type, never the values.

Within a run, ``data.redact: true`` turns :func:`active` on around the reading of every data
file, so texts are redacted as they are read: before tokenization, before anything is
written to the run directory, its logs or checkpoints.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from typing import Any

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"


def id_card_ok(s: str) -> bool:
    """GB 11643: a real birth date and the MOD 11-2 check character."""
    s = s.upper()
    if len(s) != 18 or not s[:17].isdigit() or not _has_birth_date(s):
        return False
    return ID_CHECK[sum(int(c) * w for c, w in zip(s, ID_WEIGHTS)) % 11] == s[17]


def credit_code_ok(s: str) -> bool:
    """GB 32100: the check character MOD 31."""
    if len(s) != 18 or any(c not in USCC_CHARS for c in s):
        return False
    if s.isdigit() and _has_birth_date(s):  # shaped like an ID number: a mistyped ID
        return False
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(s, USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31] == s[17]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _has_birth_date(digits: str) -> bool:
    try:
        dt.date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return 1900 <= int(digits[6:10]) <= dt.date.today().year


def bank_card_ok(s: str) -> bool:
    """16-19 digits passing Luhn; an 18-digit run shaped like an ID number (a birth date at
    its place) is a mistyped ID, not a card."""
    digits = _digits(s)
    if not 16 <= len(digits) <= 19 or not luhn_ok(digits):
        return False
    return not (len(digits) == 18 and s.isdigit() and _has_birth_date(digits))


# Boundaries: no letter or digit right before / after (ASCII only: Chinese text runs straight
# into numbers, "电话13812345678").
_B = r"(?<![0-9A-Za-z])"
_E = r"(?![0-9A-Za-z])"

# (type, pattern, validator of the matched text or None). Earlier entries win overlaps.
PATTERNS: list[tuple[str, re.Pattern[str], object]] = [
    ("EMAIL", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"), None),
    ("ID_CARD", re.compile(_B + r"\d{17}[\dXx]" + _E), id_card_ok),
    ("CREDIT_CODE", re.compile(_B + r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}" + _E),
     credit_code_ok),
    ("BANK_CARD", re.compile(_B + r"[3-6]\d{3}(?:[ -]?\d{4}){2}[ -]?\d{4,7}" + _E),
     bank_card_ok),
    ("MOBILE", re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}" + _E), None),
    ("LANDLINE", re.compile(_B + r"(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}[ -])\s?\d{7,8}" + _E), None),
    ("PLATE", re.compile(rf"[{PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{{5,6}}" + _E), None),
    ("PASSPORT", re.compile(_B + r"(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7})" + _E), None),
]
TYPES = [name for name, _, _ in PATTERNS]


def placeholder(kind: str) -> str:
    return f"<{kind}>"


def redact(text: str, counts: Counter | None = None) -> str:
    """``text`` with every recognised piece of personal information replaced by its typed
    placeholder; ``counts`` (if given) is increased per type."""
    spans: list[tuple[int, int, str]] = []
    for kind, pattern, valid in PATTERNS:
        for m in pattern.finditer(text):
            if valid is not None and not valid(m.group()):
                continue
            if any(m.start() < end and start < m.end() for start, end, _ in spans):
                continue
            spans.append((m.start(), m.end(), kind))
    if not spans:
        return text
    out, last = [], 0
    for start, end, kind in sorted(spans):
        out += [text[last:start], placeholder(kind)]
        last = end
        if counts is not None:
            counts[kind] += 1
    out.append(text[last:])
    return "".join(out)


# --------------------------------------------------------------------------- in a run

NamesRedactor = Callable[[list[str], Counter], list[str]]
"""Texts -> the same texts with names (and addresses) replaced by placeholders, counting them:
a trained NER run (``data.redact_ner``, :mod:`peftgov.redact_ner`). It must leave the
placeholders already in a text alone."""

_ACTIVE: contextvars.ContextVar[tuple[Counter, NamesRedactor | None] | None] = (
    contextvars.ContextVar("redact", default=None)
)

PLACEHOLDER = re.compile(r"<[A-Z_]+>")
"""Any typed placeholder (``<MOBILE>``, ``<PERSON>``): a names redactor never edits one."""


@contextlib.contextmanager
def active(counts: Counter, names: NamesRedactor | None = None) -> Iterator[Counter]:
    """While active, :func:`maybe` redacts (every data file read goes through it): the
    patterns above, then ``names`` (a NER run) if given."""
    token = _ACTIVE.set((counts, names))
    try:
        yield counts
    finally:
        _ACTIVE.reset(token)


def maybe(text: str) -> str:
    """Redact ``text`` with the patterns if a run asked for it (``data.redact``), else return
    it unchanged: a whole file's text as read, before it is parsed (the names redactor waits
    for the parsed values, :func:`maybe_values`, so it cannot break a file's syntax)."""
    state = _ACTIVE.get()
    return text if state is None else redact(text, state[0])


def maybe_values(value: Any, text_keys: Collection[str] | None = None) -> Any:
    """Every string inside a parsed value (a jsonl row, a csv row's cells, a list of texts)
    redacted with the patterns (text written with ``\\u`` escapes only shows its characters
    once parsed), then, all in one batch, by the names redactor if there is one: only the
    strings under a key in ``text_keys`` (the task's text columns, a message's ``content``;
    labels and roles are no prose), every string when ``text_keys`` is None."""
    if _ACTIVE.get() is None:
        return value
    counts, names = _ACTIVE.get()
    found: list[str] = []

    def walk(v: Any, prose: bool) -> Any:
        if isinstance(v, str):
            v = redact(v, counts)
            if prose and names is not None:
                found.append(v)
                return _Slot(len(found) - 1)  # filled in below, once the batch is done
            return v
        if isinstance(v, list):
            return [walk(x, prose) for x in v]
        if isinstance(v, dict):
            return {k: walk(x, text_keys is None or k in text_keys) for k, x in v.items()}
        return v

    marked = walk(value, text_keys is None)
    if not found:
        return marked
    done = names(found, counts)

    def fill(v: Any) -> Any:
        if isinstance(v, _Slot):
            return done[v.index]
        if isinstance(v, list):
            return [fill(x) for x in v]
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return v

    return fill(marked)


class _Slot:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index
