"""classification_metrics against figures worked out by hand."""

from __future__ import annotations

import pytest

from peftgov.metrics import classification_metrics

# refs  = [a, a, a, b, b, c]      (ids 0 0 0 1 1 2)
# preds = [a, a, b, b, c, c]      (ids 0 0 1 1 2 2)
# correct at positions 0, 1, 3, 5  -> accuracy 4/6
#
# label a: TP 2, FP 0, FN 1 -> P 1,   R 2/3 -> F1 2*(2/3)/(5/3)   = 0.8
# label b: TP 1, FP 1, FN 1 -> P 1/2, R 1/2 -> F1                 = 0.5
# label c: TP 1, FP 1, FN 0 -> P 1/2, R 1   -> F1 2*(1/2)/(3/2)   = 2/3
# macro F1    = (0.8 + 0.5 + 2/3) / 3                = 0.655556
# weighted F1 = (3*0.8 + 2*0.5 + 1*2/3) / 6 (support) = 0.677778
REFS = [0, 0, 0, 1, 1, 2]
PREDS = [0, 0, 1, 1, 2, 2]


def test_hand_computed_example():
    m = classification_metrics(PREDS, REFS, labels=["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["weighted_f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 2 / 3) / 6)
    assert m["n"] == 6
    assert m["per_label_f1"] == {"a": 0.8, "b": 0.5, "c": pytest.approx(0.6667)}


def test_a_train_label_absent_from_this_split_counts_as_zero_in_macro_f1():
    # label d (id 3) exists in train but neither in refs nor preds: macro over 4 labels
    m = classification_metrics(PREDS, REFS, labels=["a", "b", "c", "d"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 4)
    assert m["per_label_f1"]["d"] == 0.0


def test_without_label_names_uses_the_ids_seen():
    m = classification_metrics(PREDS, REFS)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert "per_label_f1" not in m


def test_perfect_and_all_wrong():
    assert classification_metrics([1, 0, 1], [1, 0, 1])["accuracy"] == 1.0
    assert classification_metrics([1, 0, 1], [1, 0, 1])["macro_f1"] == 1.0
    wrong = classification_metrics([1, 1, 0], [0, 0, 1], labels=["x", "y"])
    assert wrong["accuracy"] == 0.0 and wrong["macro_f1"] == 0.0


def test_empty_and_mismatched():
    assert classification_metrics([], [])["accuracy"] == 0.0
    with pytest.raises(ValueError, match="2 predictions for 3 references"):
        classification_metrics([0, 1], [0, 1, 1])
