"""Typed recipe configuration.

A recipe is an experiment: backbone, data, task, method, training schedule and output. Hardware
(process count, mixed precision) is *not* here: it comes from the Accelerate launch config
(``recipes/accelerate/*.yaml``) or Accelerate's environment variables.

Every section is a frozen dataclass, and :func:`build_section` validates a mapping into one,
raising :class:`~peftgov.errors.RecipeError` naming the file and the dotted key on any problem.
This module knows no method or task: each method / task module declares its own options class
(a :class:`MethodConfig` / :class:`TaskConfig`), and :mod:`peftgov.recipe`, above both, reads
YAML, applies overrides and dispatches those sections on their ``name``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from .errors import RecipeError

# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class ModelConfig:
    """The frozen backbone."""

    name: str = "minilm-l6"
    """Hub id, local directory, or bundled alias (``minilm-l6``, ``me5-small``, ``smollm2-135m``)."""
    gguf: str | None = None
    """Path to a GGUF file to dequantize and use as the backbone (overrides ``name``)."""
    revision: str | None = None
    """Hub revision; ignored for local paths and aliases."""
    trust_remote_code: bool = False
    """Run model code shipped with the checkpoint. Off unless you trust the source."""
    quantization: Literal["4bit", "8bit"] | None = None
    """Load the frozen base in k-bit through bitsandbytes (QLoRA)."""
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    """Storage dtype of the frozen backbone (bfloat16 / float16 halve its memory on a GPU).
    Trained weights (adapters, heads, or everything with method full) are always kept fp32."""

    def __post_init__(self) -> None:
        _require(bool(self.name) or bool(self.gguf), "name", "must name a backbone")


@dataclass(frozen=True)
class DataConfig:
    """Where the examples live. Columns are task options (see the task section)."""

    train: str = ""
    """Training split: a csv / tsv / jsonl / conll file, or ``bundled:<path>`` for data shipped
    with peftgov. Relative paths resolve against the working directory."""
    validation: str | None = None
    """Validation split; when absent, ``validation_fraction`` of train is carved off (seeded)."""
    test: str | None = None
    """Test split; evaluated before and after training."""
    name: str | None = None
    """Dataset name used in reports (defaults to the train file's folder name)."""
    format: Literal["auto", "csv", "tsv", "jsonl", "conll"] = "auto"
    columns: list[str] | None = None
    """Column names for csv / tsv files without a header row (e.g. ``[text, label]``)."""
    validation_fraction: float = 0.1
    on_bad_row: Literal["error", "skip"] = "error"
    """``error`` stops at the first bad row naming file and line; ``skip`` drops and counts."""
    max_train_samples: int | None = None
    """Keep only this many training rows (seeded shuffle), e.g. for smoke runs."""
    max_eval_samples: int | None = None
    """Cap validation and test rows (seeded), e.g. for smoke runs."""
    redact: bool = False
    """Replace personal information (ID numbers, phones, bank cards, e-mail, plates, ...) with
    typed placeholders as every data file is read, before tokenization (``peftgov.redact``);
    metrics.json records the counts per type, never the values."""
    redact_ner: str | None = None
    """A finished peftgov NER run that also replaces person names and addresses with
    ``<PERSON>`` / ``<ADDRESS>`` (after the patterns; needs ``redact: true``;
    :mod:`peftgov.redact_ner`)."""
    redact_ner_types: list[str] | None = None
    """The NER run's entity types to redact (default: its person and address types, e.g.
    ``PER.NAM``, ``LOC.NAM``; not nominal mentions such as ``PER.NOM``)."""

    def __post_init__(self) -> None:
        _require(bool(self.train), "train", "is required")
        _require(0 < self.validation_fraction < 1, "validation_fraction", "must be in (0, 1)")
        _require(not self.redact_ner or self.redact, "redact_ner", "needs data.redact: true")
        _require(not self.redact_ner_types or bool(self.redact_ner), "redact_ner_types",
                 "needs data.redact_ner (a NER run)")
        for key in ("max_train_samples", "max_eval_samples"):
            value = getattr(self, key)
            _require(value is None or value > 0, key, "must be positive")


@dataclass(frozen=True)
class TrainConfig:
    """The schedule. Batch sizes are global: accumulation is derived from the process count."""

    seed: int = 42
    epochs: float = 3.0
    """Passes over the training data; ``0`` trains nothing (a zero-shot or in-context figure:
    validation and test of the untouched model, and the run written as usual)."""
    max_steps: int | None = None
    """Stop after this many optimizer steps (overrides ``epochs``)."""
    batch_size: int = 32
    """Global batch per optimizer step, kept whatever the number of processes."""
    micro_batch_size: int | None = None
    """Per-process batch per forward pass; accumulation = batch / (micro x processes)."""
    eval_batch_size: int = 64
    lr: float = 5e-4
    head_lr: float | None = None
    """Learning rate of the task head (classifier) when it should differ from ``lr``: a freshly
    initialised head often needs far more than the ``1e-4`` that suits full fine-tuning of the
    backbone. ``None`` trains the head at ``lr``."""
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float | None = 1.0
    optimizer: Literal["adamw", "adamw_8bit"] = "adamw"
    """``adamw``: torch's AdamW, fused into one kernel per step where the device has it;
    ``adamw_8bit``: bitsandbytes' 8-bit AdamW (its moments in 8 bits)."""
    eval_every: int | None = None
    """Evaluate every N optimizer steps; ``None`` evaluates once per epoch."""
    metric: str | None = None
    """Validation metric to select the best state on (task default when ``None``)."""
    patience: int | None = None
    """Stop after this many evaluations without improvement; ``None`` never stops early."""
    target_metric: float | None = None
    """A quality target for ``metric`` (time-to-accuracy, as MLPerf Training measures it): the
    first validation that reaches it records ``target`` in metrics.json: seconds since the
    process started (after a resume, plus the earlier process's up to its checkpoint), step,
    train time, and the test metrics of that state."""
    stop_at_target: bool = False
    """End training at the first validation that reaches ``target_metric`` (its state is
    kept as the best if it is)."""
    log_every: int = 10
    group_by_length: bool = True
    """Batch examples of similar length together (less padding), shuffled between batches."""
    gradient_checkpointing: bool = False
    """Keep only each block's input in the forward pass and recompute the rest in the backward
    pass (one more forward per step): activation memory drops from every layer's to about one
    block's. Same gradients to float tolerance. Most useful where activations dominate, as
    with LoRA on every linear layer (peft's dropout copies each adapted layer's input)."""
    checkpoint_every: int | None = None
    """Also checkpoint every N optimizer steps (a checkpoint is always written at each
    evaluation); re-running the same command resumes from the last one."""

    cache_test_before: bool = True
    """Reuse the before-training test figure of an earlier run on the same backbone, data,
    task and seed when the method starts as the backbone itself (:mod:`peftgov.before`)."""
    reuse_frozen_prefix: bool = False
    """Compute the output of the frozen bottom blocks (those below the first trainable one, and
    the embeddings) once per example and train the top blocks on it (:mod:`peftgov.prefix_cache`;
    BERT-like encoders). The prefix then runs without dropout: the one difference."""
    compile: bool = False
    """Compile the model with ``torch.compile`` (inductor backend, regional as Accelerate does
    it: each repeated transformer block is compiled once and its copies reuse the code). The
    first steps of each new batch shape pay the compilation; set ``pad_to_multiple_of`` so that
    shapes repeat. Measured in the README before you turn it on: it does not pay everywhere.
    (``accelerate launch --dynamo_backend`` compiles the whole model instead.)"""
    pad_to_multiple_of: int | None = None
    """Pad every batch (training and evaluation) to a multiple of this many tokens: fewer
    distinct shapes for a compiled model, at the price of some padding."""
    prefix_cache_mb: int = 2048
    """``reuse_frozen_prefix``: host memory for the cached states; the rest goes to a file under
    the cache folder (``PEFTGOV_CACHE``), unlinked at once, gone with the process."""

    def __post_init__(self) -> None:
        _require(
            self.checkpoint_every is None or self.checkpoint_every > 0,
            "checkpoint_every",
            "must be positive",
        )
        _require(self.epochs >= 0, "epochs", "must be >= 0 (0: no training, evaluate only)")
        _require(self.max_steps is None or self.max_steps > 0, "max_steps", "must be positive")
        _require(self.batch_size > 0, "batch_size", "must be positive")
        _require(
            self.micro_batch_size is None or 0 < self.micro_batch_size <= self.batch_size,
            "micro_batch_size",
            "must be positive and at most batch_size",
        )
        _require(self.eval_batch_size > 0, "eval_batch_size", "must be positive")
        _require(self.lr > 0, "lr", "must be positive")
        _require(self.head_lr is None or self.head_lr > 0, "head_lr", "must be positive")
        _require(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        _require(0 <= self.warmup_ratio < 1, "warmup_ratio", "must be in [0, 1)")
        _require(
            self.max_grad_norm is None or self.max_grad_norm > 0, "max_grad_norm", "must be > 0"
        )
        _require(self.eval_every is None or self.eval_every > 0, "eval_every", "must be positive")
        _require(self.patience is None or self.patience > 0, "patience", "must be positive")
        _require(
            not self.stop_at_target or self.target_metric is not None,
            "stop_at_target",
            "needs train.target_metric",
        )
        _require(self.log_every > 0, "log_every", "must be positive")
        _require(
            self.pad_to_multiple_of is None or self.pad_to_multiple_of > 0,
            "pad_to_multiple_of",
            "must be positive",
        )
        _require(self.prefix_cache_mb >= 0, "prefix_cache_mb", "must be >= 0 (0: all on disk)")


@dataclass(frozen=True)
class OutputConfig:
    dir: str | None = None
    """Run directory; defaults to ``runs/<dataset>-<method>-seed<seed>``."""
    overwrite: bool = False
    """Train into a run directory that already holds a finished run (it is cleared)."""
    resume: bool = True
    """Continue an interrupted run of the same recipe from its last checkpoint."""


@dataclass(frozen=True)
class StageData:
    """One stage of a continual recipe with its own data (``continual.stages`` as a list)."""

    train: str = ""
    """The stage's training file (csv / tsv / jsonl / conll or ``bundled:<path>``)."""
    validation: str | None = None
    """Its validation file; when absent, ``data.validation_fraction`` of its train (seeded)."""
    test: str | None = None
    """Its test file (a stage without one counts nothing in the accuracy matrix: required)."""
    name: str | None = None
    """The stage's name in logs and metrics (default ``stage<i>``)."""

    def __post_init__(self) -> None:
        _require(bool(self.train), "train", "is required")
        _require(bool(self.test), "test", "is required (the accuracy matrix is on test sets)")


@dataclass(frozen=True)
class ContinualConfig:
    """Continual learning: train stage after stage into one run directory (``peftgov.continual``).

    Stages are either files (``stages: [{train, validation, test}, ...]``, each stage's labels
    are those of its train file) or a class-incremental split of ``data``'s labels
    (``split_labels: [[a, b], [c]]``, or ``stages: N`` labels shuffled with the seed and cut
    into N nearly equal groups). The classifier head grows stage by stage: one row per label in
    order of first appearance, the old rows carried over bit-identical."""

    strategy: Literal["naive", "replay", "l2", "ewc", "per_task"] = "naive"
    """``naive``: plain sequential fine-tuning (the baseline that forgets); ``replay``: each
    stage trains on its data plus a bounded buffer of earlier stages' examples; ``l2`` / ``ewc``:
    a penalty ``strength / 2 * sum_k w_k (theta_k - theta*_k)^2`` pulls the trainable weights to
    those after the previous stage, ``w_k = 1`` (l2) or the diagonal empirical Fisher summed over
    the earlier stages (ewc); ``per_task``: a fresh method + head per stage, each stage's test set
    predicted by its own (the task id is known), so nothing is forgotten by construction."""
    stages: int | list[StageData] | None = None
    """A list of stages with their own data, or N: ``data``'s labels split into N stages."""
    split_labels: list[list[str]] | None = None
    """``data``'s labels split into stages explicitly (each label in exactly one stage)."""
    replay_size: int = 200
    """``replay``: the buffer's capacity in examples (shared by every earlier stage)."""
    replay_policy: Literal["reservoir", "balanced"] = "reservoir"
    """``reservoir``: a uniform sample of every earlier training example (Vitter's algorithm R,
    seeded); ``balanced``: the same number of examples per label seen (seeded draw per label)."""
    strength: float = 1.0
    """``l2`` / ``ewc``: the penalty's weight (see ``strategy``)."""
    fisher_samples: int = 256
    """``ewc``: training examples (seeded sample) whose per-example squared gradients estimate
    the diagonal Fisher after each stage."""

    def __post_init__(self) -> None:
        _require(
            (self.stages is None) != (self.split_labels is None),
            "stages",
            "give exactly one of continual.stages (a list of stages, or a count) and "
            "continual.split_labels",
        )
        if isinstance(self.stages, int):
            _require(self.stages >= 2, "stages", "must be at least 2")
        elif self.stages is not None:
            _require(len(self.stages) >= 2, "stages", "needs at least 2 stages")
        seen: dict[str, int] = {}
        for i, labels in enumerate(self.split_labels or []):
            _require(bool(labels), f"split_labels[{i}]", "is an empty stage")
            for label in labels:
                _require(
                    label not in seen,
                    f"split_labels[{i}]",
                    f"label {label!r} is already in stage {seen.get(label)}",
                )
                seen[label] = i
        _require(self.split_labels is None or len(self.split_labels) >= 2, "split_labels",
                 "needs at least 2 stages")
        _require(self.replay_size > 0, "replay_size", "must be positive")
        _require(self.strength >= 0, "strength", "must be >= 0")
        _require(self.fisher_samples > 0, "fisher_samples", "must be positive")

    def num_stages(self) -> int:
        if isinstance(self.stages, int):
            return self.stages
        return len(self.stages if self.stages is not None else self.split_labels)


@dataclass(frozen=True)
class MethodConfig:
    """Base of every method's options; each method module subclasses it and registers."""

    name: str = "lora"


@dataclass(frozen=True)
class TaskConfig:
    """Base of every task's options; each task module subclasses it and registers."""

    name: str = "classification"
    max_length: int = 128

    def __post_init__(self) -> None:
        _require(self.max_length > 0, "max_length", "must be positive")


@dataclass(frozen=True)
class Recipe:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    continual: ContinualConfig | None = None
    """Train stage after stage (:mod:`peftgov.continual`); ``None``: one ordinary run."""
    source: str = field(default="<python>", compare=False)
    """Where the recipe came from (a file path), for messages. Not saved."""

    SECTIONS: ClassVar[tuple[str, ...]] = (
        "model", "data", "task", "method", "train", "output", "continual",
    )

    def to_dict(self) -> dict[str, Any]:
        """Every section (an optional one only when set), as plain YAML-able values."""
        return {
            s: _section_to_dict(getattr(self, s))
            for s in self.SECTIONS
            if getattr(self, s) is not None
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def run_dir(self) -> Path:
        """``output.dir``, else ``runs/<dataset>-<method>[-<continual strategy>]-seed<seed>``."""
        if self.output.dir:
            return Path(self.output.dir)
        method = self.method.name + (f"-{self.continual.strategy}" if self.continual else "")
        return Path("runs") / f"{self.dataset_name()}-{method}-seed{self.train.seed}"

    def dataset_name(self) -> str:
        if self.data.name:
            return self.data.name
        return Path(self.data.train.removeprefix("bundled:")).parent.name or "data"


# --------------------------------------------------------------------------- validation


class _Invalid(ValueError):
    """Raised inside a section's __post_init__; carries the field name."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _require(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise _Invalid(key, message)


def _section_to_dict(obj: Any) -> dict[str, Any]:
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}


def _plain(value: Any) -> Any:
    """Nested sections (dataclasses, in lists too) as mappings, for YAML."""
    if dataclasses.is_dataclass(value):
        return _section_to_dict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str, source: str) -> Any:
    """Check ``value`` against the annotation ``tp``; return it (ints widen to float)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        deeper = None
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key, source)
            except RecipeError as exc:
                # A list / section that failed inside names the exact item: report that.
                deeper = deeper or (exc if exc.key != key else None)
        if deeper is not None:
            raise deeper
        raise RecipeError(source, key, f"expected {_type_name(tp)}, got {value!r}")
    if dataclasses.is_dataclass(tp):  # a nested section, e.g. one of continual.stages
        return build_section(tp, value, prefix=key, source=source)
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise RecipeError(source, key, f"must be one of {_type_name(tp)}, got {value!r}")
    if origin is list:
        if isinstance(value, (list, tuple)):
            (item,) = typing.get_args(tp)
            return [_coerce(v, item, f"{key}[{i}]", source) for i, v in enumerate(value)]
        raise RecipeError(source, key, f"expected {_type_name(tp)}, got {value!r}")
    if origin is dict:
        if isinstance(value, dict):
            return dict(value)
        raise RecipeError(source, key, f"expected a mapping, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is Any:
        return value
    raise RecipeError(source, key, f"expected {_type_name(tp)}, got {value!r}")


def build_section(cls: type, raw: Any, *, prefix: str, source: str) -> Any:
    """Validate ``raw`` (a mapping) into the dataclass ``cls``; errors name ``prefix.key``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(source, prefix, f"expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in raw.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise RecipeError(source, f"{prefix}.{key}", f"unknown key (known: {known})")
        kwargs[key] = _coerce(value, hints[key], f"{prefix}.{key}", source)
    try:
        return cls(**kwargs)
    except _Invalid as exc:
        raise RecipeError(source, f"{prefix}.{exc.key}", str(exc)) from None

