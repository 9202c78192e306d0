"""Planning a suite: every run (seed x recipe x method x examples per class) with its id, recipe
and overrides, before anything trains.

A run's id is ``<dataset>-<label>-seed<seed>[-n<k>]``. A method trains with its shipped recipe
``recipes/<dataset>/<method>.yaml`` next to the suite's recipe when one exists, otherwise with
the suite's recipe and ``method.name`` switched (an entry's ``recipe:`` names another shipped
recipe there). With ``train_sizes`` a run trains on a per-class sample: where it goes is
planned here, :mod:`.fewshot` writes it when the run starts; at size 0 the run keeps its
recipe's split (for the label set and validation) and trains nothing (``train.epochs=0``).
A recipe that does not validate still gets a run (and an id from its raw YAML): the run will
fail and say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from peftgov.tasks import get_task

from .suite import MethodEntry, Suite, SuiteError


@dataclass
class Run:
    id: str
    label: str
    method: str
    baseline: str | None
    recipe: str
    """The recipe file this run trains (the method's shipped recipe, or the suite's)."""
    seed: int
    train_size: int | None
    overrides: dict[str, Any]
    dataset: str
    task: str
    error: str | None = None
    """Why the recipe + overrides did not validate while planning (the run will fail)."""
    sample: dict[str, Any] | None = None
    """Per-class sampling of the training split (train_sizes): what to write where."""
    sweep: dict[str, Any] | None = None
    """A sweep run: its point (:mod:`.sweep`)."""
    waiting: bool = False
    """A swept method's run whose sweep has not finished: it cannot start yet."""
    picked: dict[str, Any] | None = None
    """A swept method's run: the point its sweep picked (already in ``overrides``)."""
    reuse: str | None = None
    """The result file of the identical sweep run, copied instead of training again."""


def format_value(value: Any) -> str:
    """A value as peftgov's override parser (YAML scalars) reads it back."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True).strip()
    return text[:-3].strip() if text.endswith("...") else text


def run_id(dataset: str, label: str, seed: int, train_size: int | None) -> str:
    size = "" if train_size is None else f"-n{train_size}"
    return f"{dataset}-{label}-seed{seed}{size}"


def _raw_recipe(recipe: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(Path(recipe).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _method_recipe(recipe: str, entry: MethodEntry) -> tuple[str, dict[str, Any]]:
    """The entry's ``recipe:`` or the method's shipped recipe next to the suite's
    (``recipes/<dataset>/<method>.yaml``) when it exists, else the suite's recipe with
    ``method.name`` switched."""
    shipped = Path(recipe).parent / f"{entry.recipe or entry.method}.yaml"
    if entry.recipe and not shipped.is_file():
        raise SuiteError(f"methods {entry.label!r}: recipe {entry.recipe!r}: {shipped} not found")
    if shipped.is_file():
        return str(shipped), {}
    raw_method = _raw_recipe(recipe).get("method") or {}
    current = raw_method.get("name", "lora") if isinstance(raw_method, dict) else None
    return recipe, ({} if current == entry.method else {"method.name": entry.method})


def _fallback_dataset(recipe: str, overrides: dict[str, Any]) -> tuple[str, str]:
    """Dataset and task names from the raw YAML, for a recipe that does not validate."""
    raw = _raw_recipe(recipe)
    data = dict(raw.get("data") or {})
    task = dict(raw.get("task") or {})
    for key, value in overrides.items():
        if key.startswith("data."):
            data[key[5:]] = value
        if key == "task.name":
            task["name"] = value
    name = data.get("name")
    if not name:
        train = str(data.get("train") or "")
        name = Path(train.removeprefix("bundled:")).parent.name or Path(recipe).parent.name
    return str(name), str(task.get("name", "classification"))


def sample_plan(recipe, k: int, seed: int, folder: Path) -> dict[str, Any]:
    """Where the per-class sample of ``recipe``'s train split goes (written at run time)."""
    if not get_task(recipe.task.name).one_label_per_example:
        raise SuiteError(
            f"{recipe.source}: train_sizes samples examples per class, which needs a task "
            f"with one label per example (this one is {recipe.task.name!r})"
        )
    suffix = Path(recipe.data.train).suffix or ".jsonl"
    overrides = {"data.train": str(folder / f"train{suffix}")}
    if not recipe.data.validation:
        overrides["data.validation"] = str(folder / f"validation{suffix}")
    return {"k": k, "seed": seed, "folder": str(folder), "overrides": overrides}


def plan(suite: Suite) -> list[Run]:
    """Every run of the suite, seeds outermost (an interrupted suite already holds every
    method at the first seed), then recipe, method, examples per class."""
    from peftgov.recipe import load_recipe
    from peftgov.errors import PeftgovError

    runs: list[Run] = []
    seen: dict[str, Run] = {}
    for seed in suite.seeds:
        for recipe in suite.recipes:
            for entry in suite.methods:
                path, switch = _method_recipe(recipe, entry)
                for size in suite.train_sizes:
                    if entry.train_sizes is not None and size not in entry.train_sizes:
                        continue
                    overrides = {  # the more specific wins: the entry's over the size's
                        **suite.overrides,
                        **switch,
                        **suite.train_size_overrides.get(size, {}),
                        **entry.overrides,
                        **({"train.epochs": 0} if size == 0 else {}),  # nothing to train on
                        "train.seed": seed,
                    }
                    error, sample = None, None
                    try:
                        resolved = load_recipe(path, overrides=overrides)
                        dataset, task = resolved.dataset_name(), resolved.task.name
                    except PeftgovError as exc:
                        error = str(exc)
                        dataset, task = _fallback_dataset(path, overrides)
                        resolved = None
                    rid = run_id(dataset, entry.label, seed, size)
                    if size and resolved is not None:
                        folder = suite.runs_dir / "data" / f"{dataset}-seed{seed}-n{size}"
                        sample = sample_plan(resolved, size, seed, folder)
                        overrides.update(sample["overrides"])
                    run = Run(rid, entry.label, entry.method, entry.baseline, path, seed, size,
                              overrides, dataset, task, error, sample)
                    if rid in seen:
                        if seen[rid].overrides != run.overrides or seen[rid].recipe != run.recipe:
                            raise SuiteError(
                                f"{suite.path}: two different runs get the id {rid!r} "
                                "(give one method a `label:`)"
                            )
                        continue
                    seen[rid] = run
                    runs.append(run)
    return runs
