"""Scores for generated replies against references, offline and by hand-checkable rules.

* ``rouge_l``: ROUGE-L F1 (Lin, 2004) on word tokens: the text is lower-cased, split on
  whitespace, punctuation is stripped from both ends of each word, and empty words are dropped;
  precision and recall are LCS / len(prediction) and LCS / len(reference) (beta = 1).
* ``char_f1``: for Chinese (and Japanese / Korean) text, where words are not space-separated:
  bag-of-characters F1 like SQuAD's token F1 at character level, ignoring whitespace and
  punctuation (Unicode categories P*, which include the full-width 。，、？！ of CJK text).

:func:`generation_metrics` picks the score per example, by its language code when the data
gives one (``zh``/``ja``/``ko`` -> ``char_f1``, anything else -> ``rouge_l``) or else by whether
the reference is mostly CJK characters.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Sequence

CJK_LANGS = ("zh", "ja", "ko")


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def words(text: str) -> list[str]:
    """Lower-cased whitespace tokens with leading / trailing punctuation removed."""
    out = []
    for raw in text.lower().split():
        start, end = 0, len(raw)
        while start < end and _is_punct(raw[start]):
            start += 1
        while end > start and _is_punct(raw[end - 1]):
            end -= 1
        if start < end:
            out.append(raw[start:end])
    return out


def lcs_length(a: Sequence, b: Sequence) -> int:
    """Length of the longest common subsequence (O(len(a) * len(b)) time, O(len(b)) memory)."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def _f1(overlap: float, n_pred: int, n_ref: int) -> float:
    if n_pred == 0 or n_ref == 0:
        return float(n_pred == n_ref)  # both empty: a perfect match; one empty: nothing
    if overlap == 0:
        return 0.0
    precision, recall = overlap / n_pred, overlap / n_ref
    return 2 * precision * recall / (precision + recall)


# Not rouge-score: its tokenizer keeps only [a-z0-9] (Chinese scores as empty); it pulls nltk+absl.
def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 on word tokens (see the module docstring)."""
    p, r = words(prediction), words(reference)
    return _f1(lcs_length(p, r), len(p), len(r))


def chars(text: str) -> list[str]:
    """Characters that count for :func:`char_f1`: no whitespace, no punctuation."""
    return [c for c in text.lower() if not c.isspace() and not _is_punct(c)]


def char_f1(prediction: str, reference: str) -> float:
    """Bag-of-characters F1 (SQuAD F1 at character level), ignoring whitespace / punctuation."""
    p, r = chars(prediction), chars(reference)
    common = sum((Counter(p) & Counter(r)).values())
    return _f1(common, len(p), len(r))


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= cp <= 0x4DBF  # extension A
        or 0x20000 <= cp <= 0x2FA1F  # extensions B.. and compatibility supplement
        or 0xF900 <= cp <= 0xFAFF  # compatibility ideographs
        or 0x3040 <= cp <= 0x30FF  # hiragana, katakana
        or 0xAC00 <= cp <= 0xD7AF  # hangul syllables
    )


def is_cjk_text(text: str, threshold: float = 0.3) -> bool:
    """True when at least ``threshold`` of the text's letters are CJK characters."""
    letters = [c for c in text if c.isalnum()]
    if not letters:
        return False
    return sum(_is_cjk(c) for c in letters) / len(letters) >= threshold


def uses_char_f1(reference: str, lang: str | None = None) -> bool:
    if lang:
        return lang.lower().split("-")[0].split("_")[0] in CJK_LANGS
    return is_cjk_text(reference)


def generation_metrics(
    predictions: Sequence[str], references: Sequence[str], langs: Sequence[str | None] | None = None
) -> dict:
    """Mean ``rouge_l`` over the non-CJK examples and mean ``char_f1`` over the CJK ones
    (each only when there is such an example), their counts, and ``score``: the mean of the
    per-example scores whichever was used."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    langs = list(langs) if langs is not None else [None] * len(references)
    rouge, cf1 = [], []
    for pred, ref, lang in zip(predictions, references, langs):
        if uses_char_f1(ref, lang):
            cf1.append(char_f1(pred, ref))
        else:
            rouge.append(rouge_l(pred, ref))
    out: dict = {"n": len(references)}
    if rouge:
        out["rouge_l"] = sum(rouge) / len(rouge)
        out["n_rouge_l"] = len(rouge)
    if cf1:
        out["char_f1"] = sum(cf1) / len(cf1)
        out["n_char_f1"] = len(cf1)
    out["score"] = (sum(rouge) + sum(cf1)) / len(references) if references else 0.0
    return out
