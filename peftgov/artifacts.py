"""The run directory: what a finished run leaves behind, written so it is never half-done.

Layout of ``runs/<name>/``::

    recipe.yaml        the resolved recipe (every default filled in)
    task_state.json    labels and counts the task needs to rebuild itself
    backbone.json      the backbone's name and config / weight hashes (checked on reload)
    adapter/ | model/ | trainable.safetensors   what the method trained (see the method)
    tokenizer/         the tokenizer used, for self-contained inference
    log.jsonl          one line per logged step and per evaluation
    metrics.json       written LAST: its presence means the run finished
    RUNNING            present while a run is in progress or was interrupted
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import ArtifactError, PeftgovError

METRICS = "metrics.json"
RECIPE = "recipe.yaml"
TASK_STATE = "task_state.json"
MARKER = "RUNNING"
LOG = "log.jsonl"
BACKBONE = "backbone.json"


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def honour_umask(folder: Path) -> None:
    """Give every file and folder under ``folder`` the mode an ordinary ``open`` / ``mkdir``
    would: safetensors and mkstemp write 0600, which locks colleagues in the group out."""
    mask = current_umask()
    for p in [folder, *folder.rglob("*")]:
        if not p.is_symlink():
            p.chmod((0o777 if p.is_dir() else 0o666) & ~mask)


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``.
    The file gets the mode an ordinary ``open`` would give it (0666 less the umask), not
    mkstemp's private 0600, so colleagues in the group can read the run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def start_run(run_dir: Path, *, overwrite: bool, resuming: bool = False) -> None:
    """Refuse to clobber a finished run unless told to; clear what an interrupted run left
    (unless resuming it); mark the directory as in progress."""
    finished = (run_dir / METRICS).is_file()
    if finished and not overwrite:
        raise PeftgovError(
            f"{run_dir}: already holds a finished run (metrics.json); "
            "choose another output.dir or set output.overwrite=true"
        )
    if (finished or (run_dir / MARKER).is_file()) and not resuming:
        for child in run_dir.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / MARKER).write_text("this run has not finished; metrics.json is written last\n")


def make_portable(run_dir: Path, backbone: str) -> None:
    """Name the backbone portably in every peft ``adapter_config.json`` of the run: peft records
    the absolute folder the weights were loaded from (``.../site-packages/<pkg>/model``), which
    exists only on the training machine. ``backbone`` is the hub id or the recipe's name; the
    weights' SHA-256 stays in backbone.json and is checked when the run is loaded."""
    for config in run_dir.glob("*/adapter_config.json"):
        data = read_json(config)
        changed = False
        for key in ("base_model_name_or_path", "tokenizer_name_or_path"):
            if isinstance(data.get(key), str) and os.path.isabs(data[key]):
                data[key], changed = backbone, True
        if changed:
            write_atomic(config, json.dumps(data, indent=2, sort_keys=True) + "\n")


def finish_run(run_dir: Path, metrics: dict[str, Any]) -> None:
    honour_umask(run_dir)
    write_json(run_dir / METRICS, metrics)
    (run_dir / MARKER).unlink(missing_ok=True)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: corrupted JSON ({exc})") from None


def check_finished(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise ArtifactError(f"{run_dir}: run directory not found")
    if not (run_dir / RECIPE).is_file():
        raise ArtifactError(f"{run_dir}: not a peftgov run directory (no {RECIPE})")
    if not (run_dir / METRICS).is_file():
        raise ArtifactError(f"{run_dir}: run did not finish (no {METRICS}); train it again")


def dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("peftgov", "torch", "transformers", "peft", "accelerate", "datasets", "bitsandbytes"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out
