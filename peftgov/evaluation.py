"""Evaluation: metrics of a model over a loader, shared by the training loop (validation, the
test set before and after training) and by ``peftgov eval`` on a finished run."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .tasks import Task


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
    # no_grad, not inference_mode: validations run mid-training, and a buffer a model builds
    # lazily in its forward would come out an inference tensor that autograd then refuses; on
    # banking77's validation (1,000 rows, MiniLM LoRA) inference_mode saved nothing measurable
    # (three alternating passes: 5.4-6.3 CPU s against 5.4-5.8).
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


def make_loader(
    dataset, task: Task, tokenizer, *, batch_size: int, pad_to_multiple_of: int | None = None
) -> DataLoader:
    """Evaluation batches of similar lengths, longest first: far less padding than file order
    (and the memory peak comes at once). Every metric is order-free: predictions and
    references travel together."""
    lengths = [len(ids) for ids in dataset["input_ids"]]
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sorted(range(len(lengths)), key=lambda i: -lengths[i]),
        collate_fn=task.collator(tokenizer, pad_to_multiple_of),
        generator=private_generator(),
    )
