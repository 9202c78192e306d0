"""The benchmarks command line's words (argparse) and its ``peak`` command; the entry point
that dispatches them is :func:`peftgov.bench.runner.main` (``python -m benchmarks``,
``peftgov bench``):

    python -m benchmarks run benchmarks/suites/banking77.yaml [--only lora,full] [--jobs 2]
    python -m benchmarks report benchmarks/suites/banking77.yaml   # or a results folder
    python -m benchmarks peak --threads 1,2 --out benchmarks/results/peak_flops.json
    python -m benchmarks scaling [--methods lora ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def measure_peaks(threads: str | None, out: str | None) -> int:
    """``peak``: this machine's matmul peak FLOP/s per dtype, per thread count (for MFU)."""
    import torch

    from peftgov import perf

    counts = [int(x) for x in threads.split(",")] if threads else [torch.get_num_threads()]
    table = json.loads(Path(out).read_text()) if out and Path(out).is_file() else {}
    for n in counts:
        torch.set_num_threads(n)
        key, peak, _ = perf.measured_peak(refresh=True)
        table[key] = peak
        print(f"{key}: {perf.describe_peak(peak)}")
    print(f"saved to {perf.peak_cache()}")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(table, indent=2) + "\n")
        print(f"written: {out}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run benchmark suites and write their reports."
    )
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train every unfinished run of a suite, then write the report")
    r.add_argument("suite", help="suite YAML (benchmarks/suites/*.yaml)")
    r.add_argument("--only", help="comma-separated method labels to run (e.g. lora,full)")
    r.add_argument("--seeds", help="comma-separated seeds to run (default: the suite's)")
    r.add_argument("--dry-run", action="store_true", help="show the runs and commands only")
    r.add_argument("--force", action="store_true",
                   help="re-run finished runs too (every selected one: with --only, a swept "
                        "method's sweep points as well; to train one finished run again, move "
                        "its result JSON aside instead)")
    r.add_argument("--launch", metavar="ACCELERATE_CONFIG",
                   help="run each through `accelerate launch --config_file ACCELERATE_CONFIG`")
    r.add_argument("--timeout", type=float, help="seconds before a run is stopped as failed")
    r.add_argument("--runs-dir", help="results folder (default: the suite's runs_dir)")
    r.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="train up to N runs at once, each pinned to its own 1/N of this "
                        "process's CPUs with OMP_NUM_THREADS set to that share (default 1; "
                        "each run needs its own memory)")
    r.add_argument("--no-report", action="store_true", help="do not write the report after")
    sub.add_parser("scaling", help="step time vs sequence length and batch size (see --help)")
    pk = sub.add_parser(
        "peak", help="measure this machine's matmul peak FLOP/s (per dtype) for MFU figures"
    )
    pk.add_argument("--threads", help="comma-separated CPU thread counts (default: torch's)")
    pk.add_argument("--out", help="also append the figures to this JSON file")
    rep = sub.add_parser("report", help="write REPORT.md, report.csv and plots from results")
    rep.add_argument("suite", help="suite YAML, or a results folder")
    rep.add_argument("--runs-dir", help="results folder (default: the suite's runs_dir)")
    return p
