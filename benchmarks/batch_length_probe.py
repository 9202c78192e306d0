"""Padded tokens per (micro-)batch in a window of steps against a whole run, as peftgov's
length-grouped sampler draws them: a per-step probe over a window (benchmarks/allocator_probe.sh)
times whatever batches that window holds, so its figures compare with a whole run's only after
this correction.

    python benchmarks/batch_length_probe.py recipes/banking77/lora.yaml --seed 42 --first 21 --last 80
"""

from __future__ import annotations

import argparse
import math
import statistics

from peftgov.backbones import load_tokenizer, resolve
from peftgov.recipe import load_recipe
from peftgov.sampling import LengthGroupedBatchSampler
from peftgov.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("recipe")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--first", type=int, default=21, help="first step of the window (1-based)")
    ap.add_argument("--last", type=int, default=80, help="last step of the window")
    args = ap.parse_args()
    r = load_recipe(args.recipe)
    tok = load_tokenizer(resolve(r.model, source=r.source), r.model)
    lengths = [len(x) for x in get_task(r.task.name).prepare(r, tok).train["input_ids"]]
    tc = r.train
    micro = tc.micro_batch_size or tc.batch_size  # one process, as the loop builds it
    sampler = LengthGroupedBatchSampler(lengths, micro, seed=args.seed,
                                        group_by_length=tc.group_by_length)
    epochs = [sampler.batches(e) for e in range(math.ceil(tc.epochs))]
    every = [b for ep in epochs for b in ep]
    window = every[args.first - 1:args.last]

    def padded(batch):  # rows x the longest row, rounded up as the collator pads
        longest = max(lengths[i] for i in batch)
        if tc.pad_to_multiple_of:
            longest = -(-longest // tc.pad_to_multiple_of) * tc.pad_to_multiple_of
        return len(batch) * longest

    w, a = statistics.mean(map(padded, window)), statistics.mean(map(padded, every))
    print(f"{args.recipe}: seed {args.seed}, {len(epochs[0])} batches per epoch of "
          f"{micro}, {math.ceil(tc.epochs)} epochs")
    print(f"steps {args.first}-{args.last}: {w:.1f} padded tokens per batch")
    print(f"all {len(every)} steps: {a:.1f} padded tokens per batch (window {w / a - 1:+.1%})")


if __name__ == "__main__":
    main()
