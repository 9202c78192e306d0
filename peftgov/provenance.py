"""Provenance: what produced a run, hashed with SHA-256 and SM3 (GB/T 32905), and checked.

Every finished run has ``manifest.json`` with, per file, its size and both digests:

``artifact``  what the method saved and what loading needs (adapter / model / trainable
              tensors, tokenizer, task state, backbone.json, recipe.yaml);
``backbone``  every file of the backbone folder the run loaded;
``data``      the train / validation / test files of the recipe;
``code``      peftgov's own package files, plus the git commit when run from a checkout;
``lock``      the ``requirements.lock`` the environment was installed from (if found);
``versions``  Python and the libraries.

``peftgov verify RUN_DIR`` recomputes everything and names each mismatch (exit 1);
``predict`` / ``eval`` check the ``artifact`` part before loading and refuse a changed byte.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

from . import artifacts, checkpoint, sm3
from .errors import ArtifactError

MANIFEST = "manifest.json"
PACKAGE = Path(__file__).resolve().parent
CHUNK = 1 << 20
# What is not part of a run's artifact: the run's own bookkeeping, written around it, and the
# resume checkpoint (removed once the run finishes).
NOT_ARTIFACT = {
    MANIFEST, artifacts.METRICS, artifacts.LOG, artifacts.MARKER,
    checkpoint.DIR, f"{checkpoint.DIR}.tmp", f"{checkpoint.DIR}.old",
}


def digests(path: Path) -> dict[str, Any]:
    """Size, SHA-256 and SM3 of one file (one pass)."""
    sha, sm = hashlib.sha256(), sm3.new()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            sha.update(chunk)
            sm.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": sha.hexdigest(), "sm3": sm.hexdigest()}


def _files(folder: Path, skip: set[str] = frozenset()) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).parts[0] not in skip
        and "__pycache__" not in p.parts and not p.name.startswith(".")
    )


def _table(folder: Path, skip: set[str] = frozenset()) -> dict[str, Any]:
    return {str(p.relative_to(folder)): digests(p) for p in _files(folder, skip)}


def git_commit() -> dict[str, Any] | None:
    """The checkout's commit and whether it had uncommitted changes (None outside git)."""
    root = PACKAGE.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "peftgov"],
                               capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head, "dirty": bool(dirty.strip())}


def lock_file() -> Path | None:
    candidate = PACKAGE.parent / "requirements.lock"
    return candidate if candidate.is_file() else None


def data_files(recipe: Any) -> dict[str, Path]:
    from .data import resolve_path

    d = recipe.data
    specs = {"train": d.train, "validation": d.validation, "test": d.test}
    return {split: resolve_path(spec) for split, spec in specs.items() if spec}


def inputs(recipe: Any, backbone_path: str) -> dict[str, Any]:
    """What a run reads: backbone, data, peftgov's code, the lock file, the versions. Taken
    when the process has read them (right after loading), so a file changed while it trains
    shows as a mismatch in ``peftgov verify`` instead of entering the manifest."""
    backbone = Path(backbone_path)
    lock = lock_file()
    return {
        "backbone": {
            "name": recipe.model.gguf or recipe.model.name,
            "path": str(backbone),
            "files": _table(backbone) if backbone.is_dir() else {},
        },
        "data": {split: {"path": str(p), **digests(p)} for split, p in data_files(recipe).items()},
        "code": {"git": git_commit(), "files": _table(PACKAGE)},
        "lock": {"path": str(lock), **digests(lock)} if lock else None,
        "versions": artifacts.versions(),
    }


def build(run_dir: Path, read: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a run whose artifact is complete in ``run_dir``; ``read``: its
    :func:`inputs`, taken when it had loaded them."""
    return {
        "format": 1,
        "hashes": ["sha256", "sm3"],
        "artifact": _table(run_dir, NOT_ARTIFACT),
        **read,
    }


def write(run_dir: Path, read: dict[str, Any]) -> None:
    artifacts.write_json(run_dir / MANIFEST, build(run_dir, read))


def _check(where: str, path: Path, entry: dict[str, Any]) -> list[str]:
    """One file against its manifest entry (size, SHA-256, SM3; other keys are ignored)."""
    if not path.is_file():
        return [f"{where}: {path}: missing"]
    if digests(path) != {k: entry[k] for k in ("bytes", "sha256", "sm3")}:
        return [f"{where}: {path}: changed (SHA-256 / SM3 differ from the manifest)"]
    return []


def _compare(where: str, saved: dict[str, Any], folder: Path) -> list[str]:
    return [p for rel, want in saved.items() for p in _check(where, folder / rel, want)]


def read(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (runs before provenance manifests cannot be verified)")
    return artifacts.read_json(path)


def check_artifact(run_dir: Path) -> None:
    """Refuse a run whose artifact files differ from its manifest (one line per run)."""
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        return  # a run from before manifests: nothing to check against
    problems = _compare("artifact", read(run_dir)["artifact"], run_dir)
    if problems:
        more = f" (and {len(problems) - 1} more; peftgov verify {run_dir})" if len(problems) > 1 else ""
        raise ArtifactError(f"{problems[0]}{more}; refusing to load it")


def verify(run_dir: Path, *, backbone_path: str | None = None) -> list[str]:
    """Every mismatch between the run's manifest and the files now (empty: all verified)."""
    from .recipe import load_recipe

    m = read(run_dir)
    problems = _compare("artifact", m["artifact"], run_dir)
    now = {str(p.relative_to(run_dir)) for p in _files(run_dir, NOT_ARTIFACT)}
    extra = now - set(m["artifact"])
    problems += [f"artifact: {run_dir / rel}: not in the manifest" for rel in sorted(extra)]
    backbone = Path(backbone_path or m["backbone"]["path"])
    if m["backbone"]["files"] and not backbone.is_dir():
        problems.append(f"backbone: {backbone}: missing")
    else:
        problems += _compare("backbone", m["backbone"]["files"], backbone)
    for split, entry in m["data"].items():
        problems += _check(f"data.{split}", Path(entry["path"]), entry)
    problems += _compare("code", m["code"]["files"], PACKAGE)
    if m.get("lock"):
        problems += _check("lock", Path(m["lock"]["path"]), m["lock"])
    load_recipe(run_dir / artifacts.RECIPE)  # the recipe itself still parses
    return problems


def summary(run_dir: Path) -> dict[str, Any]:
    m = read(run_dir)
    return {
        "artifact_files": len(m["artifact"]),
        "backbone_files": len(m["backbone"]["files"]),
        "data_files": len(m["data"]),
        "code_files": len(m["code"]["files"]),
        "git": m["code"]["git"],
        "lock": bool(m.get("lock")),
    }
