"""Peak memory per phase: each phase reports what was resident at its own high point (not an
earlier phase's), a nested phase pauses the outer one, the process peak survives the resets,
and a training run writes ``memory_mb`` for load / train / eval / save into metrics.json."""

from __future__ import annotations

import sys

import pytest

import peftgov
from peftgov.memory import PhasePeaks

MB = 2**20

pytestmark = pytest.mark.skipif(
    not PhasePeaks().enabled, reason="the peak counter cannot be reset here (not Linux?)"
)


def touch(n_mb: int) -> bytearray:
    """``n_mb`` MB made resident (every page written)."""
    block = bytearray(n_mb * MB)
    block[::4096] = b"\1" * len(range(0, len(block), 4096))
    return block


@pytest.mark.skipif(sys.platform != "linux", reason="resident-set counter is Linux's")
def test_each_phase_keeps_its_own_peak_and_the_process_keeps_the_largest():
    memory = PhasePeaks()
    with memory.phase("big"):
        block = touch(200)
        del block  # a 200 MB block is mmapped: freeing it returns it to the system
    with memory.phase("small"):
        block = touch(20)
        del block
    with memory.phase("outer"):
        block = touch(40)
        del block
        with memory.phase("inner"):
            block = touch(150)
            del block
    peaks = memory.report()
    assert set(peaks) == {"big", "small", "outer", "inner"}
    # Without the reset, "small" (and "outer") would report big's high point.
    assert peaks["big"] - peaks["small"] > 150
    assert peaks["inner"] - peaks["outer"] > 80  # the inner phase's block is not the outer's
    assert peaks["outer"] > peaks["small"] + 10
    assert memory.process_peak_mb() >= peaks["big"]


@pytest.mark.skipif(sys.platform != "linux", reason="resident-set counter is Linux's")
def test_a_phase_entered_again_keeps_its_largest_peak():
    memory = PhasePeaks()
    for n in (120, 10):
        with memory.phase("eval"):
            block = touch(n)
            del block
        with memory.phase("train"):
            pass
    assert memory.report()["eval"] - memory.report()["train"] > 80


def test_a_run_reports_its_phases(make_recipe, tmp_path):
    m = peftgov.train(peftgov.load_recipe(make_recipe(tmp_path)), progress=False).metrics
    assert list(m["memory_mb"]) == ["load", "train", "eval", "save"]
    assert all(v > 0 for v in m["memory_mb"].values())
    # the process peak is the largest of every interval, phases included
    assert m["peak_memory_mb"] >= max(m["memory_mb"].values())


def test_a_run_freezes_the_built_heap_and_still_collects_what_it_makes(make_recipe, tmp_path,
                                                                      monkeypatch):
    """``frozen_heap``: while a run trains, everything alive at its start (libraries, backbone,
    data) is out of the collector's reach, so the collection at each phase edge walks only new
    objects; a cycle made during the run is still freed there, and the heap is handed back
    (nothing frozen) when the run ends, even when it fails."""
    import gc
    import weakref

    from peftgov import loop, memory

    seen = []  # (objects frozen, the cycle made during the run still alive?) at each release
    made = {}

    class Node:
        pass

    def release():
        seen.append((gc.get_freeze_count(), made.get("ref", lambda: None)() is not None))
        real_release()

    real_release = memory.release_free_memory
    monkeypatch.setattr(memory, "release_free_memory", release)
    real_train = loop.train

    def train(s):
        cycle = Node()
        cycle.self = cycle  # garbage only a collection frees
        made["ref"] = weakref.ref(cycle)
        del cycle
        real_train(s)

    monkeypatch.setattr(loop, "train", train)
    peftgov.train(peftgov.load_recipe(make_recipe(tmp_path)), progress=False)
    assert gc.get_freeze_count() == 0
    frozen = [n for n, _ in seen if n]
    assert frozen and min(frozen) > 10_000  # the built run: torch, transformers, the model
    assert made["ref"]() is None  # freed by a phase-edge collection during the run
    assert seen[-1][1] is False

    def broken(s):
        raise RuntimeError("boom")

    monkeypatch.setattr(loop, "train", broken)
    with pytest.raises(RuntimeError, match="boom"):
        peftgov.train(peftgov.load_recipe(make_recipe(tmp_path / "b")), progress=False)
    assert gc.get_freeze_count() == 0
