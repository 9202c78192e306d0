"""What the machine offers: CPU or GPU, native bf16 on the CPU, peak memory."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import torch


def use_cpu() -> bool:
    """Run on the CPU when there is no GPU or ACCELERATE_USE_CPU is set. Accelerate only
    forms a multi-process CPU group (gloo, e.g. under torchrun) when told ``cpu=True``."""
    flag = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    return flag or not torch.cuda.is_available()


def cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX: only there is CPU bf16 autocast faster than fp32 (on AVX2-only
    CPUs it is emulated and several times slower)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def memory_kind() -> str:
    """What :func:`peak_memory_mb` measures now: ``cuda`` (allocated) or ``cpu`` (resident)."""
    return "cuda" if torch.cuda.is_available() and torch.cuda.is_initialized() else "cpu"


def peak_memory_mb() -> float:
    """Peak GPU memory allocated if on CUDA, else the process's peak resident set size, since
    the process started or the last :func:`reset_peak_memory`."""
    if memory_kind() == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def reset_peak_memory() -> bool:
    """Restart :func:`peak_memory_mb` from the memory in use now; False where it cannot be.
    On the CPU this resets the kernel's resident high-water mark (Linux ``clear_refs``; the
    ``ru_maxrss`` getrusage reports is that mark)."""
    if memory_kind() == "cuda":
        torch.cuda.reset_peak_memory_stats()
        return True
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


_IMPORTED = time.monotonic()


def process_seconds() -> float:
    """Wall-clock seconds since this process started (Linux: from /proc, so interpreter start
    and imports count, as in time-to-accuracy); elsewhere since peftgov was imported."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # starttime: field 22
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - started)
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


def process_cpu_seconds() -> float:
    """CPU seconds (user + system, all threads) this process has used since it started: the
    time-to-accuracy clock that another job on the same cores does not inflate, as the wall
    clock is. With one compute thread it is close to the wall clock on an idle machine; with N
    it can reach N times it. Child processes are not counted (peftgov's data loading has none)."""
    return time.process_time()
