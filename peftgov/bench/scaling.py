"""Step time against sequence length and batch size, per method: does cost follow real tokens?

    python -m benchmarks scaling                       # full, lora, bitfit on MiniLM-L6
    python -m benchmarks scaling --methods lora --lengths 32,128 --batches 8,32

Each cell is one optimizer step (forward, backward, AdamW on the trainable weights) of the
method as its banking77 recipe sets it up (recipes/banking77/<method>.yaml), on batches of
``batch`` sequences of exactly ``length`` tokens (random ids, no padding, so every position is
a real token). The median of ``--steps`` timed steps after one warm-up step is reported, with
tokens/s, the step's FLOPs (counted by torch's FLOP counter on the real step) and MFU against
the matmul peak measured on this machine (``python -m benchmarks peak``).

Writes ``<out>/scaling.json``, ``<out>/SCALING.md`` (one table per method) and
``<out>/scaling.png`` (step time vs tokens per step).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def measure(method: str, lengths: list[int], batches: list[int], steps: int,
            peak: dict[str, float]) -> list[dict]:
    import torch

    from peftgov import perf
    from peftgov.backbones import resolve
    from peftgov.methods import get_method
    from peftgov.recipe import load_recipe
    from peftgov.session import build_optimizer
    from peftgov.tasks import get_task

    recipe = load_recipe(f"recipes/banking77/{method}.yaml")
    task = get_task(recipe.task.name)
    path = resolve(recipe.model, source=recipe.source)
    state = {"labels": [f"intent_{i}" for i in range(77)]}
    torch.manual_seed(0)
    model = task.build_model(path, recipe, state)
    model = get_method(method).apply(
        model, recipe.method, head=task.head_modules(model), peft_task_type=task.peft_task_type
    )
    model.train()
    optimizer = build_optimizer(model, recipe, task.head_modules(model))
    vocab = model.config.vocab_size
    rows = []
    for length in lengths:
        for batch_size in batches:
            batch = {
                "input_ids": torch.randint(1000, vocab, (batch_size, length)),
                "attention_mask": torch.ones(batch_size, length, dtype=torch.long),
                "labels": torch.randint(0, 77, (batch_size,)),
            }
            flops = perf.train_flops_per_token(model, batch, torch.autocast("cpu", enabled=False))
            times = []
            for i in range(steps + 1):
                tick = time.perf_counter()
                model(**batch).loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if i:  # the first step warms up
                    times.append(time.perf_counter() - tick)
            step_s = statistics.median(times)
            tokens = batch_size * length
            step_flops = flops * tokens if flops is not None else None
            row = {
                "method": method,
                "seq_len": length,
                "batch": batch_size,
                "tokens_per_step": tokens,
                "step_ms": 1000 * step_s,
                "tokens_per_s": tokens / step_s,
                "step_flops": step_flops,
                "mfu": step_flops / step_s / peak["fp32"] if step_flops and "fp32" in peak else None,
            }
            rows.append(row)
            print(
                f"{method:7s} len {length:4d} batch {batch_size:3d}: {row['step_ms']:8.1f} ms/step"
                f"  {row['tokens_per_s']:7.0f} tokens/s"
                + (f"  MFU {row['mfu']:.2f}" if row["mfu"] is not None else ""),
                flush=True,
            )
    return rows


def write(rows: list[dict], out: Path, meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    lines = [
        "# Step time vs sequence length and batch size",
        "",
        f"Measured with `{meta['command']}` on {meta['device']} (torch {meta['torch']}, "
        f"{meta['threads']} threads, fp32), {meta['date']}. One optimizer step = forward + "
        "backward + AdamW on the trainable weights; batches of real tokens only (no padding); "
        f"median of {meta['steps']} steps after a warm-up. MFU = counted FLOPs / step time / "
        f"measured fp32 matmul peak ({meta['peak_fp32_gflops']} GFLOP/s).",
        "",
    ]
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        batches = sorted({r["batch"] for r in mine})
        lines += [f"## {method}", "", "ms per step (tokens/s, MFU):", ""]
        lines += ["| seq len | " + " | ".join(f"batch {b}" for b in batches) + " |"]
        lines += ["|---|" + "---|" * len(batches)]
        for length in sorted({r["seq_len"] for r in mine}):
            cells = []
            for b in batches:
                r = next(x for x in mine if x["seq_len"] == length and x["batch"] == b)
                mfu = f", {r['mfu']:.2f}" if r["mfu"] is not None else ""
                cells.append(f"{r['step_ms']:.0f} ({r['tokens_per_s']:.0f}{mfu})")
            lines.append(f"| {length} | " + " | ".join(cells) + " |")
        lines.append("")
    (out / "SCALING.md").write_text("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for method in dict.fromkeys(r["method"] for r in rows):
            mine = sorted((r for r in rows if r["method"] == method),
                          key=lambda r: r["tokens_per_step"])
            ax.scatter([r["tokens_per_step"] for r in mine], [r["step_ms"] for r in mine],
                       label=method, s=18)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("tokens per step (batch x sequence length)")
        ax.set_ylabel("ms per optimizer step")
        ax.set_title("MiniLM-L6 step time vs real tokens")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "scaling.png", dpi=120)
        plt.close(fig)
    except ImportError:
        print("scaling: matplotlib not installed, no plot", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import torch

    from peftgov import perf

    p = argparse.ArgumentParser(prog="python -m benchmarks scaling", description=__doc__.split("\n")[0])
    p.add_argument("--methods", default="full,lora,bitfit")
    p.add_argument("--lengths", default="32,64,128,256")
    p.add_argument("--batches", default="8,16,32")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--out", default="benchmarks/results/scaling")
    args = p.parse_args(argv)
    lengths = [int(x) for x in args.lengths.split(",")]
    batches = [int(x) for x in args.batches.split(",")]
    key, peak, _ = perf.measured_peak()
    rows = []
    for method in args.methods.split(","):
        rows += measure(method, lengths, batches, args.steps, peak)
    meta = {
        "command": "python -m benchmarks scaling " + " ".join(argv if argv is not None else sys.argv[1:]),
        "device": key,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d"),
        "steps": args.steps,
        "peak_fp32_gflops": round(peak.get("fp32", 0) / 1e9, 1),
    }
    write(rows, Path(args.out), meta)
    print(f"written: {args.out}/SCALING.md")
    return 0
