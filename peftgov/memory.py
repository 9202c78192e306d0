"""Peak memory per phase of a run (load, train, eval, save), beside the whole process's peak.

The process peak mixes everything a run does: loading the backbone, tokenising, every
evaluation, saving. What a method costs to *train* is the peak while it trains, so
:class:`PhasePeaks` resets the peak counter as a phase starts and reads it as the phase ends:
on CUDA torch's ``max_memory_allocated``; on the CPU the kernel's resident high-water mark
(VmHWM), reset by writing ``5`` to ``/proc/self/clear_refs`` (Linux). A CPU phase peak is the
whole resident set at its highest during the phase (the model, the data and the allocator's
free lists included), not what the phase alone added. A phase entered again (every
evaluation) keeps its largest peak; a phase entered inside another (a validation during
training) pauses the outer one. Where the counter cannot be reset, phases are not reported.

On the CPU the allocator matters as much as the model: see :mod:`peftgov.allocator`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator

from .allocator import malloc_trim
from .hardware import memory_kind, peak_memory_mb, reset_peak_memory

PHASES = ("load", "train", "eval", "save")
"""The phases a training run reports, in the order they first happen."""


class PhasePeaks:
    """Peak memory (MB) per phase, and the process peak across every reset. A run that moves
    to a GPU part-way (while loading) reports GPU figures only, as :func:`peak_memory_mb`."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self._stack: list[str] = []
        self._kind = memory_kind()
        self._process = peak_memory_mb()  # what the process reached before the first reset
        self.enabled = reset_peak_memory()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Attribute the peak reached inside the ``with`` block to ``name``."""
        self._close_interval()
        self._stack.append(name)
        try:
            yield
        finally:
            self._close_interval()
            self._stack.pop()

    def _read(self) -> float:
        """The counter now; on the first GPU reading, the CPU figures so far are dropped."""
        kind = memory_kind()
        if kind != self._kind:
            self._kind, self._process, self.peaks = kind, 0.0, {}
        peak = peak_memory_mb()
        self._process = max(self._process, peak)
        return peak

    def _close_interval(self) -> None:
        """Credit the peak since the last reset to the phase running now, release what the
        allocator holds free, and reset the counter for the next interval."""
        peak = self._read()
        if self._stack and self.enabled:
            name = self._stack[-1]
            self.peaks[name] = max(self.peaks.get(name, 0.0), peak)
        release_free_memory()
        if self.enabled:
            reset_peak_memory()

    def process_peak_mb(self) -> float:
        """The whole process's peak so far (a reset hides it from the counter, not from us)."""
        return max(self._process, self._read())

    def report(self) -> dict[str, float] | None:
        """``{phase: peak MB}`` for the phases that ran; ``None`` when the counter cannot be
        reset here."""
        if not self.enabled:
            return None
        order = [p for p in PHASES if p in self.peaks] + [p for p in self.peaks if p not in PHASES]
        return {p: self.peaks[p] for p in order}


def release_free_memory() -> None:
    """Hand memory freed by the last phase back before the next one starts: Python's garbage,
    torch's cached CUDA blocks, and glibc's free heap pages (``malloc_trim``; without it the
    CPU resident set keeps the high-water of whatever ran before)."""
    gc.collect()
    if memory_kind() == "cuda":
        import torch

        torch.cuda.empty_cache()
    malloc_trim()


@contextlib.contextmanager
def frozen_heap() -> Iterator[Callable[[], None]]:
    """Leave every object alive now out of garbage collection for the block (``gc.freeze``),
    then hand them back (``gc.unfreeze``); the block gets a function that freezes what is alive
    at its call too. A built run holds ~540k tracked objects (libraries, backbone, tokenised
    data), and each full collection walked them all, 0.6 s on a shared core, four times per
    validation (:func:`release_free_memory` at every phase edge) and several times while the
    run was built; frozen, a collection walks only what was made since. A Python caller's own
    objects are collected as before once the block ends."""
    gc.freeze()
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()
