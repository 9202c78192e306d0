"""Reopen a finished run directory: evaluate it on a split, or predict with it."""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from . import artifacts, provenance, redact, redact_ner
from .backbones import check_fingerprint, fingerprint, load_tokenizer, resolve
from .config import Recipe
from .errors import ArtifactError, PeftgovError, RecipeError
from .methods import get_method
from .recipe import load_recipe
from .tasks import Task, get_task


@dataclass
class LoadedRun:
    run_dir: Path
    recipe: Recipe
    task: Task
    tokenizer: Any
    model: nn.Module
    state: dict[str, Any]


def stage_dir(run_dir: str | Path, stage: int | None = None) -> Path:
    """The stage folder of a finished continual run that predicts for ``stage``: with
    ``per_task``, that stage's own (the task id routes); with a shared strategy, the last
    stage's (it knows every label)."""
    run_dir = Path(run_dir)
    record = artifacts.read_json(run_dir / artifacts.METRICS)["continual"]
    names = [s["name"] for s in record["stages"]]
    if stage is None:
        if record["strategy"] == "per_task":
            raise ArtifactError(
                f"{run_dir}: a per_task continual run has one model per stage: give the stage "
                f"(its folder, e.g. {run_dir / names[-1]})"
            )
        return run_dir / names[-1]
    if not 0 <= stage < len(names):
        raise ArtifactError(f"{run_dir}: no stage {stage} (it has {len(names)})")
    return run_dir / (names[stage] if record["strategy"] == "per_task" else names[-1])


def load_run(run_dir: str | Path) -> LoadedRun:
    """Backbone from the saved recipe + the method's artifact, in eval mode. A continual run's
    folder loads the stage that knows every label (:func:`stage_dir`)."""
    run_dir = Path(run_dir)
    artifacts.check_finished(run_dir)
    if not (run_dir / artifacts.TASK_STATE).is_file() and "continual" in artifacts.read_json(
        run_dir / artifacts.METRICS
    ):
        return load_run(stage_dir(run_dir))
    provenance.check_artifact(run_dir)
    recipe = load_recipe(run_dir / artifacts.RECIPE)
    state = artifacts.read_json(run_dir / artifacts.TASK_STATE)
    task, method = get_task(recipe.task.name), get_method(recipe.method.name)
    path = resolve(recipe.model, source=str(run_dir / artifacts.RECIPE))
    saved = run_dir / artifacts.BACKBONE
    if saved.is_file():
        check_fingerprint(
            artifacts.read_json(saved), fingerprint(path, recipe.model), where=str(run_dir)
        )
    tok_dir = run_dir / "tokenizer"
    tokenizer = load_tokenizer(str(tok_dir) if tok_dir.is_dir() else path, recipe.model)
    base = task.build_model(path, recipe, state)
    model = method.load(base, run_dir, recipe.method)
    model.eval()
    return LoadedRun(run_dir, recipe, task, tokenizer, model, state)


def names_redactor(recipe: Recipe) -> redact_ner.NerRedactor | None:
    """The recipe's ``data.redact_ner`` redactor (a finished NER run, manifest verified), or
    None; any problem is a RecipeError on that key."""
    data = recipe.data
    if not data.redact_ner:
        return None
    if recipe.task.name == "ner":
        raise RecipeError(
            recipe.source, "data.redact_ner",
            "a NER dataset's words carry its labels: redact the raw text before annotating it",
        )
    try:
        return redact_ner.NerRedactor(load_run(data.redact_ner), data.redact_ner_types)
    except PeftgovError as exc:
        raise RecipeError(recipe.source, "data.redact_ner", str(exc)) from None


def evaluate_run(
    run_dir: str | Path, split: str = "test", data: str | None = None, *, progress: bool = False
) -> dict:
    """Metrics of a finished run on ``split`` of its recipe's data (or on the file ``data``)."""
    from accelerate import Accelerator

    from .evaluation import evaluate, make_loader
    from .hardware import use_cpu

    run = load_run(run_dir)
    d = run.recipe.data
    if data is None:
        data = {"train": d.train, "validation": d.validation, "test": d.test}.get(split)
        if data is None:
            raise ArtifactError(f"{run_dir}: the recipe has no {split!r} file; pass --data FILE")
    names = names_redactor(run.recipe)
    with redact.active(Counter(), names) if run.recipe.data.redact else contextlib.nullcontext():
        dataset = run.task.prepare_file(data, run.recipe, run.tokenizer, run.state)
    accelerator = Accelerator(cpu=use_cpu())
    loader = accelerator.prepare(
        make_loader(dataset, run.task, run.tokenizer, batch_size=run.recipe.train.eval_batch_size)
    )
    model = accelerator.prepare(run.model)
    metrics = evaluate(model, loader, run.task, run.state, accelerator, progress=progress, desc=split)
    return {"run_dir": str(run_dir), "split": split, "data": data, **metrics}


def predict_run(run_dir: str | Path, texts: list[str]) -> list[dict[str, Any]]:
    run = load_run(run_dir)
    if run.recipe.data.redact:  # the model saw placeholders in training: give it the same
        with redact.active(Counter(), names_redactor(run.recipe)):
            texts = redact.maybe_values(list(texts))
    return run.task.predict(run.model, run.tokenizer, texts, run.recipe, run.state)


def export_run(
    run_dir: str | Path, out: str | Path, *, force: bool = False, gguf: str | None = None
) -> dict[str, Any]:
    """Write ``out``: a plain transformers model folder with the method merged into the
    backbone (labels in ``config.id2label``, tokenizer included), loadable by
    ``AutoModelFor...from_pretrained`` alone. Refused for methods that cannot be merged.
    ``gguf`` (``f16`` / ``f32``): a causal LM also as ``out/model.gguf``
    (:mod:`peftgov.gguf_export`)."""
    import shutil

    from . import gguf_export

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise ArtifactError(f"{out}: exists and is not empty; choose another folder or --force")
    run = load_run(run_dir)
    if run.recipe.model.quantization:
        raise ArtifactError(
            f"{run_dir}: trained on a {run.recipe.model.quantization} backbone; merging would "
            "round the adapter into 4/8-bit weights: ship the adapter/ folder instead"
        )
    merged = get_method(run.recipe.method.name).merged(run.model)
    if gguf and not type(merged).__name__.endswith("ForCausalLM"):
        raise ArtifactError(
            f"{run_dir}: GGUF holds causal language models; this run's model is a "
            f"{type(merged).__name__} (export the transformers folder only)"
        )
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp, safe_serialization=True)
    run.tokenizer.save_pretrained(tmp)
    if gguf:
        gguf_export.write_gguf(merged, run.tokenizer, tmp / gguf_export.FILE, dtype=gguf)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    artifacts.honour_umask(out)
    return {
        "run_dir": str(run_dir), "merged": str(out), "method": run.recipe.method.name,
        "architecture": type(merged).__name__, "bytes": artifacts.dir_bytes(out),
        **({"gguf": str(out / gguf_export.FILE), "gguf_type": gguf} if gguf else {}),
    }
