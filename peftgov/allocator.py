"""glibc's allocator under a training run: the mmap threshold, trimming, and what metrics.json
says about them.

glibc raises its mmap threshold each time a large block is freed (up to 32 MB), after which
activation-sized tensors are carved from the heap, fragment it, and stay resident after they
are freed (a LoRA step on MiniLM-L6 left ~850 MB more resident than with a fixed threshold; see
benchmarks/results/memory/). :func:`fixed_mmap_threshold` pins the threshold, so every block
above it is mapped on its own and returned to the system when freed. Where it is pinned trades
speed for memory: each mapped block is a fresh mapping whose pages the kernel faults in and
zeroes on first touch. At glibc's starting value (128 KiB) a banking77 LoRA step on MiniLM-L6
spent 0.32 s of its ~0.8 s in the kernel; at 1 MiB (the pin) 0.07 s, for a train-phase peak
17% higher (1,399 vs 1,191 MB); at 4 MiB 0.02 s but +54%. ``MALLOC_MMAP_THRESHOLD_=131072`` in
the environment gives the leaner, slower setting (a user's own value always wins).

Transparent huge pages for those mappings (``GLIBC_TUNABLES=glibc.malloc.hugetlb=1``, set
before Python starts) did not pay on that step: 0.409 and 0.411 CPU s per step against 0.396
and 0.358 without (benchmarks/results/memory/allocator/sixth_pass.txt); most of its blocks are
1-2 MiB, below a huge page. peftgov leaves them to the user; metrics.json records the choice.
"""

from __future__ import annotations

import ctypes
import os

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD = 1024 * 1024  # larger blocks are mapped on their own (see above for why 1 MiB)
HUGEPAGE_TUNABLE = "glibc.malloc.hugetlb=1"  # the user's, if set: recorded, not set by us
_pinned = False  # whether fixed_mmap_threshold pinned it in this process


def fixed_mmap_threshold() -> bool:
    """Pin glibc's mmap threshold (disabling its growth on free) unless the user chose one with
    ``MALLOC_MMAP_THRESHOLD_``; False where it was not set (not glibc, or the user's choice)."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    mallopt = _libc("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    global _pinned
    _pinned = _pinned or bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return _pinned


def malloc_trim() -> None:
    """Give glibc's free heap pages back to the system (nothing where there is no glibc)."""
    trim = _libc("malloc_trim")
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim(0)


def allocator_settings() -> dict[str, object]:
    """What this process's allocator runs with, for metrics.json: the mmap threshold in bytes
    (``None``: glibc's own, growing one) and whether the environment asked glibc for
    transparent huge pages."""
    threshold: int | None = MMAP_THRESHOLD if _pinned else None
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        try:
            threshold = int(os.environ["MALLOC_MMAP_THRESHOLD_"])
        except ValueError:
            threshold = None
    return {
        "mmap_threshold": threshold,
        "huge_pages": HUGEPAGE_TUNABLE in os.environ.get("GLIBC_TUNABLES", ""),
    }


def _libc(name: str):
    """A glibc function of this process, or None (musl, macOS, Windows)."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
