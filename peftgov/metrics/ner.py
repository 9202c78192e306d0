"""Named-entity metrics on word-level BIO tags.

Two views, both returned:

* **Entity level** (the honest NER figure): seqeval in strict IOB2 mode, so an entity counts
  only when its type and exact span match, and an ``I-`` without its ``B-`` is no entity.
  ``precision`` / ``recall`` / ``f1`` are micro-averaged over entities; ``per_type`` has
  precision, recall, f1 and support (gold entities) per type.
* **Token level** (the seed report's table): scikit-learn precision / recall / f1 / support per
  tag *including* ``O``, plus ``micro avg``, ``macro avg`` and ``weighted avg`` rows, over tags
  present in the references or predictions. Because ``O`` dominates, its micro-F1
  (``token_micro_f1``, equal to word ``accuracy``) is far higher than entity F1.
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

ROUND = 6


def _f(x) -> float:
    x = float(x)
    return 0.0 if math.isnan(x) else x


def _row(p, r, f, s) -> dict:
    return {
        "precision": round(_f(p), ROUND),
        "recall": round(_f(r), ROUND),
        "f1": round(_f(f), ROUND),
        "support": int(s),
    }


def entity_metrics(refs: Sequence[Sequence[str]], preds: Sequence[Sequence[str]]) -> dict:
    """Strict IOB2 entity precision / recall / f1 (micro), macro f1 and a per-type table."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    refs, preds = [list(s) for s in refs], [list(s) for s in preds]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty slices when there are no entities at all
        report = classification_report(
            refs, preds, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
        )
    averages = ("micro avg", "macro avg", "weighted avg")
    per_type = {
        name: _row(v["precision"], v["recall"], v["f1-score"], v["support"])
        for name, v in sorted(report.items())
        if name not in averages
    }
    micro = report["micro avg"]
    macro = report["macro avg"]
    from seqeval.scheme import Entities

    n_pred = sum(len(s) for s in Entities(preds, IOB2).entities)
    return {
        "precision": _f(micro["precision"]),
        "recall": _f(micro["recall"]),
        "f1": _f(micro["f1-score"]),
        "entity_macro_f1": _f(macro["f1-score"]) if per_type else 0.0,
        "gold_entities": int(micro["support"]),
        "predicted_entities": int(n_pred),
        "per_type": per_type,
    }


def token_report(
    refs: Sequence[Sequence[str]],
    preds: Sequence[Sequence[str]],
    labels: Sequence[str] | None = None,
) -> dict:
    """Per-tag precision / recall / f1 / support (``O`` included) and the three average rows,
    over words. ``labels`` fixes the row order (tags absent from both sides are left out)."""
    from sklearn.metrics import precision_recall_fscore_support

    y_true = [t for s in refs for t in s]
    y_pred = [t for s in preds for t in s]
    present = set(y_true) | set(y_pred)
    order = [t for t in (labels or []) if t in present]
    order += sorted(present - set(order), key=lambda t: (t != "O", t))
    if not y_true:
        return {}
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=order, average=None, zero_division=0
    )
    out = {tag: _row(*vals) for tag, *vals in zip(order, p, r, f, s)}
    for name, avg in (("micro avg", "micro"), ("macro avg", "macro"), ("weighted avg", "weighted")):
        ap, ar, af, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=order, average=avg, zero_division=0
        )
        out[name] = _row(ap, ar, af, len(y_true))
    return out


def ner_metrics(
    refs: Sequence[Sequence[str]],
    preds: Sequence[Sequence[str]],
    *,
    labels: Sequence[str] | None = None,
) -> dict:
    """Everything for one evaluation, JSON-serialisable.

    ``refs`` and ``preds`` are word-level tag sequences, one list per sentence, aligned word
    for word. Keys: ``f1`` / ``precision`` / ``recall`` (entity level, strict IOB2),
    ``entity_macro_f1``, ``accuracy`` (word level), ``token_micro_f1``, ``token_macro_f1``,
    ``per_type``, ``token_report``, and counts (``n`` sentences, ``words``, entities).
    """
    if len(refs) != len(preds):
        raise ValueError(f"{len(preds)} predicted sentences for {len(refs)} references")
    for i, (r, p) in enumerate(zip(refs, preds)):
        if len(r) != len(p):
            raise ValueError(f"sentence {i}: {len(p)} predicted tags for {len(r)} words")
    words = sum(len(r) for r in refs)
    if not words:
        return {
            "f1": 0.0, "precision": 0.0, "recall": 0.0, "entity_macro_f1": 0.0,
            "accuracy": 0.0, "token_micro_f1": 0.0, "token_macro_f1": 0.0,
            "gold_entities": 0, "predicted_entities": 0, "n": len(refs), "words": 0,
            "per_type": {}, "token_report": {},
        }
    out = entity_metrics(refs, preds)
    correct = sum(a == b for r, p in zip(refs, preds) for a, b in zip(r, p))
    report = token_report(refs, preds, labels)
    out.update(
        accuracy=correct / words,
        token_micro_f1=report["micro avg"]["f1"],
        token_macro_f1=report["macro avg"]["f1"],
        n=len(refs),
        words=words,
        token_report=report,
    )
    return out
