"""The interface every task implements.

A task owns everything that depends on what is being predicted: reading and validating its
data, tokenisation, the model class and head, the collator, turning a batch's outputs into
predictions and references, metrics, and `predict`. The loop and the methods never look inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from datasets import Dataset
from torch import nn

from ..config import Recipe, TaskConfig


@dataclass
class Prepared:
    """A task's tokenised splits plus the state needed to rebuild it (labels, counts)."""

    train: Dataset
    validation: Dataset
    test: Dataset | None
    state: dict[str, Any]
    """JSON-able: saved as ``task_state.json`` and given back to build_model / predict."""
    notes: list[str] = field(default_factory=list)
    """Human-readable remarks (rows skipped, sequences truncated) for the log and metrics."""

    @classmethod
    def from_splits(
        cls, datasets: dict[str, Dataset], state: dict[str, Any], counts: dict[str, int],
        notes: list[str],
    ) -> "Prepared":
        """Bundle tokenised splits; the state gains ``counts`` plus each split's row count."""
        rows = {f"{k}_rows": len(v) for k, v in datasets.items()}
        return cls(
            train=datasets["train"],
            validation=datasets["validation"],
            test=datasets.get("test"),
            state={**state, "counts": {**counts, **rows}},
            notes=notes,
        )


class Task:
    name: ClassVar[str]
    config_cls: ClassVar[type[TaskConfig]]
    peft_task_type: ClassVar[str]
    default_metric: ClassVar[str]
    greater_is_better: ClassVar[bool] = True
    can_chat: ClassVar[bool] = False
    """Whether :meth:`reply` answers a conversation (``peftgov chat``)."""
    builds_attention_mask: ClassVar[bool] = False
    """Whether the task's batches carry their own 4D attention mask (verbaliser scoring):
    methods that add virtual tokens cannot extend such a mask (``limits`` refuses them)."""
    one_label_per_example: ClassVar[bool] = False
    """Whether each example has one label (so a benchmark can sample k examples per class, and
    continual learning can split a dataset by label). Such a task implements :meth:`label_of`
    and accepts ``task.labels``, the head's labels in order."""

    def prepare(self, recipe: Recipe, tokenizer: Any) -> Prepared:
        raise NotImplementedError

    def prepare_file(self, spec: str, recipe: Recipe, tokenizer: Any, state: dict) -> Dataset:
        """Tokenise one more file (for ``peftgov eval --data``) with a trained run's state."""
        raise NotImplementedError

    def label_of(self, values: dict[str, Any], cfg: TaskConfig) -> str:
        """The label of one raw data row (its column values), for tasks with
        ``one_label_per_example``."""
        raise NotImplementedError

    def build_model(self, path: str, recipe: Recipe, state: dict[str, Any]) -> nn.Module:
        """The backbone with this task's head, every weight frozen."""
        raise NotImplementedError

    def head_modules(self, model: nn.Module) -> list[str]:
        """Names of the task head's modules (always trainable, always saved)."""
        names = {n.split(".")[-1] for n, _ in model.named_modules()}
        return [h for h in ("classifier", "score") if h in names]

    def collator(self, tokenizer: Any, pad_to_multiple_of: int | None = None) -> Any:
        """Batches of the prepared rows, padded to their longest (rounded up to a multiple of
        ``pad_to_multiple_of`` when given: fewer distinct shapes for a compiled model)."""
        raise NotImplementedError

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The training loss of one batch (the loop's only forward). Default: the model's own
        loss on the batch (its labels); a task scoring outputs its own way overrides it."""
        return model(**batch).loss

    def eval_step(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Forward one batch without gradients: ``{"loss", "preds", "refs"}`` (tensors)."""
        raise NotImplementedError

    def compute_metrics(self, preds: list, refs: list, state: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def predict(
        self, model: nn.Module, tokenizer: Any, texts: list[str], recipe: Recipe, state: dict
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def final_metrics(
        self, model: nn.Module, tokenizer: Any, recipe: Recipe, state: dict, split_file: str | None
    ) -> dict[str, Any]:
        """Extra top-level entries for ``metrics.json``, computed once after the final test
        evaluation with the best state on the main process (e.g. generation quality on
        ``split_file``, the test file or else the validation file). Default: none."""
        return {}

    def reply(self, model: nn.Module, tokenizer: Any, history: list[dict], recipe: Recipe,
              state: dict[str, Any]) -> str:
        """The next assistant message for ``history`` (tasks with ``can_chat``)."""
        raise NotImplementedError

    def tokens_in(self, batch: dict[str, torch.Tensor]) -> int:
        """Real (non-padding) tokens in a batch, for throughput."""
        return int(batch["attention_mask"].sum()) if "attention_mask" in batch else 0


def label_head_kwargs(labels: list[str]) -> dict[str, Any]:
    """``from_pretrained`` arguments for a head over ``labels`` (names saved in the config)."""
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {lab: i for i, lab in enumerate(labels)},
    }


def describe_counts(counts: dict[str, int], max_length: int) -> list[str]:
    """Human-readable notes for what data preparation dropped or cut."""
    notes = []
    if counts.get("truncated_sequences"):
        notes.append(
            f"{counts['truncated_sequences']} sequences longer than task.max_length={max_length} "
            "were truncated"
        )
    for key, what in (("skipped_bad_rows", "bad rows"), ("skipped_unknown_label", "unknown label")):
        if counts.get(key):
            notes.append(f"{counts[key]} rows skipped ({what})")
    return notes


def padded_width(lengths: Any, multiple: int | None) -> int:
    """The longest of ``lengths``, rounded up to a multiple of ``multiple`` (when given): the
    width a collator pads its batch to (``train.pad_to_multiple_of``)."""
    multiple = multiple or 1
    return -(-max(lengths) // multiple) * multiple
