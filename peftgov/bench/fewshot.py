"""Examples per class (a suite's ``train_sizes``): exact per-class samples of a recipe's
training split, written as data files the run then trains on.

peftgov's ``data.max_train_samples`` draws a number of rows, not rows per class, so the
harness samples without changing peftgov: validation is carved from train exactly as peftgov
carves it (same seed, same rows), then ``k`` rows per label are kept in one seeded shuffle
(nested: the 5 per class of a seed are among its 10), and both are written in the source
format to ``<runs_dir>/data/<dataset>-seed<seed>-n<k>/``. Classification recipes only.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

from .plan import Run
from .provenance import sha256


def _label_of(value: Any) -> str | None:
    """A label as peftgov's classification task reads it (1.0 -> '1')."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def split_per_class(recipe, k: int | None, seed: int):
    """(train rows, validation rows or None, kept train rows, n_labels).

    Validation is carved from train exactly as peftgov carves it (same rows for the same
    seed), so every train size of a seed shares one validation set with the full-data run.
    Then at most ``k`` rows per label are kept, taken in one seeded shuffle of the train rows:
    the samples are nested (the 5 per class of a seed are among its 10 per class).
    """
    from peftgov.data import carve_validation, read_rows

    d, t = recipe.data, recipe.task
    rows = read_rows(d.train, d.format)
    if d.validation:
        train, val = rows, None
    else:
        train, val = carve_validation(rows, d.validation_fraction, seed)
    labels = [_label_of(r.values.get(t.label_column)) for r in train]
    n_labels = len({lab for lab in labels if lab is not None})
    if k is None:
        return train, val, train, n_labels
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    taken: dict[str, int] = {}
    keep = set()
    for i in order:
        lab = labels[i]
        if lab is not None and taken.get(lab, 0) < k:
            taken[lab] = taken.get(lab, 0) + 1
            keep.add(i)
    return train, val, [r for i, r in enumerate(train) if i in keep], n_labels


def write_rows(path: Path, rows, fmt: str) -> None:
    """Rows back in their own format: csv (quoted where needed), tsv (never quoted, as
    peftgov reads it) or jsonl."""
    from peftgov.data import detect_format

    path.parent.mkdir(parents=True, exist_ok=True)
    kind = detect_format(path, fmt)
    with open(path, "w", encoding="utf-8", newline="") as f:
        if kind not in ("csv", "tsv"):
            f.writelines(json.dumps(r.values, ensure_ascii=False) + "\n" for r in rows)
            return
        tsv = {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "quotechar": None}
        writer = csv.DictWriter(f, fieldnames=list(rows[0].values) if rows else [],
                                lineterminator="\n", extrasaction="ignore",
                                **(tsv if kind == "tsv" else {}))
        writer.writeheader()
        writer.writerows(r.values for r in rows)


def write_sample(run: Run) -> dict[str, Any]:
    """Write the per-class training sample (and the carved validation) of a train-size run."""
    from peftgov.recipe import load_recipe

    base = {k: v for k, v in run.overrides.items() if k not in run.sample["overrides"]}
    recipe = load_recipe(run.recipe, overrides=base)
    _, val, kept, n_labels = split_per_class(recipe, run.sample["k"], run.seed)
    ov = run.sample["overrides"]
    write_rows(Path(ov["data.train"]), kept, recipe.data.format)
    if val is not None:
        write_rows(Path(ov["data.validation"]), val, recipe.data.format)
    return {
        "n_labels": n_labels,
        "examples_per_class": len(kept) / max(n_labels, 1),
        "sampled_from": recipe.data.train,
        "sampled_from_sha256": sha256(recipe.data.train),
    }


def full_split_stats(run: Run) -> dict[str, Any]:
    """Labels and examples per class of the whole train split (the ``all`` train size), or
    none trained on (train size 0)."""
    from peftgov.recipe import load_recipe

    recipe = load_recipe(run.recipe, overrides=run.overrides)
    _, _, kept, n_labels = split_per_class(recipe, None, run.seed)
    used = 0 if run.train_size == 0 else len(kept)
    return {"n_labels": n_labels, "examples_per_class": used / max(n_labels, 1)}
