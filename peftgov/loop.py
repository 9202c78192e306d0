"""THE training loop, shared by every method and every task, on Accelerate.

Read :func:`run` first: it is the whole story in four stages. :func:`build` makes the model
(backbone -> method, everything else frozen), the data loaders, the optimizer and schedule;
:func:`open_run_dir` marks the run directory; :func:`start` evaluates the untouched test set
(or resumes an interrupted run from its checkpoint); :func:`train` runs the optimizer steps
with gradient accumulation / clipping / warmup + linear decay, validating every epoch or N
steps and keeping the best trainable state (early stopping optional); :func:`finish` tests the
best state and writes the run directory. Hardware (processes, mixed precision) comes from the
Accelerate launch config; nothing here branches on the method or the task: what differs
between them are their hooks (:class:`~peftgov.methods.base.Method`,
:class:`~peftgov.tasks.base.Task`).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import artifacts, before, checkpoint, limits, perf, prefix_cache, provenance, redact
from .backbones import fingerprint, load_tokenizer, portable_name, resolve
from .config import Recipe
from .errors import PeftgovError, RecipeError
from .evaluation import evaluate, make_loader, private_generator
from .hardware import cpu_has_native_bf16, process_cpu_seconds, process_seconds, use_cpu
from .memory import PhasePeaks, fixed_mmap_threshold, frozen_heap
from .methods import METHODS, Method, get_method
from .runs import names_redactor
from .sampling import LengthGroupedBatchSampler
from .tasks import Prepared, Task, get_task


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    model: nn.Module | None = field(default=None, repr=False)
    """The trained model (unwrapped, best state) in this process, for further use in Python."""


class NonFiniteLoss(PeftgovError):
    pass


# --------------------------------------------------------------------------- helpers


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total). Parameters shared between modules count once."""
    seen: set[int] = set()
    trainable = total = 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        n = p.numel()
        # k-bit weights are packed: bitsandbytes keeps the logical size on the parameter.
        if hasattr(p, "quant_state") and getattr(p, "quant_state", None) is not None:
            n = int(p.quant_state.shape.numel()) if hasattr(p.quant_state, "shape") else n * 2
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total


def trainable_snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def restore_snapshot(model: nn.Module, snapshot: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in snapshot.items():
            params[name].copy_(value)


def _in_head(name: str, head: Sequence[str]) -> bool:
    """Whether parameter ``name`` lies in one of the ``head`` modules (peft wrappers included:
    ``base_model.model.classifier.modules_to_save.default.weight`` is in ``classifier``)."""
    parts = name.split(".")
    return any(
        parts[i : i + len(h.split("."))] == h.split(".")
        for h in head
        for i in range(len(parts))
    )


def build_optimizer(
    model: nn.Module, recipe: Recipe, head: Sequence[str] = ()
) -> torch.optim.Optimizer:
    """AdamW on trainable parameters only (frozen weights get no optimizer state); no weight
    decay on biases and normalisation weights; the task ``head`` at ``train.head_lr`` if set."""
    lr, head_lr = recipe.train.lr, recipe.train.head_lr
    buckets: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        is_norm = "norm" in name.lower() or name.endswith(".bias") or p.ndim < 2
        is_head = head_lr is not None and _in_head(name, head)
        buckets.setdefault((is_head, is_norm), []).append(p)
    if not buckets:
        raise PeftgovError(f"{recipe.source}: method {recipe.method.name!r} left nothing to train")
    if head_lr is not None and not any(is_head for is_head, _ in buckets):
        raise RecipeError(
            recipe.source, "train.head_lr", f"no trainable task head found (looked for {list(head)})"
        )
    groups = [
        {
            "params": params,
            "weight_decay": 0.0 if is_norm else recipe.train.weight_decay,
            "lr": head_lr if is_head else lr,
        }
        for (is_head, is_norm), params in sorted(buckets.items())
    ]
    if recipe.train.optimizer == "adamw_8bit":
        try:
            import bitsandbytes as bnb
        except ImportError:
            raise RecipeError(
                recipe.source, "train.optimizer", "adamw_8bit needs bitsandbytes installed"
            ) from None
        return bnb.optim.AdamW8bit(groups, lr=lr)
    return torch.optim.AdamW(groups, lr=lr)


def higher_is_better(metric: str) -> bool:
    return not (metric.endswith("loss") or metric.endswith("perplexity"))


def _batch_shape(recipe: Recipe, num_processes: int) -> tuple[int, int]:
    """(micro batch per process, accumulation steps) keeping the global batch fixed."""
    tc = recipe.train
    micro = tc.micro_batch_size or max(1, tc.batch_size // num_processes)
    if tc.batch_size % (micro * num_processes):
        raise RecipeError(
            recipe.source,
            "train.batch_size",
            f"global batch {tc.batch_size} is not a multiple of micro_batch_size x processes "
            f"= {micro} x {num_processes}",
        )
    return micro, tc.batch_size // (micro * num_processes)


class _BestTracker:
    """Keeps the best validation result and its trainable state; decides early stopping."""

    def __init__(self, metric: str, patience: int | None, source: str) -> None:
        self.metric, self.patience, self.source = metric, patience, source
        self.greater = higher_is_better(metric)
        self.best_value: float | None = None
        self.best_step = 0
        self.best_metrics: dict[str, Any] = {}
        self.best_state: dict[str, torch.Tensor] = {}
        self.history: list[dict[str, Any]] = []
        self.bad = 0

    @property
    def should_stop(self) -> bool:
        return bool(self.patience) and self.bad >= self.patience

    def dump(self) -> dict[str, Any]:
        keys = ("best_value", "best_step", "best_metrics", "history", "bad")
        return {k: getattr(self, k) for k in keys}

    def load(self, dumped: dict[str, Any], best_state: dict[str, torch.Tensor]) -> None:
        for key, value in dumped.items():
            setattr(self, key, value)
        self.best_state = best_state

    def update(self, m: dict[str, Any], snapshot) -> bool:
        if self.metric not in m:
            raise RecipeError(self.source, "train.metric", f"{self.metric!r} is not among {sorted(m)}")
        self.history.append(m)
        value = float(m[self.metric])
        if self.best_value is None or (value > self.best_value if self.greater else value < self.best_value):
            self.best_value, self.best_step, self.best_metrics, self.bad = value, m["step"], m, 0
            self.best_state = snapshot()
            return True
        self.bad += 1
        return False


def _can_resume(recipe: Recipe, run_dir: Path) -> bool:
    """An interrupted run of this same recipe with a checkpoint: resume it (and say so)."""
    if not recipe.output.resume or (run_dir / artifacts.METRICS).is_file():
        return False
    if not checkpoint.exists(run_dir):
        return False
    saved_file = run_dir / artifacts.RECIPE
    try:
        import yaml

        saved = yaml.safe_load(saved_file.read_text(encoding="utf-8"))  # written by us
    except (OSError, ValueError):
        return False
    if not isinstance(saved, dict):
        return False
    # An option the saved recipe does not have was added to peftgov since that run started:
    # not compared (the run trained without it; the rest goes on with this recipe's value).
    current = _only_keys_of(recipe.to_dict(), saved)
    saved.pop("output", None)
    current.pop("output", None)
    if saved != current:
        raise PeftgovError(
            f"{run_dir}: holds an interrupted run of a different recipe ({saved_file}); "
            "use another output.dir, or output.resume=false to start this one afresh there"
        )
    return True


def _only_keys_of(values: Any, shape: Any) -> Any:
    """``values`` restricted to the (nested) keys that ``shape`` has."""
    if not isinstance(values, dict) or not isinstance(shape, dict):
        return values
    return {k: _only_keys_of(values.get(k), v) for k, v in shape.items()}


def prepare_kbit(model: nn.Module, recipe: Recipe, method: Method) -> nn.Module:
    """QLoRA-style preparation of a 4-/8-bit backbone (peft's ``prepare_model_for_kbit_training``:
    norms and other float weights in fp32, input gradients on for the adapters below)."""
    if not method.supports_quantized_backbone:
        able = ", ".join(n for n, m in METHODS.items() if m.supports_quantized_backbone)
        raise RecipeError(
            recipe.source,
            "model.quantization",
            f"method {recipe.method.name!r} trains the backbone's own weights, which a "
            f"{recipe.model.quantization} backbone cannot; use one of {able}",
        )
    from peft import prepare_model_for_kbit_training

    return prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=recipe.train.gradient_checkpointing
    )


# --------------------------------------------------------------------------- the run


@dataclass
class Session:
    """One training run in this process: what :func:`build` made, and where training is."""

    recipe: Recipe
    accelerator: Any
    task: Task
    method: Method
    tokenizer: Any
    prepared: Prepared
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    sampler: LengthGroupedBatchSampler
    train_dl: DataLoader
    val_dl: DataLoader
    test_dl: DataLoader | None
    path: str
    backbone: dict[str, Any]  # the backbone's fingerprint (backbone.json), hashed once
    run_dir: Path
    micro: int
    accum: int
    total_steps: int
    trainable: int
    total: int
    resuming: bool
    progress: bool
    tracker: _BestTracker | None = None
    log_file: Any = None
    step: int = 0  # optimizer steps
    epoch: int = 0
    position: int = 0  # micro-batches into this epoch
    samples: Any = None  # examples and real tokens trained on (tensors: reduced across processes)
    tokens: Any = None
    elapsed_before: float = 0.0  # training seconds spent before a resume
    wall_before: float = 0.0  # process seconds before a resume, up to the checkpoint it reads
    cpu_before: float = 0.0  # the same in CPU seconds
    eval_time: float = 0.0  # evaluation and checkpoint seconds (not training time)
    start_time: float = 0.0
    test_before: dict[str, Any] | None = None
    flops_per_token: float | None = None
    redacted: dict[str, int] | None = None  # data.redact: placeholders put in, per type
    penalty: Callable[[nn.Module], torch.Tensor] | None = None
    """An extra loss term on the (unwrapped) model's weights, added to every micro-batch's loss:
    continual learning's pull toward an earlier stage's weights (:mod:`peftgov.continual`)."""
    test_before_cost: dict[str, Any] | None = None  # seconds, and whether it came from the cache
    inputs: dict[str, Any] | None = None  # the manifest's backbone / data / code part, as read
    target: dict[str, Any] | None = None  # train.target_metric: when it was first reached
    memory: PhasePeaks = field(default_factory=PhasePeaks)
    """Peak memory per phase (load, train, eval, save) and of the whole process."""
    prefix: prefix_cache.FrozenPrefix | None = None  # train.reuse_frozen_prefix's store

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process

    def say(self, text: str) -> None:
        if self.main:
            tqdm.write(text)

    def log(self, record: dict) -> None:
        if self.main:
            self.log_file.write(json.dumps(record) + "\n")
            self.log_file.flush()

    def unwrapped(self) -> nn.Module:
        return self.accelerator.unwrap_model(self.model)

    def evaluate(self, loader: DataLoader, desc: str) -> dict[str, Any]:
        with self.memory.phase("eval"):
            return evaluate(
                self.model, loader, self.task, self.prepared.state, self.accelerator,
                progress=self.progress, desc=desc,
            )


def run(
    recipe: Recipe, *, progress: bool = True, setup: Callable[[Session], None] | None = None
) -> TrainResult:
    """Train ``recipe``: build, open the run directory, start (or resume), train, finish.
    ``setup``: called on the built session before anything is written or evaluated (continual
    learning carries an earlier stage's weights over and sets ``penalty`` there)."""
    fixed_mmap_threshold()  # freed activations leave the process (see peftgov.memory)
    with frozen_heap() as freeze:  # the libraries: no garbage collection walks them again
        memory = PhasePeaks()
        with memory.phase("load"):
            s = build(recipe, progress=progress, memory=memory)
            if s.main:
                s.inputs = provenance.inputs(recipe, s.path)
        freeze()  # the built run too (the load phase's end has just collected its garbage)
        if setup is not None:
            setup(s)
        open_run_dir(s)
        start(s)
        with memory.phase("train"):
            train(s)
        return finish(s)


def build(recipe: Recipe, *, progress: bool, memory: PhasePeaks | None = None) -> Session:
    """Backbone -> (limits checked) -> data -> head -> method, everything else frozen; loaders,
    optimizer and schedule, all prepared by Accelerate. ``memory``: the run's phase peaks, when
    the caller measures the build as the load phase."""
    from accelerate import Accelerator, PartialState
    from accelerate.utils import DataLoaderConfiguration, set_seed
    from transformers import get_linear_schedule_with_warmup

    tc = recipe.train
    cpu = use_cpu()
    micro, accum = _batch_shape(recipe, PartialState(cpu=cpu).num_processes)
    # The sampler builds global micro-batches (micro x processes) and Accelerate splits each
    # across the processes, so every optimizer step sees the same examples on 1 or N processes.
    accelerator = Accelerator(
        gradient_accumulation_steps=accum,
        cpu=cpu,
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )
    run_dir = recipe.run_dir()
    if (run_dir / artifacts.METRICS).is_file() and not recipe.output.overwrite:
        artifacts.start_run(run_dir, overwrite=False)  # raises with the message
    resuming = _can_resume(recipe, run_dir)

    set_seed(tc.seed)
    task, method = get_task(recipe.task.name), get_method(recipe.method.name)
    path = resolve(recipe.model, source=recipe.source)
    tokenizer = load_tokenizer(path, recipe.model)
    limits.check(recipe, path, tokenizer)
    redacted: Counter = Counter()
    names = names_redactor(recipe)
    with redact.active(redacted, names) if recipe.data.redact else contextlib.nullcontext():
        prepared = task.prepare(recipe, tokenizer)
    del names  # the NER run's model is not needed past the data
    model = task.build_model(path, recipe, prepared.state)
    if recipe.model.quantization:
        model = prepare_kbit(model, recipe, method)
    model = method.apply(
        model, recipe.method, head=task.head_modules(model), peft_task_type=task.peft_task_type
    )
    if tc.compile:  # regional and in place (nn.Module.compile): names and state dicts unchanged
        from accelerate.utils import compile_regions_deepspeed as compile_regions_in_place

        compile_regions_in_place(model, backend="inductor")
    for p in model.parameters():  # trainable weights stay fp32 whatever the autocast dtype
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()
    if tc.gradient_checkpointing:
        kwargs = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):  # its name from transformers 5.23
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    trainable, total = count_parameters(model)

    sampler = LengthGroupedBatchSampler(
        [len(x) for x in prepared.train["input_ids"]],
        micro * accelerator.num_processes,
        seed=tc.seed,
        group_by_length=tc.group_by_length,
    )
    train_dl = DataLoader(
        prepared.train,
        batch_sampler=sampler,
        collate_fn=task.collator(tokenizer, tc.pad_to_multiple_of),
        generator=private_generator(tc.seed),
    )
    shape = dict(batch_size=tc.eval_batch_size, pad_to_multiple_of=tc.pad_to_multiple_of)
    val_dl = make_loader(prepared.validation, task, tokenizer, **shape)
    test_dl = (
        make_loader(prepared.test, task, tokenizer, **shape)
        if prepared.test is not None
        else None
    )
    optimizer = build_optimizer(model, recipe, task.head_modules(model))
    prefix = None
    if tc.reuse_frozen_prefix:  # the frozen bottom blocks run once per example, then are reused
        prefix = prefix_cache.attach(
            model, [train_dl, val_dl, test_dl], recipe=recipe, autocast=accelerator.autocast
        )
    model, optimizer, train_dl, val_dl = accelerator.prepare(model, optimizer, train_dl, val_dl)
    if test_dl is not None:
        test_dl = accelerator.prepare(test_dl)
    steps_per_epoch = max(1, math.ceil(len(train_dl) / accum))
    total_steps = tc.max_steps or (max(1, math.ceil(tc.epochs * steps_per_epoch)) if tc.epochs else 0)
    # Stepped once per optimizer step by us (not prepared: Accelerate would step it per process).
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(tc.warmup_ratio * total_steps), total_steps
    )
    return Session(
        recipe=recipe, accelerator=accelerator, task=task, method=method, tokenizer=tokenizer,
        prepared=prepared, model=model, optimizer=optimizer, scheduler=scheduler,
        sampler=sampler, train_dl=train_dl, val_dl=val_dl, test_dl=test_dl, path=path,
        backbone=fingerprint(path, recipe.model),
        run_dir=run_dir, micro=micro, accum=accum, total_steps=total_steps,
        trainable=trainable, total=total, resuming=resuming, progress=progress,
        redacted=dict(redacted) if recipe.data.redact else None,
        memory=memory or PhasePeaks(), prefix=prefix,
    )


def open_run_dir(s: Session) -> None:
    """Mark the run directory as in progress and write what is known before training; say
    what is about to run."""
    recipe, tc, accelerator = s.recipe, s.recipe.train, s.accelerator
    if s.main:
        artifacts.start_run(s.run_dir, overwrite=recipe.output.overwrite, resuming=s.resuming)
        artifacts.write_atomic(s.run_dir / artifacts.RECIPE, recipe.to_yaml())
        artifacts.write_json(s.run_dir / artifacts.TASK_STATE, s.prepared.state)
        artifacts.write_json(s.run_dir / artifacts.BACKBONE, s.backbone)
        s.log_file = open(s.run_dir / artifacts.LOG, "a" if s.resuming else "w", encoding="utf-8")
    if accelerator.mixed_precision == "bf16" and accelerator.device.type == "cpu":
        if not cpu_has_native_bf16():
            s.say(
                "peftgov: warning: bf16 on a CPU without AVX-512 BF16 / AMX is emulated and "
                "usually slower than fp32 here; use mixed precision 'no' on this machine"
            )
    for note in s.prepared.notes:
        s.say(f"peftgov: {note}")
    if s.redacted is not None:
        found = ", ".join(f"{k} {v}" for k, v in sorted(s.redacted.items())) or "nothing found"
        s.say(f"peftgov: personal information redacted before tokenization: {found}")
    s.say(
        f"peftgov: {recipe.method.name} on {recipe.model.name} | trainable {s.trainable:,} / "
        f"{s.total:,} ({100 * s.trainable / s.total:.3f}%) | {len(s.prepared.train)} train "
        f"examples | {s.total_steps} steps of {tc.batch_size} ({accelerator.num_processes} proc "
        f"x {s.micro} x {s.accum} accum) | precision {accelerator.mixed_precision}"
    )


def start(s: Session) -> None:
    """Resume from the checkpoint, or evaluate the untouched test set; FLOPs per token."""
    recipe, accelerator = s.recipe, s.accelerator
    s.tracker = _BestTracker(
        recipe.train.metric or s.task.default_metric, recipe.train.patience, recipe.source
    )
    s.samples = torch.zeros((), dtype=torch.long, device=accelerator.device)
    s.tokens = torch.zeros((), dtype=torch.long, device=accelerator.device)
    if s.resuming:
        ck = checkpoint.load(s.run_dir, optimizer=s.optimizer, accelerator=accelerator)
        restore_snapshot(s.unwrapped(), ck["trainable"])
        s.scheduler.load_state_dict(ck["scheduler"])
        s.tracker.load(ck["tracker"], ck["best"])
        s.step, s.epoch, s.position = ck["step"], ck["epoch"], ck["position"]
        if s.position >= len(s.train_dl):
            s.epoch, s.position = s.epoch + 1, 0
        s.samples += ck["samples"]
        s.tokens += ck["tokens"]
        s.elapsed_before = ck["train_time_s"]
        s.wall_before = ck.get("wall_s", 0.0)  # absent from checkpoints written before it was
        s.cpu_before = ck.get("cpu_s", 0.0)
        s.test_before = ck["test_before"]
        s.target = ck.get("target")
        s.say(f"peftgov: resuming {s.run_dir} from its checkpoint at step {s.step} (epoch {s.epoch})")
    else:
        s.test_before = test_before(s) if s.test_dl else None
        s.tracker.best_state = trainable_snapshot(s.unwrapped())
    if not s.total_steps:  # train.epochs=0: nothing will train, no training FLOPs to count
        return
    # FLOPs of one real forward + backward per position (for MFU), on the unwrapped model
    collate = s.task.collator(s.tokenizer)
    if s.prefix is not None:  # the probe trains as steps do: on stored prefix states
        collate = s.prefix.collator(collate)
    first = collate([s.prepared.train[i] for i in range(min(s.micro, len(s.prepared.train)))])
    first = {k: v.to(accelerator.device) for k, v in first.items()}
    s.model.train()
    with s.memory.phase("train"):  # one forward + backward: a training step's memory
        if s.prefix is not None:  # computed once per example, outside the count
            s.prefix.fill(first)
        s.flops_per_token = perf.train_flops_per_token(
            s.unwrapped(), first, accelerator.autocast(), loss=s.task.loss
        )


def test_before(s: Session) -> dict[str, Any]:
    """The test metrics of the untrained model: from the cache when the method starts as the
    backbone itself and this backbone + data + task + seed was evaluated before
    (:mod:`peftgov.before`), else evaluated (and cached when it may be reused)."""
    tick = time.perf_counter()
    reusable = (
        s.recipe.train.cache_test_before and s.method.identity_at_init
        and s.accelerator.num_processes == 1
    )
    key = None
    if reusable:
        from .data import resolve_path

        key = before.key(s.recipe, s.backbone,
                         resolve_path(s.recipe.data.test), s.accelerator.mixed_precision)
        cached = before.load(key)
        if cached is not None:
            s.test_before_cost = {"cached": True, "seconds": time.perf_counter() - tick}
            return cached
    metrics = s.evaluate(s.test_dl, "test (before training)")
    if key is not None:
        before.store(key, metrics)
    s.test_before_cost = {"cached": False, "seconds": time.perf_counter() - tick}
    return metrics


def save_checkpoint(s: Session) -> None:
    with s.memory.phase("save"):
        _save_checkpoint(s)


def _save_checkpoint(s: Session) -> None:
    tick = time.perf_counter()
    checkpoint.save(
        s.run_dir,
        trainable=trainable_snapshot(s.unwrapped()),
        best=s.tracker.best_state,
        optimizer=s.optimizer,
        state={
            "step": s.step,
            "epoch": s.epoch,
            "position": s.position,
            "scheduler": s.scheduler.state_dict(),
            "tracker": s.tracker.dump(),
            "samples": int(s.samples),
            "tokens": int(s.tokens),
            "train_time_s": train_seconds(s),
            "wall_s": run_seconds(s),
            "cpu_s": run_cpu_seconds(s),
            "test_before": s.test_before,
            "target": s.target,
        },
        accelerator=s.accelerator,
    )
    s.eval_time += time.perf_counter() - tick  # checkpoint I/O is not training time


def train_seconds(s: Session) -> float:
    """Training seconds so far (evaluation and checkpoint I/O excluded, resumes included)."""
    return s.elapsed_before + time.perf_counter() - s.start_time - s.eval_time


def run_seconds(s: Session) -> float:
    """Wall-clock seconds of the run: this process's since it started, plus, after a resume, the
    earlier processes' up to the checkpoint resumed from (the time-to-accuracy clock)."""
    return s.wall_before + process_seconds()


def run_cpu_seconds(s: Session) -> float:
    """CPU seconds of the run (:func:`peftgov.hardware.process_cpu_seconds`), counted like
    :func:`run_seconds`: a machine shared with other jobs does not inflate them."""
    return s.cpu_before + process_cpu_seconds()


def validate(s: Session) -> None:
    """Evaluate on the validation set, keep the best state, checkpoint."""
    tick = time.perf_counter()
    m = s.evaluate(s.val_dl, "validation")
    # wall_s: the run's wall-clock seconds at the end of this evaluation (the time-to-accuracy
    # clock); cpu_s: its CPU seconds; train_time_s: training seconds so far.
    m.update(step=s.step, epoch=s.epoch, wall_s=run_seconds(s), cpu_s=run_cpu_seconds(s),
             train_time_s=train_seconds(s) - (time.perf_counter() - tick))
    s.log({"eval": m})
    improved = s.tracker.update(m, lambda: trainable_snapshot(s.unwrapped()))
    s.say(
        f"peftgov: step {s.step} validation {s.tracker.metric}={m[s.tracker.metric]:.4f} "
        f"loss={m['loss']:.4f}" + (" (best)" if improved else "")
    )
    if s.tracker.should_stop:
        s.say(
            f"peftgov: early stop at step {s.step}: no improvement in "
            f"{s.recipe.train.patience} evaluations"
        )
    reach_target(s, m)
    s.eval_time += time.perf_counter() - tick
    save_checkpoint(s)


def reach_target(s: Session, m: dict[str, Any]) -> None:
    """``train.target_metric``: record the first validation that reaches it, with the test
    metrics of that very state (their evaluation is not training time)."""
    target = s.recipe.train.target_metric
    if target is None or s.target is not None:
        return
    value = float(m[s.tracker.metric])
    if not (value >= target if s.tracker.greater else value <= target):
        return
    test = s.evaluate(s.test_dl, "test") if s.test_dl else None
    s.target = {
        "metric": s.tracker.metric, "target": target, "value": value,
        "wall_s": m["wall_s"], "cpu_s": m["cpu_s"], "train_time_s": m["train_time_s"],
        "step": s.step, "epoch": s.epoch, "test": test,
    }
    shown = f", test {s.tracker.metric}={test[s.tracker.metric]:.4f}" if test else ""
    s.say(f"peftgov: target {s.tracker.metric}>={target} reached at step {s.step}, "
          f"{m['wall_s']:.1f} s into the run{shown}")


def stopping(s: Session) -> bool:
    """Early stopping (patience), or the quality target reached with ``stop_at_target``."""
    return s.tracker.should_stop or (s.recipe.train.stop_at_target and s.target is not None)


def train(s: Session) -> None:
    """The optimizer steps, from ``s.step`` to the schedule's end or an early stop."""
    tc, accelerator, model, optimizer = s.recipe.train, s.accelerator, s.model, s.optimizer
    s.start_time = time.perf_counter()
    trainable_params = [p for p in model.parameters() if p.requires_grad]
    bar = tqdm(
        total=s.total_steps, initial=s.step, disable=not (s.progress and s.main), desc="train",
        dynamic_ncols=True,
    )
    model.train()
    try:
        while s.step < s.total_steps and not stopping(s):
            # The order of an epoch depends on (seed, epoch) only, so a resumed run sees the same
            # batches. Accelerate's loader re-sets the epoch from its own counter: set both.
            s.train_dl.set_epoch(s.epoch)
            s.sampler.set_epoch(s.epoch)
            loader = (
                accelerator.skip_first_batches(s.train_dl, s.position) if s.position else s.train_dl
            )
            accelerator.step = s.position
            for batch in loader:
                s.position += 1
                with accelerator.accumulate(model):
                    loss = s.task.loss(model, batch)
                    if s.penalty is not None:
                        loss = loss + s.penalty(s.unwrapped())
                    if not torch.isfinite(loss.detach()):
                        raise NonFiniteLoss(
                            f"{s.recipe.source}: loss became {loss.item()} at step {s.step + 1} "
                            "(lower train.lr, or check the data); the last checkpoint is kept"
                        )
                    accelerator.backward(loss)
                    if accelerator.sync_gradients and tc.max_grad_norm:
                        accelerator.clip_grad_norm_(trainable_params, tc.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                s.samples += batch["input_ids"].shape[0]
                s.tokens += s.task.tokens_in(batch)
                if not accelerator.sync_gradients:
                    continue
                s.scheduler.step()  # once per optimizer step
                s.step += 1
                bar.update(1)
                if s.step % tc.log_every == 0 or s.step == s.total_steps:
                    lr = s.scheduler.get_last_lr()[0]
                    bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr:.2e}")
                    s.log({"step": s.step, "epoch": s.epoch, "loss": loss.item(), "lr": lr})
                if tc.eval_every and s.step % tc.eval_every == 0:
                    validate(s)
                elif tc.checkpoint_every and s.step % tc.checkpoint_every == 0:
                    save_checkpoint(s)
                if s.step >= s.total_steps or stopping(s):
                    break
            if stopping(s):
                break
            if tc.eval_every is None or (s.step >= s.total_steps and s.step % tc.eval_every):
                validate(s)  # end of each epoch, or the final partial interval
            s.epoch, s.position = s.epoch + 1, 0
        if not s.tracker.history:  # no step to take (train.epochs=0): validate the model as is
            validate(s)
    finally:
        bar.close()  # an error message must not land on the progress bar's line


def finish(s: Session) -> TrainResult:
    """Test the best state, write the artifact and metrics.json (last), report."""
    recipe, accelerator = s.recipe, s.accelerator
    train_time = train_seconds(s)
    unwrapped = s.unwrapped()
    restore_snapshot(unwrapped, s.tracker.best_state)
    if s.step == 0 and s.test_before is not None:
        test_after = s.test_before  # nothing trained: the model tested before training
    else:
        test_after = s.evaluate(s.test_dl, "test") if s.test_dl else None
    with s.memory.phase("eval"):
        final = (  # a task's optional extras (e.g. generation quality), on the main process
            s.task.final_metrics(
                unwrapped, s.tokenizer, recipe, s.prepared.state,
                recipe.data.test or recipe.data.validation,
            )
            if s.main
            else {}
        )
    metrics = {**_metrics(s, train_time, test_after), **final}
    accelerator.wait_for_everyone()
    if s.main:
        with s.memory.phase("save"):
            s.method.save(unwrapped, s.run_dir)
            artifacts.make_portable(s.run_dir, portable_name(recipe.model))
            s.tokenizer.save_pretrained(s.run_dir / "tokenizer")
            provenance.write(s.run_dir, s.inputs)
        metrics.update(_memory_fields(s))  # the save phase included
        # Only what the method saved: the run directory's bookkeeping, the tokenizer, the
        # manifest and the resume checkpoint (removed once metrics.json is written) are not
        # the artifact.
        bookkeeping = {
            "tokenizer", artifacts.LOG, artifacts.RECIPE, artifacts.TASK_STATE,
            artifacts.MARKER, artifacts.BACKBONE, provenance.MANIFEST, checkpoint.DIR,
            f"{checkpoint.DIR}.tmp",
        }
        metrics["artifact_bytes"] = sum(
            artifacts.dir_bytes(p) for p in s.run_dir.iterdir() if p.name not in bookkeeping
        )
        s.log_file.close()
        artifacts.finish_run(s.run_dir, metrics)
        checkpoint.remove(s.run_dir)
        if test_after:
            metric = s.tracker.metric
            s.say(
                f"peftgov: test {metric}={test_after.get(metric, float('nan')):.4f}"
                f" (before training {s.test_before.get(metric, float('nan')):.4f})"
            )
        for key, value in final.items():  # one line per extra section: its float figures
            figures = value.items() if isinstance(value, dict) else [(key, value)]
            shown = " ".join(f"{k}={v:.4f}" for k, v in figures if isinstance(v, float))
            s.say(f"peftgov: {key} {shown}")
    accelerator.wait_for_everyone()
    unwrapped.eval()  # ready for inference: no dropout
    return TrainResult(run_dir=s.run_dir, metrics=metrics, model=unwrapped)


def _metrics(s: Session, train_time: float, test_after: dict | None) -> dict[str, Any]:
    """The run's metrics.json record (without the artifact size, known once it is saved)."""
    recipe, accelerator, tc = s.recipe, s.accelerator, s.recipe.train
    samples_all = int(accelerator.reduce(s.samples, reduction="sum"))
    tokens_all = int(accelerator.reduce(s.tokens, reduction="sum"))
    flops = s.flops_per_token * tokens_all if s.flops_per_token is not None else None
    return {
        "method": recipe.method.name,
        "task": recipe.task.name,
        "model": recipe.model.gguf or recipe.model.name,
        "dataset": recipe.dataset_name(),
        "seed": tc.seed,
        "trainable_params": s.trainable,
        "total_params": s.total,
        "trainable_pct": 100.0 * s.trainable / s.total,
        "steps": s.step,
        "best_step": s.tracker.best_step,
        "metric": s.tracker.metric,
        "train_examples": len(s.prepared.train),
        "train_time_s": train_time,
        "train_samples_per_s": samples_all / train_time if train_time else 0.0,
        "train_tokens_per_s": tokens_all / train_time if train_time else 0.0,
        **_memory_fields(s),
        **perf.mfu_fields(
            flops, train_time, accelerator.mixed_precision, perf.device_key(accelerator.device)
        ),
        "num_processes": accelerator.num_processes,
        "mixed_precision": accelerator.mixed_precision,
        "eval": s.tracker.best_metrics,
        "eval_history": s.tracker.history,
        "test": test_after,
        "test_before": s.test_before,
        "test_before_cost": s.test_before_cost,
        "target": s.target,
        "wall_s": run_seconds(s),
        "cpu_s": run_cpu_seconds(s),
        "data_counts": s.prepared.state.get("counts", {}),
        "notes": s.prepared.notes,
        "redaction": s.redacted,
        "versions": artifacts.versions(),
    }


def _memory_fields(s: Session) -> dict[str, Any]:
    """``peak_memory_mb``: the whole process (as ever); ``memory_mb``: the peak of each phase
    (:mod:`peftgov.memory`; ``None`` where the counter cannot be reset)."""
    return {"peak_memory_mb": s.memory.process_peak_mb(), "memory_mb": s.memory.report()}
