"""Accuracy and macro-F1 for single-label classification (scikit-learn underneath)."""

from __future__ import annotations

from typing import Sequence


def classification_metrics(
    preds: Sequence[int], refs: Sequence[int], *, labels: Sequence[str] | None = None
) -> dict:
    """``accuracy``, ``macro_f1`` (over every label in train, absent ones scoring 0),
    ``weighted_f1`` and a per-label F1 table when ``labels`` are given."""
    from sklearn.metrics import accuracy_score, f1_score

    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions for {len(refs)} references")
    if not refs:
        return {"accuracy": 0.0, "macro_f1": 0.0, "weighted_f1": 0.0, "n": 0}
    ids = list(range(len(labels))) if labels is not None else sorted(set(refs) | set(preds))
    out = {
        "accuracy": float(accuracy_score(refs, preds)),
        "macro_f1": float(f1_score(refs, preds, labels=ids, average="macro", zero_division=0)),
        "weighted_f1": float(
            f1_score(refs, preds, labels=ids, average="weighted", zero_division=0)
        ),
        "n": len(refs),
    }
    if labels is not None:
        per = f1_score(refs, preds, labels=ids, average=None, zero_division=0)
        out["per_label_f1"] = {labels[i]: round(float(f), 4) for i, f in zip(ids, per)}
    return out
