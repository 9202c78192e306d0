"""glibc's allocator under a run (peftgov/allocator.py): metrics.json records the mmap
threshold the run had (peftgov's 1 MiB pin, or the user's ``MALLOC_MMAP_THRESHOLD_``) and
whether the environment asked glibc for transparent huge pages."""

from __future__ import annotations

import json
import sys

import pytest

import peftgov
from peftgov import allocator
from peftgov.allocator import MMAP_THRESHOLD, allocator_settings

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc on Linux")


@glibc
def test_the_settings_follow_the_environment(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.setattr(allocator, "_pinned", False)
    assert allocator_settings() == {"mmap_threshold": None, "huge_pages": False}  # glibc's own
    assert allocator.fixed_mmap_threshold()
    assert allocator_settings() == {"mmap_threshold": MMAP_THRESHOLD, "huge_pages": False}
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1")
    assert allocator_settings() == {"mmap_threshold": 131072, "huge_pages": True}
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "lots")
    assert allocator_settings() == {"mmap_threshold": None, "huge_pages": False}


@glibc
def test_a_run_records_its_allocator(make_recipe, tmp_path, monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    recipe = peftgov.load_recipe(make_recipe(tmp_path, **{"train.max_steps": 1}))
    run_dir = peftgov.train(recipe, progress=False).run_dir
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["allocator"] == {"mmap_threshold": MMAP_THRESHOLD, "huge_pages": False}

