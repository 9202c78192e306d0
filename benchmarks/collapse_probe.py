"""Representation collapse in a trained run: for each layer, the spread of the hidden states
over the positions of real validation sentences (mean over features of the std over positions;
0 = every position carries the same vector, which leaves a token tagger nothing to tell apart).
Shown for the pretrained backbone, the run as trained, and the backbone with only one kind of
the run's trained tensors put back (by a substring of their names), to find which kind causes
a collapse:

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 python benchmarks/collapse_probe.py RUN_DIR [N_SENTENCES] \
        [--parts LayerNorm,query,intermediate,value,output.dense]

Behind the BitFit ``method.norm_biases`` note in benchmarks/results/chinese/collapse.txt.
"""
from __future__ import annotations

import argparse

import torch
from safetensors.torch import load_file

from peftgov.backbones import resolve
from peftgov.runs import load_run


def spreads(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> list[float]:
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                    output_hidden_states=True)
    mask = batch["attention_mask"].bool()
    return [round(h[mask].std(0).mean().item(), 3) for h in out.hidden_states]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("n", nargs="?", type=int, default=16, help="validation sentences")
    ap.add_argument("--parts", default="LayerNorm,query,intermediate,value,output.dense")
    args = ap.parse_args()
    run = load_run(args.run_dir)
    data = run.task.prepare_file(run.recipe.data.validation, run.recipe, run.tokenizer, run.state)
    collate = run.task.collator(run.tokenizer)
    batch = collate([data[i] for i in range(min(args.n, len(data)))])
    trained = load_file(f"{args.run_dir}/trainable.safetensors")

    def backbone_with(keep) -> torch.nn.Module:
        path = resolve(run.recipe.model, source=args.run_dir)
        model = run.task.build_model(path, run.recipe, run.state)
        model.load_state_dict({k: v for k, v in trained.items() if keep(k)}, strict=False)
        return model.eval()

    print(f"{args.run_dir}: std over positions of each layer's hidden states "
          f"(embeddings first; {batch['attention_mask'].sum()} positions)")
    print("pretrained       ", spreads(backbone_with(lambda k: False), batch))
    print("as trained       ", spreads(run.model, batch))
    for part in args.parts.split(","):
        print(f"only {part:<12}", spreads(backbone_with(lambda k, p=part: p in k), batch))


if __name__ == "__main__":
    main()
