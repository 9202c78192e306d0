"""THE training loop, shared by every method and every task, on Accelerate.

Read it top to bottom: build (backbone -> method -> data), evaluate the untouched test set,
train with gradient accumulation / clipping / warmup + linear decay, evaluate every epoch or N
steps keeping the best trainable state (early stopping optional), evaluate the test set with the
best state, write the run directory. Hardware (processes, mixed precision) comes from the
Accelerate launch config; nothing here branches on the method or the task.
"""

from __future__ import annotations

import json
import math
import os
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import artifacts, checkpoint, limits, perf
from .backbones import fingerprint, load_tokenizer, portable_name, resolve
from .config import Recipe
from .errors import PeftgovError, RecipeError
from .methods import get_method
from .sampling import LengthGroupedBatchSampler
from .tasks import Task, get_task


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


def peak_memory_mb() -> float:
    """Peak GPU memory allocated if on CUDA, else the process's peak resident set size."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def use_cpu() -> bool:
    """Run on the CPU when there is no GPU or ACCELERATE_USE_CPU is set. Accelerate only
    forms a multi-process CPU group (gloo, e.g. under torchrun) when told ``cpu=True``."""
    flag = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    return flag or not torch.cuda.is_available()


def cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX: only there is CPU bf16 autocast faster than fp32 (on AVX2-only
    CPUs it is emulated and several times slower)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def higher_is_better(metric: str) -> bool:
    return not (metric.endswith("loss") or metric.endswith("perplexity"))


def evaluate(
    model: nn.Module,
    loader: DataLoader,
    task: Task,
    state: dict,
    accelerator: Any,
    *,
    progress: bool = False,
    desc: str = "eval",
) -> dict[str, Any]:
    """Metrics over ``loader``; predictions are gathered across processes without the
    duplicates Accelerate pads the last batch with. ``progress``: a bar on the main process."""
    was_training = model.training
    model.eval()
    preds: list = []
    refs: list = []
    loss_sum, n = 0.0, 0
    bar = tqdm(
        loader,
        desc=desc,
        leave=False,
        dynamic_ncols=True,
        disable=not (progress and accelerator.is_main_process),
    )
    with torch.no_grad():
        for batch in bar:
            out = task.eval_step(model, batch)
            p, r = out["preds"], out["refs"]
            if p.dim() > 1:  # token-level outputs: pad to a common length across processes
                p = accelerator.pad_across_processes(p, dim=1, pad_index=-100)
                r = accelerator.pad_across_processes(r, dim=1, pad_index=-100)
            size = torch.tensor([r.shape[0]], device=r.device)
            loss = out["loss"].detach().float().reshape(1) * size
            p, r = accelerator.gather_for_metrics((p, r))
            # One (loss x size, size) pair per process: plain gather (gather_for_metrics would
            # treat them as samples and cut them). In multi-process runs the last batch's
            # padding duplicates (at most processes - 1 examples) count in the loss only.
            loss, size = accelerator.gather((loss, size))
            preds += p.tolist()
            refs += r.tolist()
            loss_sum += float(loss.sum())
            n += int(size.sum())
    metrics = task.compute_metrics(preds, refs, state)
    metrics["loss"] = loss_sum / max(n, 1)
    model.train(was_training)
    return metrics


def private_generator(seed: int = 0) -> torch.Generator:
    """Creating a DataLoader iterator draws a seed from its generator; with the global one
    that would shift the dropout stream (and break exact resume), so each loader has its own."""
    return torch.Generator().manual_seed(seed)


def make_loader(dataset, task: Task, tokenizer, *, batch_size: int) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        collate_fn=task.collator(tokenizer),
        generator=private_generator(),
    )


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

        saved = yaml.safe_load(saved_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    current = recipe.to_dict()
    saved.pop("output", None)
    current.pop("output", None)
    if saved != current:
        raise PeftgovError(
            f"{run_dir}: holds an interrupted run of a different recipe ({saved_file}); "
            "use another output.dir, or output.resume=false to start this one afresh there"
        )
    return True


# --------------------------------------------------------------------------- the loop


# Methods that train the backbone's own (here quantized, so untrainable) weights.
NO_KBIT_METHODS = {"full", "freeze"}


def prepare_kbit(model: nn.Module, recipe: Recipe) -> nn.Module:
    """QLoRA-style preparation of a 4-/8-bit backbone (peft's ``prepare_model_for_kbit_training``:
    norms and other float weights in fp32, input gradients on for the adapters below)."""
    if recipe.method.name in NO_KBIT_METHODS:
        raise RecipeError(
            recipe.source,
            "model.quantization",
            f"method {recipe.method.name!r} trains the backbone's own weights, which a "
            f"{recipe.model.quantization} backbone cannot; use lora (QLoRA), adapter, bitfit, "
            "prompt or ia3",
        )
    from peft import prepare_model_for_kbit_training

    return prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=recipe.train.gradient_checkpointing
    )


def run(recipe: Recipe, *, progress: bool = True) -> TrainResult:
    from accelerate import Accelerator, PartialState
    from accelerate.utils import set_seed
    from transformers import get_linear_schedule_with_warmup

    tc = recipe.train
    cpu = use_cpu()
    micro, accum = _batch_shape(recipe, PartialState(cpu=cpu).num_processes)
    from accelerate.utils import DataLoaderConfiguration

    # The sampler builds global micro-batches (micro x processes) and Accelerate splits each
    # across the processes, so every optimizer step sees the same examples on 1 or N processes.
    accelerator = Accelerator(
        gradient_accumulation_steps=accum,
        cpu=cpu,
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )
    main = accelerator.is_main_process
    run_dir = recipe.run_dir()
    if (run_dir / artifacts.METRICS).is_file() and not recipe.output.overwrite:
        artifacts.start_run(run_dir, overwrite=False)  # raises with the message
    resuming = _can_resume(recipe, run_dir)

    # ---- build: backbone -> data -> head -> method (everything else frozen)
    set_seed(tc.seed)
    task, method = get_task(recipe.task.name), get_method(recipe.method.name)
    path = resolve(recipe.model, source=recipe.source)
    tokenizer = load_tokenizer(path, recipe.model)
    limits.check(recipe, path, tokenizer)
    prepared = task.prepare(recipe, tokenizer)
    model = task.build_model(path, recipe, prepared.state)
    if recipe.model.quantization:
        model = prepare_kbit(model, recipe)
    model = method.apply(
        model, recipe.method, head=task.head_modules(model), peft_task_type=task.peft_task_type
    )
    for p in model.parameters():  # trainable weights stay fp32 whatever the autocast dtype
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()
    if tc.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
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
        collate_fn=task.collator(tokenizer),
        generator=private_generator(tc.seed),
    )
    val_dl = make_loader(prepared.validation, task, tokenizer, batch_size=tc.eval_batch_size)
    test_dl = (
        make_loader(prepared.test, task, tokenizer, batch_size=tc.eval_batch_size)
        if prepared.test is not None
        else None
    )
    optimizer = build_optimizer(model, recipe, task.head_modules(model))
    model, optimizer, train_dl, val_dl = accelerator.prepare(model, optimizer, train_dl, val_dl)
    if test_dl is not None:
        test_dl = accelerator.prepare(test_dl)
    steps_per_epoch = max(1, math.ceil(len(train_dl) / accum))
    total_steps = tc.max_steps or max(1, math.ceil(tc.epochs * steps_per_epoch))
    # Stepped once per optimizer step by us (not prepared: Accelerate would step it per process).
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(tc.warmup_ratio * total_steps), total_steps
    )

    if main:
        artifacts.start_run(run_dir, overwrite=recipe.output.overwrite, resuming=resuming)
        artifacts.write_atomic(run_dir / artifacts.RECIPE, recipe.to_yaml())
        artifacts.write_json(run_dir / artifacts.TASK_STATE, prepared.state)
        artifacts.write_json(run_dir / artifacts.BACKBONE, fingerprint(path, recipe.model))
        log_file = open(run_dir / artifacts.LOG, "a" if resuming else "w", encoding="utf-8")
    say = tqdm.write if main else (lambda *_: None)
    if accelerator.mixed_precision == "bf16" and accelerator.device.type == "cpu":
        if not cpu_has_native_bf16():
            say(
                "peftgov: warning: bf16 on a CPU without AVX-512 BF16 / AMX is emulated and "
                "usually slower than fp32 here; use mixed precision 'no' on this machine"
            )
    for note in prepared.notes:
        say(f"peftgov: {note}")
    say(
        f"peftgov: {recipe.method.name} on {recipe.model.name} | trainable {trainable:,} / "
        f"{total:,} ({100 * trainable / total:.3f}%) | {len(prepared.train)} train examples | "
        f"{total_steps} steps of {tc.batch_size} ({accelerator.num_processes} proc x {micro} x "
        f"{accum} accum) | precision {accelerator.mixed_precision}"
    )

    def log(record: dict) -> None:
        if main:
            log_file.write(json.dumps(record) + "\n")
            log_file.flush()

    # ---- train (or resume)
    tracker = _BestTracker(tc.metric or task.default_metric, tc.patience, recipe.source)
    step = epoch = position = 0  # optimizer steps; epochs; micro-batches into this epoch
    samples = torch.zeros((), dtype=torch.long, device=accelerator.device)
    tokens = torch.zeros((), dtype=torch.long, device=accelerator.device)
    elapsed_before = 0.0  # training seconds spent before a resume
    if resuming:
        ck = checkpoint.load(run_dir, optimizer=optimizer, accelerator=accelerator)
        restore_snapshot(accelerator.unwrap_model(model), ck["trainable"])
        scheduler.load_state_dict(ck["scheduler"])
        tracker.load(ck["tracker"], ck["best"])
        step, epoch, position = ck["step"], ck["epoch"], ck["position"]
        if position >= len(train_dl):
            epoch, position = epoch + 1, 0
        samples += ck["samples"]
        tokens += ck["tokens"]
        elapsed_before = ck["train_time_s"]
        test_before = ck["test_before"]
        say(f"peftgov: resuming {run_dir} from its checkpoint at step {step} (epoch {epoch})")
    else:
        test_before = (
            evaluate(model, test_dl, task, prepared.state, accelerator, progress=progress,
                     desc="test (before training)")
            if test_dl
            else None
        )
        tracker.best_state = trainable_snapshot(accelerator.unwrap_model(model))
    # FLOPs of one real forward + backward per position (for MFU), on the unwrapped model
    first = task.collator(tokenizer)(
        [prepared.train[i] for i in range(min(micro, len(prepared.train)))]
    )
    model.train()
    flops_per_token = perf.train_flops_per_token(
        accelerator.unwrap_model(model),
        {k: v.to(accelerator.device) for k, v in first.items()},
        accelerator.autocast(),
    )

    eval_time = 0.0
    start = time.perf_counter()

    def save_checkpoint() -> None:
        nonlocal eval_time
        tick = time.perf_counter()
        checkpoint.save(
            run_dir,
            trainable=trainable_snapshot(accelerator.unwrap_model(model)),
            best=tracker.best_state,
            optimizer=optimizer,
            state={
                "step": step,
                "epoch": epoch,
                "position": position,
                "scheduler": scheduler.state_dict(),
                "tracker": tracker.dump(),
                "samples": int(samples),
                "tokens": int(tokens),
                "train_time_s": elapsed_before + time.perf_counter() - start - eval_time,
                "test_before": test_before,
            },
            accelerator=accelerator,
        )
        eval_time += time.perf_counter() - tick  # checkpoint I/O is not training time

    def validate() -> None:
        nonlocal eval_time
        tick = time.perf_counter()
        m = evaluate(
            model, val_dl, task, prepared.state, accelerator, progress=progress, desc="validation"
        )
        m.update(step=step, epoch=epoch)
        log({"eval": m})
        improved = tracker.update(m, lambda: trainable_snapshot(accelerator.unwrap_model(model)))
        say(
            f"peftgov: step {step} validation {tracker.metric}={m[tracker.metric]:.4f} "
            f"loss={m['loss']:.4f}" + (" (best)" if improved else "")
        )
        if tracker.should_stop:
            say(f"peftgov: early stop at step {step}: no improvement in {tc.patience} evaluations")
        eval_time += time.perf_counter() - tick
        save_checkpoint()

    trainable_params = [p for p in model.parameters() if p.requires_grad]
    bar = tqdm(
        total=total_steps, initial=step, disable=not (progress and main), desc="train", dynamic_ncols=True
    )
    model.train()
    try:
        while step < total_steps and not tracker.should_stop:
            # The order of an epoch depends on (seed, epoch) only, so a resumed run sees the same
            # batches. Accelerate's loader re-sets the epoch from its own counter: set both.
            train_dl.set_epoch(epoch)
            sampler.set_epoch(epoch)
            loader = accelerator.skip_first_batches(train_dl, position) if position else train_dl
            accelerator.step = position
            for batch in loader:
                position += 1
                with accelerator.accumulate(model):
                    loss = model(**batch).loss
                    if not torch.isfinite(loss.detach()):
                        raise NonFiniteLoss(
                            f"{recipe.source}: loss became {loss.item()} at step {step + 1} "
                            "(lower train.lr, or check the data); the last checkpoint is kept"
                        )
                    accelerator.backward(loss)
                    if accelerator.sync_gradients and tc.max_grad_norm:
                        accelerator.clip_grad_norm_(trainable_params, tc.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                samples += batch["input_ids"].shape[0]
                tokens += task.tokens_in(batch)
                if not accelerator.sync_gradients:
                    continue
                scheduler.step()  # once per optimizer step
                step += 1
                bar.update(1)
                if step % tc.log_every == 0 or step == total_steps:
                    lr = scheduler.get_last_lr()[0]
                    bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr:.2e}")
                    log({"step": step, "epoch": epoch, "loss": loss.item(), "lr": lr})
                if tc.eval_every and step % tc.eval_every == 0:
                    validate()
                elif tc.checkpoint_every and step % tc.checkpoint_every == 0:
                    save_checkpoint()
                if step >= total_steps or tracker.should_stop:
                    break
            if tc.eval_every is None or (step >= total_steps and step % tc.eval_every):
                validate()  # end of each epoch, or the final partial interval
            epoch, position = epoch + 1, 0
    finally:
        bar.close()  # an error message must not land on the progress bar's line
    train_time = elapsed_before + time.perf_counter() - start - eval_time

    # ---- best state, test, artifacts
    unwrapped = accelerator.unwrap_model(model)
    restore_snapshot(unwrapped, tracker.best_state)
    test_after = (
        evaluate(model, test_dl, task, prepared.state, accelerator, progress=progress, desc="test")
        if test_dl
        else None
    )
    final = (  # a task's optional extras (e.g. generation quality), on the main process
        task.final_metrics(
            unwrapped, tokenizer, recipe, prepared.state, recipe.data.test or recipe.data.validation
        )
        if main
        else {}
    )
    samples_all = int(accelerator.reduce(samples, reduction="sum"))
    tokens_all = int(accelerator.reduce(tokens, reduction="sum"))
    metrics: dict[str, Any] = {
        "method": recipe.method.name,
        "task": recipe.task.name,
        "model": recipe.model.gguf or recipe.model.name,
        "dataset": recipe.dataset_name(),
        "seed": tc.seed,
        "trainable_params": trainable,
        "total_params": total,
        "trainable_pct": 100.0 * trainable / total,
        "steps": step,
        "best_step": tracker.best_step,
        "metric": tracker.metric,
        "train_examples": len(prepared.train),
        "train_time_s": train_time,
        "train_samples_per_s": samples_all / train_time if train_time else 0.0,
        "train_tokens_per_s": tokens_all / train_time if train_time else 0.0,
        "peak_memory_mb": peak_memory_mb(),
        **perf.mfu_fields(
            flops_per_token * tokens_all if flops_per_token is not None else None,
            train_time,
            accelerator.mixed_precision,
            perf.device_key(accelerator.device),
        ),
        "num_processes": accelerator.num_processes,
        "mixed_precision": accelerator.mixed_precision,
        "eval": tracker.best_metrics,
        "eval_history": tracker.history,
        "test": test_after,
        "test_before": test_before,
        "data_counts": prepared.state.get("counts", {}),
        "notes": prepared.notes,
        "versions": artifacts.versions(),
    }
    metrics.update(final)
    accelerator.wait_for_everyone()
    if main:
        method.save(unwrapped, run_dir)
        artifacts.make_portable(run_dir, portable_name(recipe.model))
        tokenizer.save_pretrained(run_dir / "tokenizer")
        # Only what the method saved: the run directory's bookkeeping, the tokenizer and the
        # resume checkpoint (removed once metrics.json is written) are not the artifact.
        bookkeeping = {
            "tokenizer", artifacts.LOG, artifacts.RECIPE, artifacts.TASK_STATE,
            artifacts.MARKER, artifacts.BACKBONE, checkpoint.DIR, f"{checkpoint.DIR}.tmp",
        }
        metrics["artifact_bytes"] = sum(
            artifacts.dir_bytes(p) for p in run_dir.iterdir() if p.name not in bookkeeping
        )
        log_file.close()
        artifacts.finish_run(run_dir, metrics)
        checkpoint.remove(run_dir)
        if test_after:
            say(
                f"peftgov: test {tracker.metric}={test_after.get(tracker.metric, float('nan')):.4f}"
                f" (before training {test_before.get(tracker.metric, float('nan')):.4f})"
            )
        for key, value in final.items():  # one line per extra section: its float figures
            figures = value.items() if isinstance(value, dict) else [(key, value)]
            shown = " ".join(f"{k}={v:.4f}" for k, v in figures if isinstance(v, float))
            say(f"peftgov: {key} {shown}")
    accelerator.wait_for_everyone()
    unwrapped.eval()  # ready for inference: no dropout
    return TrainResult(run_dir=run_dir, metrics=metrics, model=unwrapped)
