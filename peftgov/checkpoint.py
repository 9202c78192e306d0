"""Checkpoints for resuming a killed run, written atomically and without pickle.

A checkpoint is ``<run>/checkpoint/``:

    trainable.safetensors   the trainable weights (what the method trains, head included)
    best.safetensors        the best trainable weights seen so far (early stopping state)
    optimizer.safetensors   every optimizer state tensor, keyed ``<param index>.<name>``
    rng.<rank>.safetensors  each process's torch RNG state (dropout masks continue exactly)
    state.json              step, epoch, batch position, scheduler, tracker, counters, the
                            Python / NumPy RNG states and the optimizer's scalar state

It is built in ``checkpoint.tmp-<pid>/``, fsynced, and renamed over ``checkpoint/``: a kill at
any moment leaves either the previous checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import artifacts
from .errors import ArtifactError

DIR = "checkpoint"


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def save(
    run_dir: Path,
    *,
    trainable: dict[str, torch.Tensor],
    best: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    accelerator: Any,
) -> None:
    """Write a checkpoint (every process calls this; the main one writes the shared files)."""
    tmp = run_dir / f"{DIR}.tmp"
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    rank = accelerator.process_index
    save_file({"torch": torch.get_rng_state()}, str(tmp / f"rng.{rank}.safetensors"))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save_file({k: v.cpu().contiguous() for k, v in trainable.items()}, str(tmp / "trainable.safetensors"))
        save_file({k: v.cpu().contiguous() for k, v in best.items()}, str(tmp / "best.safetensors"))
        tensors, meta = _optimizer_tensors(optimizer)
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        full_state = {
            **state,
            "optimizer": meta,
            "python_rng": _jsonable(random.getstate()),
            "numpy_rng": _jsonable(np.random.get_state()),
            "num_processes": accelerator.num_processes,
        }
        (tmp / "state.json").write_text(json.dumps(full_state, default=_json_default))
        artifacts.honour_umask(tmp)
        _fsync_dir(tmp)
        final = run_dir / DIR
        old = run_dir / f"{DIR}.old"
        _recover(run_dir)
        # A process killed while removing a previous .old leaves it behind, half deleted:
        # clear it first, or the rename below fails on a non-empty directory.
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def _recover(run_dir: Path) -> None:
    """A process killed between the two renames of :func:`save` leaves the last complete
    checkpoint as ``checkpoint.old`` and no ``checkpoint``: put it back."""
    final, old = run_dir / DIR, run_dir / f"{DIR}.old"
    if not final.exists() and (old / "state.json").is_file():
        try:
            os.replace(old, final)
        except OSError:  # another process of the same run got there first
            pass


def exists(run_dir: Path) -> bool:
    _recover(run_dir)
    return (run_dir / DIR / "state.json").is_file()


def load(run_dir: Path, *, optimizer: torch.optim.Optimizer, accelerator: Any) -> dict[str, Any]:
    """Read a checkpoint; restore optimizer and RNG states; return the state with
    ``trainable`` and ``best`` tensors added (the caller puts them into the model)."""
    folder = run_dir / DIR
    try:
        state = json.loads((folder / "state.json").read_text())
        trainable = load_file(str(folder / "trainable.safetensors"))
        best = load_file(str(folder / "best.safetensors"))
        tensors = load_file(str(folder / "optimizer.safetensors"))
        rng_file = folder / f"rng.{accelerator.process_index}.safetensors"
        rng = load_file(str(rng_file))["torch"] if rng_file.is_file() else None
    except (OSError, ValueError, SafetensorError) as exc:
        raise ArtifactError(f"{folder}: checkpoint unreadable ({exc}); delete it to start over") from None
    if state.get("num_processes") != accelerator.num_processes:
        raise ArtifactError(
            f"{folder}: written by {state.get('num_processes')} processes, now "
            f"{accelerator.num_processes}; resume with the same launch config"
        )
    meta = state.pop("optimizer")
    opt_state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        idx, name = key.split(".", 1)
        opt_state.setdefault(int(idx), {})[name] = value
    for idx, scalars in meta["scalars"].items():
        opt_state.setdefault(int(idx), {}).update(scalars)
    optimizer.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
    random.setstate(_tuplify(state.pop("python_rng")))
    np_state = state.pop("numpy_rng")
    np.random.set_state((np_state[0], np.array(np_state[1], dtype=np.uint32), *np_state[2:]))
    if rng is not None:
        torch.set_rng_state(rng)
    state["trainable"], state["best"] = trainable, best
    return state


def remove(run_dir: Path) -> None:
    for name in (DIR, f"{DIR}.old", f"{DIR}.tmp"):
        shutil.rmtree(run_dir / name, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _tuplify(value: Any) -> Any:
    return tuple(_tuplify(v) for v in value) if isinstance(value, list) else value


def _json_default(value: Any) -> Any:
    if torch.is_tensor(value):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
