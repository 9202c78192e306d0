"""Continual learning: a recipe's stages trained one after another, each an ordinary run of
THE loop (:func:`peftgov.loop.run`), into one run directory.

Layout of a continual run directory::

    recipe.yaml          the recipe, ``continual:`` section included
    data/stage<i>/       the files stage i trains, validates and tests on (replay included)
    stage<i>/            stage i's own finished run directory (``peftgov eval|predict`` work on it)
    metrics.json         written last: the accuracy matrix and its summaries (below)

Strategies (``continual.strategy``, see :class:`~peftgov.config.ContinualConfig`): ``naive``,
``replay``, ``l2`` and ``ewc`` share one method + head across stages: each stage starts from the
previous stage's trained weights (:func:`carry_over`), the head grown by the stage's new labels.
``per_task`` trains a fresh method + head per stage and routes each stage's examples to its own.

Metrics (Lopez-Paz & Ranzato, 2017): ``R[i][j]`` is the test metric (``train.metric``, the
task's default: accuracy) on stage j after training stage i, every stage evaluated after every
stage; ``b[j]`` the untrained model's; ACC = mean_j R[T-1][j], BWT = mean_{j<T-1} (R[T-1][j] -
R[j][j]), FWT = mean_{j>0} (R[j-1][j] - b[j]). Shared strategies predict over every label seen
so far (class-incremental): a stage whose labels are not in the head yet scores 0, so with
disjoint label sets FWT is 0 by construction. ``per_task`` predicts with stage j's own model
(its untrained one before stage j is trained): BWT and FWT are exactly 0.

An interrupted continual run starts again from its first stage; a continual run is one process
(not ``accelerate launch`` with several).
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import artifacts, loop
from .config import Recipe
from .data import carve_validation, read_rows, subsample
from .errors import PeftgovError, RecipeError
from .evaluation import evaluate, make_loader
from .methods.base import trainable_state
from .sampling import even_split
from .session import Session
from .tasks import Task, get_task

SHARED = ("naive", "replay", "l2", "ewc")
"""Strategies that train one method + head through every stage."""


@dataclass
class Stage:
    """One stage's raw rows (column values) and its labels, in head order."""

    name: str
    labels: list[str]
    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    test: list[dict[str, Any]]


# --------------------------------------------------------------------------- stages


def split_labels(labels: list[str], n: int, seed: int) -> list[list[str]]:
    """``labels`` shuffled with ``seed`` and cut into ``n`` groups of nearly equal size (the
    first ``len % n`` one larger)."""
    order = sorted(labels)
    random.Random(seed).shuffle(order)
    return even_split(order, n)


def _rows(spec: str, recipe: Recipe) -> list[dict[str, Any]]:
    return [r.values for r in read_rows(spec, recipe.data.format, recipe.data.columns)]


def _splits(recipe: Recipe, train: str, validation: str | None, test: str) -> dict[str, list]:
    """Train / validation / test rows of one data source, validation carved from train when
    absent (exactly as a plain run carves it), the recipe's sample caps applied (seeded)."""
    d, seed = recipe.data, recipe.train.seed
    rows = {"train": _rows(train, recipe), "test": _rows(test, recipe)}
    if validation:
        rows["validation"] = _rows(validation, recipe)
    else:
        rows["train"], rows["validation"] = carve_validation(
            rows["train"], d.validation_fraction, seed
        )
    rows["train"] = subsample(rows["train"], d.max_train_samples, seed)
    for split in ("validation", "test"):
        rows[split] = subsample(rows[split], d.max_eval_samples, seed)
    return rows


def plan_stages(recipe: Recipe, task: Task) -> list[Stage]:
    """The stages of ``recipe.continual``: its own files per stage, or ``data`` split by label."""
    cl, cfg = recipe.continual, recipe.task
    label = lambda row: task.label_of(row, cfg)  # noqa: E731
    if isinstance(cl.stages, list):
        stages = []
        for i, sd in enumerate(cl.stages):
            rows = _splits(recipe, sd.train, sd.validation, sd.test)
            labels = sorted({label(r) for r in rows["train"]})
            stages.append(Stage(sd.name or f"stage{i}", labels, **rows))
        return stages
    if not recipe.data.test:
        raise RecipeError(recipe.source, "data.test", "continual learning needs a test file")
    rows = _splits(recipe, recipe.data.train, recipe.data.validation, recipe.data.test)
    present = sorted({label(r) for r in rows["train"]})
    if cl.split_labels is None:
        groups = split_labels(present, cl.stages, recipe.train.seed)
    else:
        groups = cl.split_labels
        listed = {lab for g in groups for lab in g}
        unknown = sorted(listed - set(present))
        missing = sorted(set(present) - listed)
        if unknown or missing:
            problem = (f"{unknown} never appear in {recipe.data.train}" if unknown
                       else f"{missing} of {recipe.data.train} are in no stage")
            raise RecipeError(recipe.source, "continual.split_labels", f"labels {problem}")
    if any(len(g) == 0 for g in groups):
        raise RecipeError(recipe.source, "continual.stages",
                          f"{cl.stages} stages for {len(present)} labels leaves a stage empty")
    return [
        Stage(f"stage{i}", list(g), *(
            [r for r in rows[split] if label(r) in set(g)]
            for split in ("train", "validation", "test")
        ))
        for i, g in enumerate(groups)
    ]


# --------------------------------------------------------------------------- replay


class ReplayBuffer:
    """A bounded, seeded memory of earlier stages' training examples (``continual.replay_size``).

    ``reservoir``: every example offered so far has the same chance to be held (Vitter's
    algorithm R); ``balanced``: every label seen holds ``capacity // labels`` examples (the first
    ``capacity % labels`` labels one more), drawn by a seeded shuffle of its rows (fewer if it
    has fewer). Same seed and same stages: the same buffer."""

    def __init__(self, capacity: int, policy: str, seed: int,
                 label: Callable[[dict[str, Any]], str]) -> None:
        self.capacity, self.policy, self.label = capacity, policy, label
        self.rng = random.Random(seed)
        self.offered = 0
        self.reservoir: list[dict[str, Any]] = []
        self.per_label: dict[str, list[dict[str, Any]]] = {}

    @property
    def items(self) -> list[dict[str, Any]]:
        if self.policy == "reservoir":
            return list(self.reservoir)
        return [row for rows in self.per_label.values() for row in rows]

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Offer a finished stage's training rows."""
        if self.policy == "reservoir":
            for row in rows:
                self.offered += 1
                if len(self.reservoir) < self.capacity:
                    self.reservoir.append(row)
                else:
                    j = self.rng.randrange(self.offered)
                    if j < self.capacity:
                        self.reservoir[j] = row
            return
        for row in rows:
            self.per_label.setdefault(self.label(row), [])
        new = {lab: [] for lab, held in self.per_label.items() if not held}
        for row in rows:
            if self.label(row) in new:
                new[self.label(row)].append(row)
        for lab, pool in new.items():
            self.rng.shuffle(pool)
            self.per_label[lab] = pool
        quota, extra = divmod(self.capacity, len(self.per_label))
        for i, lab in enumerate(self.per_label):
            self.per_label[lab] = self.per_label[lab][: quota + (i < extra)]


# --------------------------------------------------------------------------- weights


def carry_over(model: nn.Module, previous: dict[str, torch.Tensor]) -> None:
    """Load an earlier stage's trainable tensors into ``model``. A tensor that grew along its
    first dimension (the head: one row per label) gets the old rows, bit-identical, in its
    first rows; its new rows keep their fresh initialisation."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, old in previous.items():
            new = params.get(name)
            if new is None or new.shape[1:] != old.shape[1:] or new.shape[0] < old.shape[0]:
                got = None if new is None else tuple(new.shape)
                raise PeftgovError(f"continual: cannot carry {name} {tuple(old.shape)} over to "
                                   f"{got} (the stages must share backbone and method)")
            new[: old.shape[0]].copy_(old.to(new.device, new.dtype))


class Anchor:
    """``strength / 2 * sum_k w_k (theta_k - theta*_k)^2`` over the tensors of ``anchor`` (the
    weights after the previous stage; a grown tensor: its old rows), ``w`` = 1 (L2) or a
    diagonal Fisher (EWC, Kirkpatrick et al., 2017). Called with the model, each step."""

    def __init__(self, anchor: dict[str, torch.Tensor], weights: dict[str, torch.Tensor] | None,
                 strength: float) -> None:
        self.anchor, self.weights, self.strength = anchor, weights, strength

    def __call__(self, model: nn.Module) -> torch.Tensor:
        params = dict(model.named_parameters())
        total = torch.zeros((), device=next(iter(params.values())).device)
        for name, theta_star in self.anchor.items():
            p = params[name][: theta_star.shape[0]]
            theta_star = theta_star.to(p.device)
            sq = (p - theta_star).pow(2)
            if self.weights is not None:
                sq = sq * self.weights[name].to(p.device)
            total = total + sq.sum()
        return self.strength / 2 * total


def fisher_diagonal(model: nn.Module, dataset, collator, *, samples: int, seed: int,
                    device: torch.device) -> dict[str, torch.Tensor]:
    """The empirical Fisher's diagonal over the trainable tensors: the mean over ``samples``
    training examples (a seeded sample) of each example's squared loss gradient (dropout off)."""
    names = {n: p for n, p in model.named_parameters() if p.requires_grad}
    fisher = {n: torch.zeros_like(p, device="cpu") for n, p in names.items()}
    picked = random.Random(seed).sample(range(len(dataset)), min(samples, len(dataset)))
    was_training = model.training
    model.eval()
    for i in picked:
        batch = {k: v.to(device) for k, v in collator([dataset[i]]).items()}
        model.zero_grad(set_to_none=True)
        model(**batch).loss.backward()
        for n, p in names.items():
            if p.grad is not None:
                fisher[n] += p.grad.detach().float().cpu().pow(2)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {n: f / max(len(picked), 1) for n, f in fisher.items()}


def _add_grown(total: dict[str, torch.Tensor] | None, new: dict[str, torch.Tensor]):
    """``total + new`` where ``new``'s tensors may have grown (zeros for the new rows)."""
    if total is None:
        return new
    out = {}
    for name, f in new.items():
        old = total.get(name)
        out[name] = f.clone()
        if old is not None:
            out[name][: old.shape[0]] += old
    return out


# --------------------------------------------------------------------------- metrics


def transfer_metrics(R: list[list[float]], b: list[float]) -> dict[str, float]:
    """ACC, BWT, FWT of an accuracy matrix ``R`` (T x T) and the untrained figures ``b``."""
    t = len(R)
    acc = sum(R[t - 1]) / t
    bwt = sum(R[t - 1][j] - R[j][j] for j in range(t - 1)) / (t - 1) if t > 1 else 0.0
    fwt = sum(R[j - 1][j] - b[j] for j in range(1, t)) / (t - 1) if t > 1 else 0.0
    return {"ACC": acc, "BWT": bwt, "FWT": fwt}


@dataclass
class _Scorer:
    """Stage test sets, tokenized once per label order; one model's metric on one of them."""

    recipe: Recipe
    task: Task
    files: list[str]
    labels: list[str]
    metric: str
    cache: dict[tuple, Any] = field(default_factory=dict)

    def __call__(self, s: Session, model: nn.Module, head: list[str], j: int) -> float:
        order = head + [lab for lab in self.labels if lab not in head]
        key = (j, tuple(order), len(head))
        if key not in self.cache:
            data = self.task.prepare_file(self.files[j], s.recipe, s.tokenizer, {"labels": order})
            # A label the head lacks yet can never be predicted: counted wrong, kept out of the
            # loss (-100, transformers' ignore index).
            data = data.map(lambda x: {"labels": x["labels"] if x["labels"] < len(head) else -100})
            loader = make_loader(data, self.task, s.tokenizer,
                                 batch_size=self.recipe.train.eval_batch_size)
            self.cache[key] = s.accelerator.prepare(loader)
        m = evaluate(model, self.cache[key], self.task, {"labels": order}, s.accelerator)
        return float(m[self.metric])


# --------------------------------------------------------------------------- the run


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    artifacts.write_atomic(path, text)
    return str(path)


def stage_recipe(recipe: Recipe, files: dict[str, str], labels: list[str], out: Path) -> Recipe:
    """Stage i as an ordinary recipe: its data files, the head's labels, its own run folder."""
    return dataclasses.replace(
        recipe,
        data=dataclasses.replace(
            recipe.data, name=recipe.dataset_name(), format="jsonl", columns=None,
            max_train_samples=None, max_eval_samples=None, **files,
        ),
        task=dataclasses.replace(recipe.task, labels=labels),
        # The before-training cache assumes the method starts as the backbone: not here.
        train=dataclasses.replace(recipe.train, cache_test_before=False),
        output=dataclasses.replace(recipe.output, dir=str(out), overwrite=True),
        continual=None,
    )


@dataclass
class _Carried:
    """What a shared strategy carries from one stage to the next."""

    buffer: ReplayBuffer
    previous: dict[str, torch.Tensor] | None = None  # trainable weights after the last stage
    fisher: dict[str, torch.Tensor] | None = None  # ewc: summed over the stages so far
    penalty: Anchor | None = None

    def after(self, cl, model: nn.Module, s: Session, stage: Stage, seed: int) -> None:
        self.previous = {n: v.clone() for n, v in trainable_state(model).items()}
        if cl.strategy == "ewc":
            f = fisher_diagonal(model, s.prepared.train, s.task.collator(s.tokenizer),
                                samples=cl.fisher_samples, seed=seed, device=s.accelerator.device)
            self.fisher = _add_grown(self.fisher, f)
        if cl.strategy in ("l2", "ewc"):
            weights = self.fisher if cl.strategy == "ewc" else None
            self.penalty = Anchor(self.previous, weights, cl.strength)
        self.buffer.add(stage.train)


def _stage_files(folder: Path, stages: list[Stage], i: int, test: str, *, shared: bool,
                 replayed: list[dict[str, Any]]) -> dict[str, str]:
    """Stage i's data files: its train rows (+ replay), its validation rows (a shared model
    answers for every label seen so far: validated on them all, else the best state would be
    the one that forgot first) and its test file."""
    seen = stages[: i + 1] if shared else stages[i : i + 1]
    return {
        "train": _write_jsonl(folder / "train.jsonl", stages[i].train + replayed),
        "validation": _write_jsonl(folder / "validation.jsonl",
                                   [r for st in seen for r in st.validation]),
        "test": test,
    }


def _task(recipe: Recipe) -> Task:
    task = get_task(recipe.task.name)
    if not task.one_label_per_example:
        raise RecipeError(recipe.source, "continual", f"needs a task with one label per example; "
                          f"{recipe.task.name!r} is not one")
    return task


def check(recipe: Recipe) -> list[str] | None:
    """``peftgov train --check`` on a continual recipe: its stages planned as :func:`run` plans
    them (a label no stage or file has fails here), and its backbone, data and method built as
    one run into the same ``output.dir``; nothing trained or written (None: not the main
    process)."""
    stages = plan_stages(recipe, _task(recipe))
    lines = [
        f"peftgov: continual {recipe.continual.strategy}, {st.name}: {len(st.labels)} labels, "
        f"{len(st.train)} train / {len(st.validation)} validation / {len(st.test)} test rows"
        for st in stages
    ]
    output = dataclasses.replace(recipe.output, dir=str(recipe.run_dir()))
    single = loop.check(dataclasses.replace(recipe, continual=None, output=output))
    return None if single is None else lines + single


def run(recipe: Recipe, *, progress: bool = True) -> loop.TrainResult:
    """Train every stage of ``recipe.continual`` in order; metrics.json holds R, ACC, BWT, FWT."""
    cl, task = recipe.continual, _task(recipe)
    stages = plan_stages(recipe, task)  # bad data or labels stop the run before it writes
    run_dir = recipe.run_dir()
    artifacts.start_run(run_dir, overwrite=recipe.output.overwrite)
    artifacts.write_atomic(run_dir / artifacts.RECIPE, recipe.to_yaml())
    order: list[str] = []  # the shared head's labels: each stage's new ones appended
    for st in stages:
        order += [lab for lab in st.labels if lab not in order]
    folders = [run_dir / "data" / f"stage{i}" for i in range(len(stages))]
    tests = [_write_jsonl(f / "test.jsonl", st.test) for f, st in zip(folders, stages)]
    metric = recipe.train.metric or task.default_metric
    score = _Scorer(recipe, task, tests, order, metric)
    t, shared = len(stages), cl.strategy in SHARED
    R = [[0.0] * t for _ in range(t)]
    b = [0.0] * t
    carried = _Carried(ReplayBuffer(cl.replay_size, cl.replay_policy, recipe.train.seed,
                                    lambda row: task.label_of(row, recipe.task)))
    models: list[nn.Module] = []  # per_task: each stage's trained model
    records: list[dict[str, Any]] = []
    for i, st in enumerate(stages):
        seen = {lab for past in stages[: i + 1] for lab in past.labels}
        head = [lab for lab in order if lab in seen] if shared else st.labels
        replayed = carried.buffer.items if cl.strategy == "replay" else []
        files = _stage_files(folders[i], stages, i, tests[i], shared=shared, replayed=replayed)
        sessions: list[Session] = []

        def setup(s: Session, i: int = i, head: list[str] = head, previous=carried.previous,
                  penalty=carried.penalty, replayed: int = len(replayed)) -> None:
            sessions.append(s)
            s.say(f"peftgov: continual stage {i + 1}/{t} ({stages[i].name}, {cl.strategy}): "
                  f"{len(stages[i].labels)} new labels, {len(stages[i].train)} examples"
                  + (f" + {replayed} replayed" if replayed else ""))
            model = s.unwrapped()
            if shared and previous is not None:
                carry_over(model, previous)
            s.penalty = penalty
            if i == 0 and shared:  # the untrained model on every stage
                b[:] = [score(s, model, head, j) for j in range(t)]
            elif not shared:  # stage i's untrained model answers for it until it is trained
                b[i] = score(s, model, head, i)
                for k in range(i):
                    R[k][i] = b[i]

        result = loop.run(stage_recipe(recipe, files, head, run_dir / f"stage{i}"),
                          progress=progress, setup=setup)
        s, model = sessions[0], result.model
        if shared:
            R[i] = [score(s, model, head, j) for j in range(t)]
            carried.after(cl, model, s, st, recipe.train.seed)
        else:
            models.append(model)
            R[i][: i + 1] = [score(s, models[j], stages[j].labels, j) for j in range(i + 1)]
        records.append({
            "name": st.name, "labels": st.labels, "run_dir": str(run_dir / f"stage{i}"),
            "train_examples": len(st.train), "replayed": len(replayed),
            **{k: result.metrics[k] for k in ("steps", "train_time_s", "trainable_params")},
        })
        known = R[i] if shared else R[i][: i + 1]  # per_task: later stages not trained yet
        s.say(f"peftgov: continual stage {i + 1}/{t} ({st.name}): {metric} on stages 1-"
              f"{len(known)}: " + " ".join(f"{v:.4f}" for v in known))
    metrics = _metrics(recipe, metric, records, R, b, order, result.metrics)
    if (run_dir / "stage0" / artifacts.BACKBONE).is_file():
        shutil.copy(run_dir / "stage0" / artifacts.BACKBONE, run_dir / artifacts.BACKBONE)
    artifacts.finish_run(run_dir, metrics)
    s.say(f"peftgov: continual {cl.strategy}: ACC={metrics['continual']['ACC']:.4f} "
          f"BWT={metrics['continual']['BWT']:+.4f} FWT={metrics['continual']['FWT']:+.4f}")
    return loop.TrainResult(run_dir=run_dir, metrics=metrics, model=model)


def _metrics(recipe: Recipe, metric: str, records: list[dict], R: list[list[float]],
             b: list[float], order: list[str], last: dict) -> dict:
    """metrics.json of a continual run: the usual top-level keys (the test metric is ACC, the
    trainable parameters those kept for prediction: every stage's with per_task) + ``continual``."""
    cl = recipe.continual
    summary = transfer_metrics(R, b)
    per_task = cl.strategy not in SHARED
    trainable = (sum(r["trainable_params"] for r in records) if per_task
                 else records[-1]["trainable_params"])
    train_time = sum(r["train_time_s"] for r in records)
    return {
        "method": recipe.method.name,
        "task": recipe.task.name,
        "model": recipe.model.gguf or recipe.model.name,
        "dataset": recipe.dataset_name(),
        "seed": recipe.train.seed,
        "metric": metric,
        "trainable_params": trainable,
        "total_params": last["total_params"],
        "trainable_pct": 100.0 * trainable / last["total_params"],
        "steps": sum(r["steps"] for r in records),
        "train_examples": sum(r["train_examples"] + r["replayed"] for r in records),
        "train_time_s": train_time,
        "peak_memory_mb": last["peak_memory_mb"],
        "num_processes": last["num_processes"],
        "mixed_precision": last["mixed_precision"],
        "test": {metric: summary["ACC"]},
        "test_before": {metric: sum(b) / len(b)},
        "continual": {
            "strategy": cl.strategy,
            "metric": metric,
            **summary,
            "R": R,
            "b": b,
            "labels": order,
            "stages": records,
            "setting": "task-incremental (task id given)" if per_task
            else "class-incremental (every label seen so far)",
        },
        "versions": artifacts.versions(),
    }


def predict(run_dir: str | Path, texts: list[str], stage: int | None = None) -> list[dict]:
    """Predict with a finished continual run, routed to ``stage``'s model
    (:func:`peftgov.runs.stage_dir`)."""
    from .runs import predict_run, stage_dir

    return predict_run(stage_dir(run_dir, stage), texts)
