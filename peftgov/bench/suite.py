"""The suite file (``benchmarks/suites/*.yaml``): its schema as frozen dataclasses, and its loader.

A suite names recipes x methods x seeds [x examples per class], and what its report compares:
the reference method (``reference:``, default ``full``), the row order (the order of
``methods:``) and per-method targets (``target_pts:`` in a method mapping; default: the issue's
targets, :data:`ISSUE_TARGETS`).

The file is read as strict YAML (:mod:`peftgov.yamlio`: a key written twice is refused) and
checked with the recipe machinery of :mod:`peftgov.config`: every value against its dataclass
annotation (``_coerce``), then each class's ``__post_init__`` (``_require``). Any problem is one
:class:`SuiteError` naming the file and the key (``methods[2].baseline``).

Paths inside a suite (recipes, ``runs_dir``) are relative to the working directory, the project
root, like the data paths inside the recipes. The baseline scripts are found in the project's
``benchmarks/`` folder next to this package (:data:`BENCH_DIR`): peftgov installed editable
from its checkout (``pip install -e .``).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from peftgov import yamlio
from peftgov.config import _coerce, _Invalid, _require
from peftgov.methods import METHODS
from peftgov.errors import RecipeError

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
"""The project's benchmarks folder (suites, results, baselines), beside the peftgov package."""

BASELINES = {"hf_trainer": BENCH_DIR / "baselines" / "hf_trainer.py"}
"""Baseline run types: a script taking ``RECIPE key=value...`` and writing ``metrics.json``
into ``output.dir``."""

REFERENCE = "full"
"""The default ``reference:``, the method every other method is compared with."""

ISSUE_TARGETS: dict[str, float | str] = {
    "lora": 0.5, "adapter": 0.5, "bitfit": 1.5, "prompt": "gap",
}
"""The default ``target_pts`` per peftgov method: at most this many points below the reference
(mean over seeds); ``gap``: the gap is stated, no target. Baselines and other methods: none."""

METHOD_ORDER = tuple(METHODS)
"""Row order of a report written from a results folder alone, and of labels a suite omits:
the order methods register in (peftgov/methods/__init__.py)."""

Target = float | Literal["gap"] | None


class SuiteError(Exception):
    """A suite file is invalid (named file, key and reason)."""


def _dotted(value: dict[str, Any] | None, key: str) -> dict[str, Any]:
    value = value or {}
    _require(all(isinstance(k, str) and "." in k for k in value), key,
             "expected a mapping of dotted keys (train.max_steps: 3)")
    return dict(value)


@dataclass(frozen=True)
class MethodEntry:
    """One ``methods:`` entry: a peftgov method (``lora`` is ``{name: lora}``), a variant
    (``{name: lora, label: lora-r4, overrides: {method.r: 4}}``) or a baseline run type
    (``{baseline: hf_trainer, method: lora}``). ``label`` and ``method`` are always set after
    construction, ``overrides`` is a mapping."""

    name: str | None = None
    """The peftgov method (``method.name``)."""
    label: str | None = None
    """The name in run ids and tables; default ``name``, or ``<baseline>_<method>``."""
    baseline: str | None = None
    method: str | None = None
    """The peftgov method a baseline mirrors (``name`` for the others)."""
    overrides: dict[str, Any] | None = None
    """Dotted recipe keys for this method's runs (over the suite's ``train_size_overrides``)."""
    recipe: str | None = None
    """The shipped recipe this entry trains, by its file name beside the suite's recipe
    (``lm_lora`` -> ``recipes/<dataset>/lm_lora.yaml``); default: the method's own
    (``<method>.yaml``) if there is one, else the suite's recipe with ``method.name`` switched."""
    train_sizes: list[int | None] | None = None
    """The suite's ``train_sizes`` this entry runs at (default: all of them), e.g. ``[5]`` for
    five demonstrations per class in context."""
    target_pts: Target = None
    """At most this many points below the reference, or ``gap`` (the gap is stated, no target);
    default: :data:`ISSUE_TARGETS` of the method, none for a baseline."""
    sweep: dict[str, list[Any]] | None = None
    """Dotted recipe keys -> values to try (every combination) at the suite's ``sweep_seed``;
    the method's runs take the point with the best validation metric (:mod:`.sweep`)."""
    pick_from: str | None = None
    """The label of another entry with a ``sweep:`` whose pick this entry's runs take too (on
    the same dataset and train size), waiting for it: a variant of a tuned method at that
    method's point, e.g. LoRA with gradient checkpointing at LoRA's learning rate."""
    reference: str | None = None
    """The label of the entry this one's Δ and target are measured against in the report
    (default: the suite's ``reference``), e.g. a 6-epoch LoRA row against 6-epoch full
    fine-tuning rather than the 3-epoch reference."""

    def __post_init__(self) -> None:
        if self.baseline is not None:
            _require(self.baseline in BASELINES, "baseline",
                     f"unknown baseline {self.baseline!r} (known: {sorted(BASELINES)})")
            script = BASELINES[self.baseline]
            _require(script.is_file(), "baseline", f"{script} not found (peftgov.bench needs the "
                     "project checkout, peftgov installed with pip install -e .)")
            _require(bool(self.method), "method",
                     "a baseline needs `method:` (the peftgov method it mirrors)")
            label, method, target = f"{self.baseline}_{self.method}", self.method, None
        else:
            _require(bool(self.name), "name", "a method mapping needs `name:` (or `baseline:`)")
            label, method, target = self.name, self.name, ISSUE_TARGETS.get(self.name)
        object.__setattr__(self, "label", self.label or label)
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "overrides", _dotted(self.overrides, "overrides"))
        sweep = _dotted(self.sweep, "sweep")
        _require(all(isinstance(v, list) and v for v in sweep.values()), "sweep",
                 "expected a non-empty list of values per key (train.lr: [1e-4, 3e-4])")
        _require(not set(sweep) & set(self.overrides), "sweep",
                 f"keys {sorted(set(sweep) & set(self.overrides))} are also in overrides")
        object.__setattr__(self, "sweep", sweep or None)
        _require(not (sweep and self.pick_from), "pick_from",
                 "an entry takes its point from its own `sweep:` or from another's, not both")
        if self.target_pts is None:
            object.__setattr__(self, "target_pts", target)


@dataclass(frozen=True)
class SuiteFile:
    """The keys of a suite file, as written (see benchmarks/README.md)."""

    name: str | None = None
    """Default: the file name."""
    description: str | None = None
    runs_dir: str | None = None
    """Default: ``benchmarks/results/<name>``."""
    recipes: str | list[str] | None = None
    methods: list[str | dict[str, Any]] | None = None
    seeds: list[int] = field(default_factory=lambda: [42])
    train_sizes: list[int | None] | None = None
    """Examples per class (``null`` = all; ``0`` = none: the run trains nothing, its recipe's
    own split giving only the label set and validation, ``train.epochs`` set to 0)."""
    train_size_overrides: dict[Any, Any] | None = None
    overrides: dict[str, Any] | None = None
    reference: str | None = None
    """The method (label) the report compares every other with; default ``full``."""
    notes: str | list[str] | None = None
    timeout_s: float | None = None
    env: dict[str, Any] | None = None
    sweep_seed: int | None = None
    """The seed of the sweep runs (methods with ``sweep:``); default: the first of ``seeds``."""
    report_metric: str | None = None
    """The test figure the report's tables compare, as a dotted path into each run's
    metrics.json (``generation.char_f1``); default: the run's own metric in ``test``."""
    sweep_reuse: bool = True
    """The method's run at the sweep seed is the picked sweep run itself (not trained twice);
    ``false`` trains it again, with the other seeds: for when the code or machine changed since
    the sweep, so that every seed's timings come from the same code."""
    absolute_targets: dict[str, float] | None = None
    """Dataset (as the report's sections name it) -> the least mean test metric each method
    should reach, in the metric's own units (``thucnews: 0.92`` for accuracy >= 0.92): the
    report states each method's mean as meeting or missing it."""

    def __post_init__(self) -> None:
        _require(bool(self.recipes), "recipes", "expected a list of recipe paths")
        _require(bool(self.methods), "methods", "expected a non-empty list")
        _require(bool(self.seeds), "seeds", "expected a list of integers")
        _require(all(s is None or s >= 0 for s in self.train_sizes or []), "train_sizes",
                 "expected integers >= 0 or null (= all)")
        _require(self.timeout_s is None or self.timeout_s > 0, "timeout_s",
                 "expected a positive number of seconds")
        _require(self.sweep_seed is None or self.sweep_seed in self.seeds, "sweep_seed",
                 f"must be one of seeds {self.seeds}")
        _dotted(self.overrides, "overrides")
        _require(all(isinstance(k, str) and isinstance(v, (int, float))
                     and not isinstance(v, bool) for k, v in (self.absolute_targets or {}).items()),
                 "absolute_targets", "expected a mapping of dataset name -> number "
                 "(thucnews: 0.92)")


@dataclass(frozen=True)
class ReportSpec:
    """What a report compares: from the suite file, else (a results folder alone) the defaults."""

    reference: str = REFERENCE
    order: tuple[str, ...] = ()
    """Row order by label; labels not here follow, in :data:`METHOD_ORDER`."""
    targets: dict[str, Target] = field(default_factory=dict)
    """Target per label; a label not here gets :data:`ISSUE_TARGETS` of its peftgov method."""
    metric: str | None = None
    """See :attr:`SuiteFile.report_metric`."""
    absolute: dict[str, float] = field(default_factory=dict)
    """See :attr:`SuiteFile.absolute_targets`."""
    references: dict[str, str] = field(default_factory=dict)
    """Label -> the label it is compared with, for entries that set their own ``reference``."""

    def reference_of(self, label: str) -> str:
        """The label a row's Δ and target are against."""
        return self.references.get(label, self.reference)

    def sort_key(self, label: str) -> tuple[int, int, str]:
        if label in self.order:
            return (0, self.order.index(label), "")
        base = label.split("-")[0]
        rank = METHOD_ORDER.index(base) if base in METHOD_ORDER else len(METHOD_ORDER)
        return (1, rank, label)

    def target(self, label: str, method: str) -> Target:
        return self.targets[label] if label in self.targets else ISSUE_TARGETS.get(method)


@dataclass(frozen=True)
class Suite:
    """A checked suite, paths and defaults resolved: what the planner and runner read."""

    name: str
    path: Path
    runs_dir: Path
    recipes: list[str]
    methods: list[MethodEntry]
    seeds: list[int]
    train_sizes: list[int | None] = field(default_factory=lambda: [None])
    train_size_overrides: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timeout_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    reference: str = REFERENCE
    sweep_seed: int | None = None
    """See :attr:`SuiteFile.sweep_seed`; set to the first seed when loaded."""
    sweep_reuse: bool = True
    """See :attr:`SuiteFile.sweep_reuse`."""
    report_metric: str | None = None
    """See :attr:`SuiteFile.report_metric`."""
    absolute_targets: dict[str, float] = field(default_factory=dict)
    """See :attr:`SuiteFile.absolute_targets`."""

    def report_spec(self) -> ReportSpec:
        return ReportSpec(self.reference, tuple(m.label for m in self.methods),
                          {m.label: m.target_pts for m in self.methods}, self.report_metric,
                          dict(self.absolute_targets),
                          {m.label: m.reference for m in self.methods if m.reference})


def _typed(cls: type, raw: Any, path: Path, where: str = "") -> Any:
    """``raw`` as the dataclass ``cls``: known keys only, each value checked against its
    annotation (``peftgov.config._coerce``), then ``cls``'s own checks; else SuiteError."""
    at = f"{where}: " if where else ""
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: {at}expected a mapping, got {raw!r}")
    known = sorted(f.name for f in dataclasses.fields(cls))
    unknown = sorted(str(k) for k in set(raw) - set(known))
    if unknown:
        raise SuiteError(f"{path}: {at}unknown keys {unknown} (known: {known})")
    hints = typing.get_type_hints(cls)
    key = (lambda k: f"{where}.{k}") if where else str
    try:
        return cls(**{k: _coerce(v, hints[k], key(k), str(path)) for k, v in raw.items()})
    except RecipeError as exc:
        raise SuiteError(str(exc)) from None
    except _Invalid as exc:
        raise SuiteError(f"{path}: {key(exc.key)}: {exc}") from None


def load_suite(path: str | Path, *, runs_dir: str | Path | None = None) -> Suite:
    """Read and check a suite YAML file."""
    path = Path(path)
    try:
        raw = yamlio.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read ({exc.strerror})") from None
    except yamlio.DuplicateKeyError as exc:
        raise SuiteError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: invalid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: a suite is a YAML mapping")
    f: SuiteFile = _typed(SuiteFile, raw, path)
    methods = [
        _typed(MethodEntry, {"name": m} if isinstance(m, str) else m, path, f"methods[{i}]")
        for i, m in enumerate(f.methods)
    ]
    sizes = f.train_sizes or [None]
    for i, m in enumerate(methods):
        extra = [k for k in m.train_sizes or [] if k not in sizes]
        if extra:
            raise SuiteError(f"{path}: methods[{i}].train_sizes: {extra} not in train_sizes {sizes}")
    labels = [m.label for m in methods]
    if len(set(labels)) != len(labels):
        raise SuiteError(f"{path}: methods: duplicate labels {labels} (set `label:`)")
    if f.reference is not None and f.reference not in labels:
        raise SuiteError(f"{path}: reference: {f.reference!r} is not a method label {labels}")
    for m in methods:
        if m.reference is not None and m.reference not in labels:
            raise SuiteError(f"{path}: methods {m.label!r}: reference: {m.reference!r} is not "
                             f"a method label {labels}")
    swept = [m.label for m in methods if m.sweep]
    for m in methods:
        if m.pick_from is not None and m.pick_from not in swept:
            raise SuiteError(f"{path}: methods {m.label!r}: pick_from: {m.pick_from!r} is not "
                             f"an entry with a sweep (those: {swept or 'none'})")
    size_overrides: dict[int | None, dict[str, Any]] = {}
    for key, value in (f.train_size_overrides or {}).items():
        k = None if key in (None, "all", "null") else key
        if k not in sizes:
            raise SuiteError(f"{path}: train_size_overrides: {key!r} is not in train_sizes")
        value = value or {}
        if not isinstance(value, dict) or not all(isinstance(d, str) and "." in d for d in value):
            raise SuiteError(f"{path}: train_size_overrides.{key}: expected a mapping of dotted "
                             "keys (train.max_steps: 3)")
        size_overrides[k] = dict(value)
    name = f.name or path.stem
    notes = [f.notes] if isinstance(f.notes, str) else f.notes or []
    return Suite(
        name=name,
        path=path,
        runs_dir=Path(runs_dir or f.runs_dir or Path("benchmarks/results") / name),
        recipes=[f.recipes] if isinstance(f.recipes, str) else list(f.recipes),
        methods=methods,
        seeds=list(f.seeds),
        train_sizes=list(sizes),
        train_size_overrides=size_overrides,
        overrides=dict(f.overrides or {}),
        notes=[n.strip() for n in notes],
        timeout_s=f.timeout_s,
        env={str(k): str(v) for k, v in (f.env or {}).items()},
        reference=f.reference or REFERENCE,
        sweep_seed=f.sweep_seed if f.sweep_seed is not None else f.seeds[0],
        sweep_reuse=f.sweep_reuse,
        report_metric=f.report_metric,
        absolute_targets=dict(f.absolute_targets or {}),
    )
