"""The benchmark runner: a suite (recipes x methods x seeds [x examples per class]) -> one
result JSON per finished run, then the report.

    python -m benchmarks run benchmarks/suites/banking77.yaml [--only lora,full] [--dry-run]
    python -m benchmarks report benchmarks/suites/banking77.yaml

Modelled on peft's ``method_comparison`` harness. Every run trains in its own subprocess
(``python -m peftgov train RECIPE key=value ...``), so one crash does not end the suite and
peak memory is that run's alone. A finished run leaves ``<runs_dir>/<id>.json`` (its
``metrics.json`` plus a ``bench`` record: suite, recipe, command, wall time, git commit, data
hashes); a failed or interrupted one leaves ``<runs_dir>/failed/<id>.json`` with the return
code and the tail of its log, and never reaches a table. Re-running a suite skips the ids
whose result JSON exists (``--force`` trains them again); a run interrupted mid-way resumes
from its last checkpoint (peftgov's ``output.resume``).

Paths in a suite (recipes, ``runs_dir``) are relative to the working directory, the project
root, like the data paths inside the recipes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from peftgov import yamlio

HERE = Path(__file__).resolve().parent
BASELINES = {"hf_trainer": HERE / "baselines" / "hf_trainer.py"}
"""Baseline run types: a script taking ``RECIPE key=value...`` and writing ``metrics.json``
into ``output.dir``."""

SUITE_KEYS = {
    "name", "description", "runs_dir", "recipes", "methods", "seeds", "train_sizes",
    "train_size_overrides", "overrides", "notes", "timeout_s", "env",
}
METHOD_KEYS = {"name", "label", "baseline", "method", "overrides"}
TAIL_LINES = 40
INTERRUPT_GRACE_S = 30.0


class SuiteError(Exception):
    """A suite file is invalid (named key and reason)."""


# --------------------------------------------------------------------------- the suite


@dataclass(frozen=True)
class MethodEntry:
    label: str
    """The method's name in run ids and tables (``lora``, ``hf_trainer_lora``)."""
    method: str
    """The peftgov method (a baseline mirrors it)."""
    baseline: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
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


def _dotted(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and "." in k for k in value):
        raise SuiteError(f"{where}: expected a mapping of dotted keys (train.max_steps: 3)")
    return dict(value)


def _method_entry(raw: Any, where: str) -> MethodEntry:
    if isinstance(raw, str) and raw:
        return MethodEntry(label=raw, method=raw)
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: a method is a name or a mapping, got {raw!r}")
    unknown = set(raw) - METHOD_KEYS
    if unknown:
        raise SuiteError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(METHOD_KEYS)})")
    overrides = _dotted(raw.get("overrides"), f"{where}.overrides")
    baseline = raw.get("baseline")
    if baseline is not None:
        if baseline not in BASELINES:
            raise SuiteError(f"{where}: unknown baseline {baseline!r} (known: {sorted(BASELINES)})")
        method = raw.get("method")
        if not isinstance(method, str):
            raise SuiteError(f"{where}: a baseline needs `method:` (the peftgov method it mirrors)")
        return MethodEntry(raw.get("label") or f"{baseline}_{method}", method, baseline, overrides)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SuiteError(f"{where}: a method mapping needs `name:` (or `baseline:`)")
    return MethodEntry(raw.get("label") or name, name, None, overrides)


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
    unknown = set(raw) - SUITE_KEYS
    if unknown:
        raise SuiteError(f"{path}: unknown keys {sorted(unknown)} (known: {sorted(SUITE_KEYS)})")
    name = raw.get("name") or path.stem
    recipes = raw.get("recipes")
    if isinstance(recipes, str):
        recipes = [recipes]
    if not recipes or not all(isinstance(r, str) for r in recipes):
        raise SuiteError(f"{path}: recipes: expected a list of recipe paths")
    methods_raw = raw.get("methods") or []
    if not isinstance(methods_raw, list) or not methods_raw:
        raise SuiteError(f"{path}: methods: expected a non-empty list")
    methods = [_method_entry(m, f"{path}: methods[{i}]") for i, m in enumerate(methods_raw)]
    labels = [m.label for m in methods]
    if len(set(labels)) != len(labels):
        raise SuiteError(f"{path}: methods: duplicate labels {labels} (set `label:`)")
    seeds = raw.get("seeds", [42])
    if not isinstance(seeds, list) or not seeds or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in seeds
    ):
        raise SuiteError(f"{path}: seeds: expected a list of integers")
    sizes = raw.get("train_sizes") or [None]
    if not isinstance(sizes, list) or not all(
        s is None or (isinstance(s, int) and not isinstance(s, bool) and s > 0) for s in sizes
    ):
        raise SuiteError(f"{path}: train_sizes: expected positive integers or null (= all)")
    size_overrides: dict[int | None, dict[str, Any]] = {}
    for key, value in (raw.get("train_size_overrides") or {}).items():
        k = None if key in (None, "all", "null") else key
        if k not in sizes:
            raise SuiteError(f"{path}: train_size_overrides: {key!r} is not in train_sizes")
        size_overrides[k] = _dotted(value, f"{path}: train_size_overrides.{key}")
    notes = raw.get("notes") or []
    if isinstance(notes, str):
        notes = [notes]
    env = raw.get("env") or {}
    if not isinstance(env, dict):
        raise SuiteError(f"{path}: env: expected a mapping of environment variables")
    timeout = raw.get("timeout_s")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise SuiteError(f"{path}: timeout_s: expected a positive number of seconds")
    return Suite(
        name=name,
        path=path,
        runs_dir=Path(runs_dir or raw.get("runs_dir") or Path("benchmarks/results") / name),
        recipes=list(recipes),
        methods=methods,
        seeds=list(seeds),
        train_sizes=list(sizes),
        train_size_overrides=size_overrides,
        overrides=_dotted(raw.get("overrides"), f"{path}: overrides"),
        notes=[str(n).strip() for n in notes],
        timeout_s=timeout,
        env={str(k): str(v) for k, v in env.items()},
    )


# --------------------------------------------------------------------------- the plan


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


def format_value(value: Any) -> str:
    """A value as peftgov's override parser (YAML scalars) reads it back."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True).strip()
    return text[:-3].strip() if text.endswith("...") else text


def _method_recipe(recipe: str, entry: MethodEntry) -> tuple[str, dict[str, Any]]:
    """The method's shipped recipe next to the suite's (``recipes/<dataset>/<method>.yaml``)
    when it exists, else the suite's recipe with ``method.name`` switched."""
    shipped = Path(recipe).parent / f"{entry.method}.yaml"
    if shipped.is_file():
        return str(shipped), {}
    raw_method = _raw_recipe(recipe).get("method") or {}
    current = raw_method.get("name", "lora") if isinstance(raw_method, dict) else None
    return recipe, ({} if current == entry.method else {"method.name": entry.method})


def _raw_recipe(recipe: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(Path(recipe).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return raw if isinstance(raw, dict) else {}


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


def run_id(dataset: str, label: str, seed: int, train_size: int | None) -> str:
    size = "" if train_size is None else f"-n{train_size}"
    return f"{dataset}-{label}-seed{seed}{size}"


def plan(suite: Suite) -> list[Run]:
    """Every run of the suite, seeds outermost (an interrupted suite already holds every
    method at the first seed), then recipe, method, examples per class."""
    from peftgov.config import load_recipe
    from peftgov.errors import PeftgovError

    runs: list[Run] = []
    seen: dict[str, Run] = {}
    for seed in suite.seeds:
        for recipe in suite.recipes:
            for entry in suite.methods:
                path, switch = _method_recipe(recipe, entry)
                for size in suite.train_sizes:
                    overrides = {
                        **suite.overrides,
                        **switch,
                        **entry.overrides,
                        **suite.train_size_overrides.get(size, {}),
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
                    if size is not None and resolved is not None:
                        folder = suite.runs_dir / "data" / f"{dataset}-seed{seed}-n{size}"
                        sample = _sample_plan(resolved, size, seed, folder)
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


# --------------------------------------------------------------------------- few-shot data


def _label_of(value: Any) -> str | None:
    """A label as peftgov's classification task reads it (1.0 -> '1')."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _sample_plan(recipe, k: int, seed: int, folder: Path) -> dict[str, Any]:
    """Where the per-class sample of ``recipe``'s train split goes (written at run time)."""
    if recipe.task.name != "classification":
        raise SuiteError(
            f"{recipe.source}: train_sizes samples examples per class, which needs a "
            f"classification recipe (this one is {recipe.task.name!r})"
        )
    suffix = Path(recipe.data.train).suffix or ".jsonl"
    overrides = {"data.train": str(folder / f"train{suffix}")}
    if not recipe.data.validation:
        overrides["data.validation"] = str(folder / f"validation{suffix}")
    return {"k": k, "seed": seed, "folder": str(folder), "overrides": overrides}


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


def _write_rows(path: Path, rows, fmt: str) -> None:
    """Rows back in their own format (csv with quoting, tsv without, jsonl)."""
    import csv

    from peftgov.data import detect_format

    path.parent.mkdir(parents=True, exist_ok=True)
    kind = detect_format(path, fmt)
    header = list(rows[0].values) if rows else []
    with open(path, "w", encoding="utf-8", newline="") as f:
        if kind == "csv":
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows([r.values.get(h, "") for h in header] for r in rows)
        elif kind == "tsv":  # peftgov reads tsv unquoted; fields hold no tabs or newlines
            f.write("\t".join(header) + "\n")
            f.writelines("\t".join(str(r.values.get(h, "")) for h in header) + "\n" for r in rows)
        else:
            f.writelines(json.dumps(r.values, ensure_ascii=False) + "\n" for r in rows)


def write_sample(run: Run) -> dict[str, Any]:
    """Write the per-class training sample (and the carved validation) of a train-size run."""
    from peftgov.config import load_recipe

    base = {k: v for k, v in run.overrides.items() if k not in run.sample["overrides"]}
    recipe = load_recipe(run.recipe, overrides=base)
    _, val, kept, n_labels = split_per_class(recipe, run.sample["k"], run.seed)
    ov = run.sample["overrides"]
    _write_rows(Path(ov["data.train"]), kept, recipe.data.format)
    if val is not None:
        _write_rows(Path(ov["data.validation"]), val, recipe.data.format)
    return {
        "n_labels": n_labels,
        "examples_per_class": len(kept) / max(n_labels, 1),
        "sampled_from": recipe.data.train,
        "sampled_from_sha256": sha256(recipe.data.train),
    }


def full_split_stats(run: Run) -> dict[str, Any]:
    """Labels and examples per class of the whole train split (the ``all`` train size)."""
    from peftgov.config import load_recipe

    recipe = load_recipe(run.recipe, overrides=run.overrides)
    _, _, kept, n_labels = split_per_class(recipe, None, run.seed)
    return {"n_labels": n_labels, "examples_per_class": len(kept) / max(n_labels, 1)}


# --------------------------------------------------------------------------- executing


def command(run: Run, run_dir: Path, *, launch: str | None = None) -> list[str]:
    """The subprocess command line that trains ``run`` into ``run_dir``."""
    overrides = [f"{k}={format_value(v)}" for k, v in run.overrides.items()]
    overrides += [f"output.dir={run_dir}", "output.overwrite=true"]
    if run.baseline:
        target = [str(BASELINES[run.baseline]), run.recipe, *overrides]
    else:
        target = ["-m", "peftgov", "train", "--quiet", run.recipe, *overrides]
    if launch:
        return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", launch,
                *target]
    return [sys.executable, *target]


_HASHES: dict[tuple[str, float, int], str] = {}


def sha256(spec: str | None) -> str | None:
    """SHA-256 of a data file (``bundled:`` paths resolved); None when it does not exist."""
    if not spec:
        return None
    from peftgov.data import resolve_path

    path = resolve_path(spec)
    if not path.is_file():
        return None
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime, st.st_size)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def git_info() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def _tail(log: Path, n: int = TAIL_LINES) -> list[str]:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    # progress bars redraw with carriage returns: keep only each line's last state
    lines = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return [line for line in lines if line.strip()][-n:]


def _error_line(tail: list[str]) -> str:
    """The most telling line: peftgov's own one-line error first (``accelerate launch`` adds
    its CalledProcessError after it), else the last exception line."""
    for line in tail:
        if line.startswith(("peftgov: error:", "hf_trainer baseline: error:")):
            return line.strip()
    skip = ("subprocess.CalledProcessError", "Traceback")
    for line in reversed(tail):
        telling = "Error" in line or "Exception" in line or "error:" in line
        if telling and not line.startswith(skip):
            return line.strip()
    return tail[-1].strip() if tail else ""


@dataclass
class Outcome:
    status: str
    """``ok``, ``failed``, ``timeout`` or ``interrupted``."""
    returncode: int | None
    wall_time_s: float
    maxrss_mb: float | None


def _child_setup() -> None:
    # A harness started in the background ignores SIGINT, and children inherit that: restore
    # the default so that stopping a run (SIGINT to its group) reaches Python in it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def launch_process(cmd: list[str], *, log: Path, env: dict[str, str], timeout_s: float | None
                   ) -> Outcome:
    """Run ``cmd`` with stdout + stderr into ``log``, in its own process group (so stopping
    it reaches ``accelerate launch``'s workers too). On Ctrl-C / SIGTERM the run is stopped
    and the outcome says ``interrupted`` (the caller records it, then stops the suite)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "wb") as out:
        out.write(f"$ {shlex.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, preexec_fn=_child_setup)
        status = "ok"
        try:
            while True:
                pid, wstatus, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if timeout_s and time.perf_counter() - start > timeout_s:
                    status = "timeout"
                    _stop(proc)
                    _, wstatus, rusage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.2)
        except KeyboardInterrupt:
            status = "interrupted"
            _stop(proc)
            try:
                _, wstatus, rusage = os.wait4(proc.pid, 0)
            except ChildProcessError:  # reaped just as the interrupt came: status unknown
                wstatus, rusage = 130 << 8, None
    rc = os.waitstatus_to_exitcode(wstatus)
    proc.returncode = rc
    if status == "ok" and rc != 0:
        status = "failed"
    maxrss = rusage.ru_maxrss / 1024 if rusage is not None else None
    return Outcome(status, rc, time.perf_counter() - start, maxrss)


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT to the run's process group; SIGTERM, then SIGKILL, after grace periods (a
    second Ctrl-C skips the wait). The child is left to be reaped by the caller."""
    for sig, grace in ((signal.SIGINT, INTERRUPT_GRACE_S), (signal.SIGTERM, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.perf_counter() + grace
        try:
            while time.perf_counter() < deadline:
                if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                    return
                time.sleep(0.2)
        except KeyboardInterrupt:
            break
        except ChildProcessError:
            return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Runner:
    suite: Suite
    launch: str | None = None
    timeout_s: float | None = None
    git: dict[str, Any] = field(default_factory=dict)

    @property
    def results(self) -> Path:
        return self.suite.runs_dir

    def result_path(self, run: Run) -> Path:
        return self.results / f"{run.id}.json"

    def failed_path(self, run: Run) -> Path:
        return self.results / "failed" / f"{run.id}.json"

    def run_dir(self, run: Run) -> Path:
        return self.results / "runs" / run.id

    def log_path(self, run: Run) -> Path:
        return self.results / "logs" / f"{run.id}.log"

    def state(self, run: Run) -> str:
        if self.result_path(run).is_file():
            return "finished"
        return "failed" if self.failed_path(run).is_file() else "pending"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        env.update(self.suite.env)
        return env

    def execute(self, run: Run) -> tuple[str, str]:
        """Train one run; returns (status, one-line summary)."""
        run_dir = self.run_dir(run)
        cmd = command(run, run_dir, launch=self.launch)
        started = _now()
        extra: dict[str, Any] = {}
        setup_error = None
        try:
            if run.sample is not None:
                extra = write_sample(run)
            elif self.suite.train_sizes != [None] and run.error is None:
                extra = full_split_stats(run)
        except Exception as exc:  # a data problem: let peftgov report it in the subprocess
            setup_error = f"{type(exc).__name__}: {exc}"
        outcome = launch_process(cmd, log=self.log_path(run), env=self.env(),
                                 timeout_s=self.timeout_s or self.suite.timeout_s)
        interrupted = outcome.status == "interrupted"
        metrics_file = run_dir / "metrics.json"
        if interrupted and outcome.returncode == 0 and metrics_file.is_file():
            outcome.status = "ok"  # it finished while being stopped: keep it
        if outcome.status == "ok" and not metrics_file.is_file():
            outcome.status = "failed"
            setup_error = setup_error or f"exit 0 but no {metrics_file}"
        if outcome.status != "ok":
            err = self._record_failure(run, cmd, outcome.status, outcome.returncode,
                                       outcome.wall_time_s, started, setup_error)
            if interrupted:
                raise KeyboardInterrupt
            return outcome.status, (
                f"FAILED ({outcome.status}, rc {outcome.returncode}) "
                f"{outcome.wall_time_s:.1f} s: {err[:160]} -> {self.failed_path(run)}"
            )
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        metrics["bench"] = self._bench_record(run, cmd, outcome, started, extra)
        _write_json(self.result_path(run), metrics)
        self.failed_path(run).unlink(missing_ok=True)
        if interrupted:
            raise KeyboardInterrupt
        metric = metrics.get("metric", "accuracy")
        test = (metrics.get("test") or {}).get(metric)
        shown = f"test {metric}={test:.4f}" if isinstance(test, (int, float)) else "no test"
        return "ok", f"ok {outcome.wall_time_s:.1f} s, {shown} -> {self.result_path(run)}"

    def _bench_record(self, run: Run, cmd, outcome: Outcome, started: str, extra) -> dict:
        from peftgov.config import load_recipe

        recipe = load_recipe(run.recipe, overrides=run.overrides)
        data = {s: getattr(recipe.data, s) for s in ("train", "validation", "test")}
        backbone = self.run_dir(run) / "backbone.json"
        log_text = self.log_path(run).read_text(encoding="utf-8", errors="replace")
        return {
            "suite": self.suite.name,
            "id": run.id,
            "label": run.label,
            "baseline": run.baseline,
            "recipe": run.recipe,
            "overrides": run.overrides,
            "train_size": run.train_size,
            **extra,
            "command": shlex.join(cmd),
            "launch": self.launch,
            "cwd": os.getcwd(),
            "started_at": started,
            "finished_at": _now(),
            "wall_time_s": outcome.wall_time_s,
            "returncode": outcome.returncode,
            "subprocess_maxrss_mb": outcome.maxrss_mb,
            "resumed": "peftgov: resuming" in log_text,
            **self.git,
            "host": platform.node(),
            "cpu_count": os.cpu_count(),
            "data_files": data,
            "data_sha256": {s: sha256(p) for s, p in data.items() if p},
            "backbone": json.loads(backbone.read_text()) if backbone.is_file() else None,
            "run_dir": str(self.run_dir(run)),
            "log": str(self.log_path(run)),
        }

    def _record_failure(self, run, cmd, status, rc, wall, started, setup_error) -> str:
        tail = _tail(self.log_path(run))
        error = _error_line(tail) or setup_error or status
        if status == "timeout":
            error = f"timed out after {wall:.0f} s; last line: {error}"
        elif status == "interrupted":
            error = f"interrupted (Ctrl-C or SIGTERM) after {wall:.0f} s"
        _write_json(
            self.failed_path(run),
            {
                "id": run.id,
                "suite": self.suite.name,
                "label": run.label,
                "status": status,
                "returncode": rc,
                "error": error,
                "setup_error": setup_error,
                "planning_error": run.error,
                "error_tail": tail,
                "command": shlex.join(cmd),
                "recipe": run.recipe,
                "overrides": run.overrides,
                "started_at": started,
                "finished_at": _now(),
                "wall_time_s": wall,
                **self.git,
                "log": str(self.log_path(run)),
            },
        )
        return error


# --------------------------------------------------------------------------- commands


def _select(runs: list[Run], only: str | None, seeds: str | None = None) -> list[Run]:
    if seeds:
        try:
            keep = {int(x) for x in seeds.split(",") if x.strip()}
        except ValueError:
            raise SuiteError(f"--seeds: expected comma-separated integers, got {seeds!r}") from None
        runs = [r for r in runs if r.seed in keep]
    if not only:
        return runs
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    known = {r.label for r in runs}
    unknown = wanted - known
    if unknown:
        raise SuiteError(f"--only: no method {sorted(unknown)} in this suite (has {sorted(known)})")
    return [r for r in runs if r.label in wanted]


def run_suite(
    suite: Suite,
    *,
    only: str | None = None,
    seeds: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    launch: str | None = None,
    timeout_s: float | None = None,
    report: bool = True,
    out=None,
) -> int:
    """Train every unfinished run of ``suite``; 0 when all are finished, 1 if any failed."""
    out = out or sys.stdout
    runs = _select(plan(suite), only, seeds)
    runner = Runner(suite, launch=launch, timeout_s=timeout_s)
    if launch and not Path(launch).is_file():
        raise SuiteError(f"--launch: accelerate config not found: {launch}")
    todo = [r for r in runs if force or runner.state(r) != "finished"]
    print(
        f"suite {suite.name}: {len(runs)} runs, {len(runs) - len(todo)} finished, "
        f"{len(todo)} to run -> {suite.runs_dir}",
        file=out, flush=True,
    )
    if dry_run:
        for r in runs:
            state = runner.state(r)
            print(f"{r.id}  [{state}]", file=out)
            if force or state != "finished":
                print(f"    {shlex.join(command(r, runner.run_dir(r), launch=launch))}", file=out)
            if r.error:
                print(f"    recipe error: {r.error}", file=out)
        return 0
    runner.git = git_info()
    if todo:
        ensure_peak()
    failed = 0
    width = max((len(r.id) for r in runs), default=0)
    # SIGTERM (a scheduler, `kill`) stops the current run and records it, as Ctrl-C does: the
    # run's process group is its own, so it would otherwise outlive the harness.
    previous = _on_sigterm(_interrupt)
    try:
        for i, r in enumerate(runs, start=1):
            prefix = f"[{i}/{len(runs)}] {r.id.ljust(width)}"
            if not force and runner.state(r) == "finished":
                print(f"{prefix}  skip (finished)", file=out, flush=True)
                continue
            print(f"{prefix}  ...", end=" ", file=out, flush=True)
            status, line = runner.execute(r)
            failed += status != "ok"
            print(line, file=out, flush=True)
    except KeyboardInterrupt:
        print(f"\ninterrupted: recorded in {suite.runs_dir / 'failed'}; run the same command "
              "again to continue (finished runs are skipped, an interrupted one resumes)",
              file=out, flush=True)
        if report:
            write_suite_report(suite)
        return 130
    finally:
        _on_sigterm(previous)
    if report:
        path = write_suite_report(suite)
        print(f"report: {path}", file=out, flush=True)
    return 1 if failed else 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _on_sigterm(handler):
    """Install ``handler`` for SIGTERM (main thread only); returns the previous one."""
    if handler is None:
        return None
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def write_suite_report(suite: Suite) -> Path:
    from .report import write_report

    suite.runs_dir.mkdir(parents=True, exist_ok=True)
    try:
        runner = Runner(suite)
        pending = [r.id for r in plan(suite) if runner.state(r) == "pending"]
    except Exception:  # the report stands on the result files alone
        pending = []
    return write_report(suite.runs_dir, suite=suite.name, notes=suite.notes, pending=pending)


def ensure_peak() -> None:
    """Measure the matmul peak once per machine and thread count (runs then report MFU)."""
    from peftgov import perf

    key, peak, measured = perf.measured_peak()
    if measured:
        print(f"peak {key}: {perf.describe_peak(peak)}")


def measure_peaks(threads: str | None, out: str | None) -> int:
    import torch

    from peftgov import perf

    counts = [int(x) for x in threads.split(",")] if threads else [torch.get_num_threads()]
    table = json.loads(Path(out).read_text()) if out and Path(out).is_file() else {}
    for n in counts:
        torch.set_num_threads(n)
        key, peak, _ = perf.measured_peak(refresh=True)
        table[key] = peak
        print(f"{key}: {perf.describe_peak(peak)}")
    print(f"saved to {perf.peak_cache()}")
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(table, indent=2) + "\n")
        print(f"written: {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run benchmark suites and write their reports."
    )
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train every unfinished run of a suite, then write the report")
    r.add_argument("suite", help="suite YAML (benchmarks/suites/*.yaml)")
    r.add_argument("--only", help="comma-separated method labels to run (e.g. lora,full)")
    r.add_argument("--seeds", help="comma-separated seeds to run (default: the suite's)")
    r.add_argument("--dry-run", action="store_true", help="show the runs and commands only")
    r.add_argument("--force", action="store_true", help="re-run finished runs too")
    r.add_argument("--launch", metavar="ACCELERATE_CONFIG",
                   help="run each through `accelerate launch --config_file ACCELERATE_CONFIG`")
    r.add_argument("--timeout", type=float, help="seconds before a run is stopped as failed")
    r.add_argument("--runs-dir", help="results folder (default: the suite's runs_dir)")
    r.add_argument("--no-report", action="store_true", help="do not write the report after")
    sub.add_parser("scaling", help="step time vs sequence length and batch size (see --help)")
    pk = sub.add_parser(
        "peak", help="measure this machine's matmul peak FLOP/s (per dtype) for MFU figures"
    )
    pk.add_argument("--threads", help="comma-separated CPU thread counts (default: torch's)")
    pk.add_argument("--out", help="also append the figures to this JSON file")
    rep = sub.add_parser("report", help="write REPORT.md, report.csv and plots from results")
    rep.add_argument("suite", help="suite YAML, or a results folder")
    rep.add_argument("--runs-dir", help="results folder (default: the suite's runs_dir)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["scaling"]:
        from .scaling import main as scaling_main

        return scaling_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        if args.command == "peak":
            return measure_peaks(args.threads, args.out)
        if args.command == "report" and Path(args.suite).is_dir():
            from .report import write_report

            print(f"report: {write_report(Path(args.suite))}")
            return 0
        suite = load_suite(args.suite, runs_dir=args.runs_dir)
        if args.command == "report":
            print(f"report: {write_suite_report(suite)}")
            return 0
        return run_suite(
            suite, only=args.only, seeds=args.seeds, dry_run=args.dry_run, force=args.force, launch=args.launch,
            timeout_s=args.timeout, report=not args.no_report,
        )
    except SuiteError as exc:
        print(f"benchmarks: error: {exc}", file=sys.stderr)
        return 2
