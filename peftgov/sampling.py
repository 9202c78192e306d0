"""Length-grouped batching: fewer padding tokens, still a fresh random order every epoch; and
:func:`even_split`, a list cut into near-equal groups (continual tasks, benchmark lanes).

Examples are shuffled, cut into mega-batches of ``mega`` batches, each mega-batch is sorted by
length and cut into batches, and the batches are shuffled. Every example appears exactly once
per epoch. The epoch counter advances on each ``__iter__`` so every process, iterating the same
number of times, draws the same order (Accelerate then gives each process its share).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from torch.utils.data import Sampler


class LengthGroupedBatchSampler(Sampler[list[int]]):
    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        seed: int,
        group_by_length: bool = True,
        mega: int = 50,
    ) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group_by_length = group_by_length
        self.mega = mega
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self, epoch: int) -> list[list[int]]:
        rng = random.Random(self.seed * 1_000_003 + epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        if not self.group_by_length:
            return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        span = self.batch_size * self.mega
        batches: list[list[int]] = []
        for start in range(0, len(order), span):
            chunk = sorted(order[start : start + span], key=lambda i: -self.lengths[i])
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        rng.shuffle(batches)
        # The one short batch goes last: Accelerate's batch sharding (multi-process) assumes
        # only the final batch can be short and would drop a short batch met earlier.
        batches.sort(key=lambda b: len(b) < self.batch_size)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches(self.epoch)
        self.epoch += 1
        yield from batches

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size


def even_split(items: Sequence, n: int) -> list[list]:
    """``items`` cut in order into ``n`` consecutive groups of nearly equal size (the first
    ``len(items) % n`` one larger)."""
    size, extra = divmod(len(items), n)
    groups, start = [], 0
    for i in range(n):
        end = start + size + (i < extra)
        groups.append(list(items[start:end]))
        start = end
    return groups
