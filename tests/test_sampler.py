"""LengthGroupedBatchSampler: each index once per epoch, length-homogeneous batches, a fresh
seeded order every epoch."""

from __future__ import annotations

import random

import pytest

from peftgov.sampling import LengthGroupedBatchSampler

# skewed: mostly short sequences, a tail of long ones, in random order
_rng = random.Random(0)
LENGTHS = [_rng.choice([3, 4, 5, 6]) for _ in range(180)]
LENGTHS += [_rng.randint(40, 120) for _ in range(23)]
_rng.shuffle(LENGTHS)


def padding(batches, lengths) -> int:
    return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)


@pytest.mark.parametrize("group", [True, False])
@pytest.mark.parametrize("batch_size, mega", [(8, 50), (7, 3), (1, 2), (300, 50)])
def test_every_index_exactly_once_per_epoch(group, batch_size, mega):
    s = LengthGroupedBatchSampler(LENGTHS, batch_size, seed=1, group_by_length=group, mega=mega)
    for _ in range(3):
        batches = list(s)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(len(LENGTHS)))
        assert len(batches) == len(s) == -(-len(LENGTHS) // batch_size)
        assert all(0 < len(b) <= batch_size for b in batches)


def test_grouping_cuts_padding_on_skewed_lengths():
    grouped = LengthGroupedBatchSampler(LENGTHS, 8, seed=1, group_by_length=True)
    plain = LengthGroupedBatchSampler(LENGTHS, 8, seed=1, group_by_length=False)
    for epoch in range(3):
        g, p = padding(grouped.batches(epoch), LENGTHS), padding(plain.batches(epoch), LENGTHS)
        assert g < p / 3, (g, p)
    # batches are homogeneous: sorted within the mega-batch, so each spans a narrow range
    spans = [max(LENGTHS[i] for i in b) - min(LENGTHS[i] for i in b) for b in grouped.batches(0)]
    assert sorted(spans)[len(spans) // 2] <= 1  # the median batch has (almost) one length


def test_epochs_differ_and_seeds_reproduce():
    a = LengthGroupedBatchSampler(LENGTHS, 8, seed=1)
    b = LengthGroupedBatchSampler(LENGTHS, 8, seed=1)
    epochs_a = [list(a) for _ in range(3)]
    epochs_b = [list(b) for _ in range(3)]
    assert epochs_a == epochs_b  # same seed, same orders
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]  # a fresh order every epoch
    assert list(LengthGroupedBatchSampler(LENGTHS, 8, seed=2)) != epochs_a[0]


def test_set_epoch_selects_the_order():
    s = LengthGroupedBatchSampler(LENGTHS, 8, seed=5)
    s.set_epoch(4)
    assert list(s) == s.batches(4)
    assert list(s) == s.batches(5)  # iterating advances the epoch


def test_batch_order_is_shuffled_not_sorted_by_length():
    s = LengthGroupedBatchSampler(LENGTHS, 8, seed=1)
    maxima = [max(LENGTHS[i] for i in b) for b in s.batches(0)]
    assert maxima != sorted(maxima) and maxima != sorted(maxima, reverse=True)
