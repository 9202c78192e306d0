"""THE training loop, shared by every method and every task, on Accelerate.

Read :func:`run` first: it is the whole story in four stages. :func:`~peftgov.session.build`
makes the model (backbone -> method, everything else frozen), the data loaders, the optimizer
and schedule (a :class:`~peftgov.session.Session`);
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

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from . import artifacts, before, checkpoint, perf, provenance
from .allocator import allocator_settings, fixed_mmap_threshold
from .backbones import portable_name
from .config import Recipe
from .errors import PeftgovError
from .hardware import cpu_has_native_bf16, process_cpu_seconds, process_seconds
from .memory import PhasePeaks, frozen_heap
from .session import Session, build
from .tracker import BestTracker, restore_snapshot, trainable_snapshot


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    model: nn.Module | None = field(default=None, repr=False)
    """The trained model (unwrapped, best state) in this process, for further use in Python."""


class NonFiniteLoss(PeftgovError):
    pass


# --------------------------------------------------------------------------- the run



def run(
    recipe: Recipe, *, progress: bool = True, setup: Callable[[Session], None] | None = None
) -> TrainResult:
    """Train ``recipe``: build, open the run directory, start (or resume), train, finish.
    ``setup``: called on the built session before anything is written or evaluated (continual
    learning carries an earlier stage's weights over and sets ``penalty`` there)."""
    fixed_mmap_threshold()  # freed activations leave the process (see peftgov.allocator)
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



def open_run_dir(s: Session) -> None:
    """Mark the run directory as in progress and write what is known before training; say
    what is about to run."""
    recipe = s.recipe
    if s.main:
        artifacts.start_run(s.run_dir, overwrite=recipe.output.overwrite, resuming=s.resuming)
        artifacts.write_atomic(s.run_dir / artifacts.RECIPE, recipe.to_yaml())
        artifacts.write_json(s.run_dir / artifacts.TASK_STATE, s.prepared.state)
        artifacts.write_json(s.run_dir / artifacts.BACKBONE, s.backbone)
        s.log_file = open(s.run_dir / artifacts.LOG, "a" if s.resuming else "w", encoding="utf-8")
    for line in describe(s):
        s.say(line)


def describe(s: Session) -> list[str]:
    """What is about to run, in the lines printed before the first step: warnings, the data's
    notes, what redaction replaced, and one summary line."""
    recipe, tc, accelerator = s.recipe, s.recipe.train, s.accelerator
    lines = []
    if accelerator.mixed_precision == "bf16" and accelerator.device.type == "cpu":
        if not cpu_has_native_bf16():
            lines.append(
                "peftgov: warning: bf16 on a CPU without AVX-512 BF16 / AMX is emulated and "
                "usually slower than fp32 here; use mixed precision 'no' on this machine"
            )
    lines += [f"peftgov: {note}" for note in s.prepared.notes]
    if s.redacted is not None:
        found = ", ".join(f"{k} {v}" for k, v in sorted(s.redacted.items())) or "nothing found"
        lines.append(f"peftgov: personal information redacted before tokenization: {found}")
    lines.append(
        f"peftgov: {recipe.method.name} on {recipe.model.name} | trainable {s.trainable:,} / "
        f"{s.total:,} ({100 * s.trainable / s.total:.3f}%) | {len(s.prepared.train):,} train "
        f"examples | {s.total_steps:,} steps of {tc.batch_size} ({accelerator.num_processes} proc "
        f"x {s.micro} x {s.accum} accum) | precision {accelerator.mixed_precision}"
    )
    return lines


def check(recipe: Recipe) -> list[str] | None:
    """What ``run`` would train, without training or writing anything (``peftgov train
    --check``): the backbone, data, head and method are built as ``run`` builds them, so a bad
    row, an unreadable file, a sequence limit or a finished run already in ``output.dir`` stops
    it with the same error; returns the lines ``run`` prints before its first step (None in the
    other processes of a multi-process launch, which print nothing)."""
    s = build(recipe, progress=False)
    return describe(s) if s.main else None


def start(s: Session) -> None:
    """Resume from the checkpoint, or evaluate the untouched test set; FLOPs per token."""
    recipe, accelerator = s.recipe, s.accelerator
    s.tracker = BestTracker(
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
        "allocator": allocator_settings(),
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
