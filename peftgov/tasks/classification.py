"""Sequence classification: intents, document topics, complaint routing.

Data: a text column and a label column (csv / tsv / jsonl). The label set is taken from train
(sorted, saved in ``task_state.json``); a validation or test row with a label never seen in
train is an error naming file and line, or is skipped and counted when ``data.on_bad_row`` is
``skip``. Metrics: accuracy and macro-F1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from datasets import Dataset

from ..config import Recipe, TaskConfig, _require
from ..data import Row, arrange_splits, read_rows, read_text, require_columns, resolve_path
from ..errors import DataError
from ..metrics import classification_metrics
from .base import Prepared, Task, describe_counts, label_head_kwargs
from .registry import register


@dataclass(frozen=True)
class ClassificationOptions(TaskConfig):
    name: str = "classification"
    text_column: str = "text"
    label_column: str = "label"
    text_pair_column: str | None = None
    """Optional second text (sentence-pair tasks such as NLI)."""
    max_length: int = 128
    label_names: str | None = None
    """A file with one label name per line, for data whose label column holds ids: id ``i``
    is the name on line ``i + 1`` (THUCNews' ``class.txt``)."""
    labels: list[str] | None = None
    """The head's labels in order (row ``i`` predicts ``labels[i]``); default: the sorted labels
    of train. Continual learning sets it so that a grown head keeps its old rows first."""

    def __post_init__(self) -> None:
        _require(self.max_length > 0, "max_length", "must be positive")
        _require(bool(self.text_column), "text_column", "must not be empty")
        _require(bool(self.label_column), "label_column", "must not be empty")
        _require(
            self.labels is None or len(set(self.labels)) == len(self.labels),
            "labels",
            "lists a label twice",
        )


@register
class Classification(Task):
    name = "classification"
    config_cls = ClassificationOptions
    peft_task_type = "SEQ_CLS"
    default_metric = "accuracy"
    one_label_per_example = True

    # ------------------------------------------------------------------ data
    def _clean(self, rows: list[Row], spec: str, cfg, skip: bool, counts: dict) -> list[Row]:
        cols = [cfg.text_column, cfg.label_column] + (
            [cfg.text_pair_column] if cfg.text_pair_column else []
        )
        require_columns(rows, spec, cols)
        out = []
        for row in rows:
            text = row.values.get(cfg.text_column)
            label = row.values.get(cfg.label_column)
            problem = None
            if not isinstance(text, str) or not text.strip():
                problem = f"missing or empty text in column {cfg.text_column!r}"
            elif label is None or (isinstance(label, str) and not label.strip()):
                problem = f"missing label in column {cfg.label_column!r}"
            if problem:
                if skip:
                    counts["skipped_bad_rows"] = counts.get("skipped_bad_rows", 0) + 1
                    continue
                raise DataError(spec, problem, line=row.line)
            out.append(row)
        return self._name_labels(out, spec, cfg) if cfg.label_names else out

    @staticmethod
    def _name_labels(rows: list[Row], spec: str, cfg) -> list[Row]:
        names = [n.strip() for n in read_text(resolve_path(cfg.label_names)).split("\n")]
        names = [n for n in names if n]
        for row in rows:
            value = str(row.values[cfg.label_column]).strip()
            if not value.isdigit() or int(value) >= len(names):
                raise DataError(
                    spec, f"label {value!r} is not an id of the {len(names)} names in "
                    f"task.label_names ({cfg.label_names})", line=row.line,
                )
            row.values[cfg.label_column] = names[int(value)]
        return rows

    def _read_splits(
        self, recipe: Recipe
    ) -> tuple[dict[str, list[Row]], dict[str, str], dict, list[str]]:
        d, cfg, seed = recipe.data, recipe.task, recipe.train.seed
        skip = d.on_bad_row == "skip"
        counts: dict[str, int] = {}
        specs = {"train": d.train, "validation": d.validation, "test": d.test}
        splits: dict[str, list[Row]] = {}
        for split, spec in specs.items():
            if spec:
                rows = read_rows(spec, d.format, d.columns, self.text_keys(cfg))
                splits[split] = self._clean(rows, spec, cfg, skip, counts)
        # The label set comes from the whole train file, before any subsampling: a smoke run
        # on a few rows must not turn a rare label into an "unknown label" error.
        labels = cfg.labels or sorted({self._label(r, cfg.label_column) for r in splits["train"]})
        arrange_splits(splits, specs, d, seed)
        return splits, specs, counts, labels

    def label_of(self, values, cfg):
        return self._label(Row(0, values), cfg.label_column)

    @staticmethod
    def _label(row: Row, col: str) -> str:
        value = row.values[col]
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)

    def _encode(self, rows, spec, recipe, tokenizer, labels, counts) -> Dataset:
        """Tokenise rows whose labels must all be in ``labels`` (else error or skip)."""
        cfg = recipe.task
        index = {lab: i for i, lab in enumerate(labels)}
        kept, ids = [], []
        for row in rows:
            lab = self._label(row, cfg.label_column)
            if lab not in index:
                if recipe.data.on_bad_row == "skip":
                    counts["skipped_unknown_label"] = counts.get("skipped_unknown_label", 0) + 1
                    continue
                raise DataError(
                    spec,
                    f"label {lab!r} never appears in train (train has {len(labels)} labels); "
                    "fix the row or set data.on_bad_row=skip",
                    line=row.line,
                )
            kept.append(row)
            ids.append(index[lab])
        if not kept:
            raise DataError(spec, "no usable rows left")
        texts = [r.values[cfg.text_column] for r in kept]
        pairs = [r.values[cfg.text_pair_column] for r in kept] if cfg.text_pair_column else None
        enc = tokenizer(texts, pairs, truncation=True, max_length=cfg.max_length)
        full = tokenizer(texts, pairs, truncation=False)["input_ids"]
        counts["truncated_sequences"] = counts.get("truncated_sequences", 0) + sum(
            len(x) > cfg.max_length for x in full
        )
        keep = ("input_ids", "attention_mask", "token_type_ids")
        return Dataset.from_dict({**{k: v for k, v in enc.items() if k in keep}, "labels": ids})

    def prepare(self, recipe: Recipe, tokenizer: Any) -> Prepared:
        splits, specs, counts, labels = self._read_splits(recipe)
        if len(labels) < 2:
            raise DataError(specs["train"], f"need at least 2 labels in train, found {labels}")
        datasets = {
            split: self._encode(rows, specs[split], recipe, tokenizer, labels, counts)
            for split, rows in splits.items()
        }
        notes = describe_counts(counts, recipe.task.max_length)
        return Prepared.from_splits(datasets, {"labels": labels}, counts, notes)

    @staticmethod
    def text_keys(cfg) -> set[str]:
        """The columns holding prose (what ``data.redact_ner`` reads; never the label)."""
        return {cfg.text_column} | ({cfg.text_pair_column} if cfg.text_pair_column else set())

    def prepare_file(self, spec, recipe, tokenizer, state) -> Dataset:
        counts: dict[str, int] = {}
        skip = recipe.data.on_bad_row == "skip"
        rows = read_rows(spec, recipe.data.format, recipe.data.columns,
                         self.text_keys(recipe.task))
        rows = self._clean(rows, spec, recipe.task, skip, counts)
        return self._encode_file(rows, spec, recipe, tokenizer, state, counts)

    def _encode_file(self, rows, spec, recipe, tokenizer, state, counts) -> Dataset:
        """One checked file's rows as a dataset (subclasses encode them their own way)."""
        return self._encode(rows, spec, recipe, tokenizer, state["labels"], counts)

    # ------------------------------------------------------------------ model
    def build_model(self, path, recipe, state):
        from transformers import AutoModelForSequenceClassification

        from ..backbones import load_model

        model = load_model(
            AutoModelForSequenceClassification, path, recipe.model, **label_head_kwargs(state["labels"])
        )
        if model.config.pad_token_id is None:
            # Decoder backbones pool the last non-pad token: they need to know the pad id.
            model.config.pad_token_id = model.config.eos_token_id
        return model

    def collator(self, tokenizer, pad_to_multiple_of=None):
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)

    # ------------------------------------------------------------------ eval
    def eval_step(self, model, batch):
        out = model(**batch)
        return {"loss": out.loss, "preds": out.logits.argmax(-1), "refs": batch["labels"]}

    def compute_metrics(self, preds, refs, state):
        return classification_metrics(preds, refs, labels=state["labels"])

    def predict(self, model, tokenizer, texts, recipe, state):
        labels = state["labels"]
        device = next(model.parameters()).device
        out: list[dict[str, Any]] = []
        for start in range(0, len(texts), 64):
            chunk = texts[start : start + 64]
            enc = tokenizer(
                chunk, truncation=True, max_length=recipe.task.max_length, padding=True,
                return_tensors="pt",
            ).to(device)
            enc = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            with torch.no_grad():
                probs = model(**enc).logits.float().softmax(-1)
            score, idx = probs.max(-1)
            for text, s, i in zip(chunk, score.tolist(), idx.tolist()):
                out.append({"text": text, "label": labels[i], "score": round(s, 6)})
        return out
