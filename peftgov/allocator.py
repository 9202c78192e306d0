"""glibc's allocator under a training run: the mmap threshold, trimming, transparent huge pages.

Standard library only: :func:`run_again_with_huge_pages` runs from ``peftgov/__init__.py``
before torch is imported.

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

Most of that kernel time is page faults, one per 4 KiB page of each fresh mapping. Under
``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (glibc >= 2.35) glibc asks for transparent huge pages
on its large blocks, and one fault maps 2 MiB. glibc reads its tunables only as a process
starts, so the ``peftgov train`` command runs itself again under them, as its first step
(:func:`run_again_with_huge_pages`; ``PEFTGOV_HUGEPAGES=0`` leaves a process as it is). A Python
caller of :func:`peftgov.train` sets ``GLIBC_TUNABLES`` before starting Python to get the same.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from collections.abc import Mapping
from pathlib import Path

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD = 1024 * 1024  # larger blocks are mapped on their own (see above for why 1 MiB)
HUGEPAGE_TUNABLE = "glibc.malloc.hugetlb=1"
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")
OPT_OUT = "PEFTGOV_HUGEPAGES"  # "0": run as started


def fixed_mmap_threshold() -> bool:
    """Pin glibc's mmap threshold (disabling its growth on free) unless the user chose one with
    ``MALLOC_MMAP_THRESHOLD_``; False where it was not set (not glibc, or the user's choice)."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    mallopt = _libc("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def malloc_trim() -> None:
    """Give glibc's free heap pages back to the system (nothing where there is no glibc)."""
    trim = _libc("malloc_trim")
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim(0)


def hugepage_environment(
    environ: Mapping[str, str] | None = None,
    *,
    thp: str | None = None,
    libc: tuple[str, str] | None = None,
) -> dict[str, str] | None:
    """``environ`` (default: this process's) with ``glibc.malloc.hugetlb=1`` added to
    ``GLIBC_TUNABLES``; ``None`` where a process should run as it is: not Linux with glibc >=
    2.35 (``libc``: ``platform.libc_ver()`` when not given), transparent huge pages off
    (``thp``: the kernel's setting, read when not given), a ``glibc.malloc.hugetlb`` choice
    already there (the user's, or this function's in a process it started), or
    ``PEFTGOV_HUGEPAGES=0``."""
    env = dict(os.environ if environ is None else environ)
    tunables = env.get("GLIBC_TUNABLES", "")
    if env.get(OPT_OUT) == "0" or "glibc.malloc.hugetlb" in tunables:
        return None
    name, version = libc if libc is not None else platform.libc_ver()
    if not sys.platform.startswith("linux") or name != "glibc" or _version(version) < (2, 35):
        return None
    if thp is None:
        try:
            thp = THP_SETTING.read_text()
        except OSError:
            return None
    if "[always]" not in thp and "[madvise]" not in thp:
        return None
    env["GLIBC_TUNABLES"] = f"{tunables}:{HUGEPAGE_TUNABLE}" if tunables else HUGEPAGE_TUNABLE
    return env


def is_train_command(argv: list[str], orig_argv: list[str]) -> bool:
    """Whether this process is ``peftgov train`` (``python -m peftgov train ...``, the
    ``peftgov`` script, or either under ``accelerate launch`` / ``torchrun``), judged from
    ``sys.argv`` while the package is imported and ``sys.orig_argv``: never a program that
    merely imports peftgov."""
    if not argv:
        return False
    as_module = argv[0] == "-m" and any(
        a == "-m" and b == "peftgov" for a, b in zip(orig_argv, orig_argv[1:])
    )
    as_script = Path(argv[0]).name == "peftgov"
    words = [a for a in argv[1:] if not a.startswith("-")]
    return (as_module or as_script) and words[:1] == ["train"]


def run_again_with_huge_pages() -> None:
    """Replace this process, when it is ``peftgov train``, by the same command under
    :func:`hugepage_environment` (same process id, nothing done yet); otherwise return."""
    if not is_train_command(sys.argv, getattr(sys, "orig_argv", [])):
        return
    env = hugepage_environment()
    if env is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def allocator_settings() -> dict[str, object]:
    """What this process's allocator runs with, for metrics.json: the mmap threshold in bytes
    (``None``: glibc's own, growing one) and whether glibc was asked for transparent huge
    pages."""
    threshold: int | None = MMAP_THRESHOLD if _libc("mallopt") is not None else None
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        try:
            threshold = int(os.environ["MALLOC_MMAP_THRESHOLD_"])
        except ValueError:
            threshold = None
    return {
        "mmap_threshold": threshold,
        "huge_pages": HUGEPAGE_TUNABLE in os.environ.get("GLIBC_TUNABLES", ""),
    }


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(".")[:2])
    except ValueError:
        return (0,)


def _libc(name: str):
    """A glibc function of this process, or None (musl, macOS, Windows)."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
