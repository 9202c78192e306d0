"""Compute accounting: the FLOPs a training step really performs, and the machine's measured
matrix-multiply peak, so a run can report its model FLOPs utilisation (MFU).

* ``train_flops_per_token`` counts, with ``torch.utils.flop_counter``, the FLOPs of one real
  forward + backward pass of the method's model (frozen weights get no weight-gradient FLOPs,
  prompt tokens and adapters are included), per padded position. A run's useful FLOPs are that
  times its real (non-padding) training tokens, so padding is not counted as useful work.
* ``measure_peak`` times large square matmuls per dtype on this device at this thread count;
  ``peftgov bench peak`` stores the result in the cache, where every later run finds it.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

PRECISION_DTYPE = {"no": "fp32", "bf16": "bf16", "fp16": "fp16"}


def train_flops_per_token(model: torch.nn.Module, batch: dict[str, torch.Tensor], autocast: Any,
                          *, loss: Any = None) -> float | None:
    """FLOPs of one forward + backward of ``model`` on ``batch``, per position of the batch.
    ``loss(model, batch)`` gives the loss (default: the model's own, ``model(**batch).loss``).

    Runs with the random state forked (dropout must not shift the run's stream) and leaves no
    gradients behind. ``None`` when the count fails (an op the counter does not know).
    """
    from torch.utils.flop_counter import FlopCounterMode

    devices = [batch["input_ids"].device] if batch["input_ids"].device.type == "cuda" else []
    counter = FlopCounterMode(display=False)
    try:
        with torch.random.fork_rng(devices=devices), counter, autocast:
            (loss(model, batch) if loss else model(**batch).loss).backward()
    except Exception:  # noqa: BLE001 - accounting must never break a training run
        return None
    finally:
        model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / max(batch["input_ids"].numel(), 1)


def device_key(device: torch.device | str | None = None) -> str:
    """What a peak figure belongs to: the device (GPU name or CPU model) and, on CPU, the
    number of threads torch uses."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{_cpu_model()}:threads={torch.get_num_threads()}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure_peak(device: torch.device | str | None = None, *, size: int | None = None,
                 seconds: float = 1.0) -> dict[str, float]:
    """Matmul throughput (FLOP/s) per dtype: the fastest of repeated square products over about
    ``seconds`` each. The matrix grows from 256 until one product takes 50 ms (or reaches
    ``size``), so an emulated dtype (bf16 on a CPU without AVX-512 BF16 / AMX) is measured in
    a second rather than minutes. fp16 only on GPU (CPU fp16 matmul is not a training path)."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cap = size or (8192 if device.type == "cuda" else 1536)
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    if device.type == "cuda":
        dtypes["fp16"] = torch.float16
    out = {}
    for name, dtype in dtypes.items():
        n = min(256, cap)
        while True:
            a = torch.randn(n, n, device=device).to(dtype)
            b = torch.randn(n, n, device=device).to(dtype)
            took = _time_mm(a, b, device)
            if took >= 0.05 or n >= cap:
                break
            n = min(cap, n * 2)
        best, spent = took, took
        for _ in range(1000):
            if spent > seconds:
                break
            took = _time_mm(a, b, device)
            best, spent = min(best, took), spent + took
        out[name] = 2 * n**3 / best
    return out


def _time_mm(a: torch.Tensor, b: torch.Tensor, device: torch.device) -> float:
    _sync(device)
    tick = time.perf_counter()
    torch.mm(a, b)
    _sync(device)
    return time.perf_counter() - tick


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_cache() -> Path:
    from .backbones import cache_dir

    return cache_dir() / "peak_flops.json"


def save_peak(key: str, peak: dict[str, float]) -> Path:
    path = peak_cache()
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _read(path)
    table[key] = {**peak, "measured": time.strftime("%Y-%m-%dT%H:%M:%S")}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(table, indent=2) + "\n")
    tmp.replace(path)
    return path


def load_peak(key: str) -> dict[str, float] | None:
    entry = _read(peak_cache()).get(key)
    return {k: v for k, v in entry.items() if isinstance(v, float)} if entry else None


def measured_peak(*, refresh: bool = False) -> tuple[str, dict[str, float], bool]:
    """This machine's peak at the current thread count: ``(key, peak, measured_now)``, from the
    cache, or measured (and cached) when missing or when ``refresh``."""
    key = device_key()
    peak = None if refresh else load_peak(key)
    if peak is not None:
        return key, peak, False
    peak = measure_peak()
    save_peak(key, peak)
    return key, peak, True


def describe_peak(peak: dict[str, float]) -> str:
    return ", ".join(f"{k} {v / 1e9:.1f} GFLOP/s" for k, v in peak.items())


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def mfu_fields(flops: float | None, train_time: float, precision: str, key: str) -> dict[str, Any]:
    """The ``metrics.json`` entries: useful FLOPs, FLOP/s, and MFU against the measured peak of
    the precision the run computed in (``None`` when no peak was measured on this machine)."""
    if flops is None or not train_time:
        return {"train_flops": None, "train_flops_per_s": None, "mfu": None}
    per_s = flops / train_time
    peak = load_peak(key) or {}
    dtype = PRECISION_DTYPE.get(precision, "fp32")
    fields: dict[str, Any] = {
        "train_flops": flops,
        "train_flops_per_s": per_s,
        "peak_flops": {"device": key, "dtype": dtype, **peak} if peak else None,
        "mfu": per_s / peak[dtype] if dtype in peak else None,
    }
    if "bf16" in peak:
        fields["mfu_vs_bf16_peak"] = per_s / peak["bf16"]
    return fields
