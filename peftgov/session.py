"""One training run's parts: :func:`build` makes them from a recipe (backbone -> method,
everything else frozen; data loaders, optimizer and schedule, all prepared by Accelerate) into a
:class:`Session`, which :mod:`peftgov.loop` then starts, trains and finishes."""

from __future__ import annotations

import contextlib
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import artifacts, checkpoint, limits, prefix_cache, redact
from .backbones import fingerprint, load_tokenizer, resolve
from .config import Recipe
from .errors import PeftgovError, RecipeError
from .evaluation import evaluate, make_loader, private_generator
from .hardware import use_cpu
from .memory import PhasePeaks
from .methods import METHODS, Method, get_method
from .runs import names_redactor
from .sampling import LengthGroupedBatchSampler
from .tasks import Prepared, Task, get_task
from .tracker import BestTracker


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
    decay on biases and normalisation weights; the task ``head`` at ``train.head_lr`` if set.
    torch's fused AdamW where it runs: one update of MiniLM-L6's 22.4M weights (full
    fine-tuning) took 14 ms of CPU against 92 ms for the per-tensor loop torch picks by default
    on the CPU (benchmarks/results/optimizer/adamw_fused.txt)."""
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
    try:  # one fused kernel per step where this torch and device have it (CPU included)
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except RuntimeError:  # a parameter fused AdamW does not take: the per-tensor loop
        return torch.optim.AdamW(groups, lr=lr)


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
    tracker: BestTracker | None = None
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
