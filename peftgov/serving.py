"""Several finished runs of one backbone held in memory at once, predicting for a mix of them.

What ``peftgov serve`` puts behind its HTTP API (:mod:`peftgov.serve`); no HTTP here.

Sharing. Every run is loaded with :func:`peftgov.runs.load_run` (so it is verified against its
manifest and its backbone.json). Runs whose method mixes in a batch (LoRA:
:meth:`Method.mixes_in_batch`) and whose models have the same shape (task, backbone options,
head shapes) share one peft model, each adapter under its own name. Every other run (bottleneck
adapters, BitFit, prompt tuning, full fine-tuning, DoRA) keeps its own model, but each of its
frozen tensors that equals one already held (same bytes) is replaced by that one
(:func:`share_equal_tensors`; transformers and peft have no such thing), so the backbone's
weights are in memory once whatever the mix of methods.

Prediction. :meth:`Pool.predict` takes a batch of ``(adapter, texts)`` jobs. Each run predicts
through its own task's ``predict`` (the function ``peftgov predict`` calls), so the records are
the same. For a shared model, each adapter's ``predict`` runs in its own thread on a stand-in
model; the stand-ins' calls meet (:class:`_Meeting`), their inputs are padded on the right to
one length and stacked, and the shared model runs ONE forward with peft's ``adapter_names``
(one name per row); each thread gets its rows back.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import artifacts, provenance, redact
from .errors import ArtifactError, PeftgovError
from .methods import get_method
from .runs import LoadedRun, load_run

FINGERPRINT_KEYS = ("name", "quantization", "config_sha256", "weights_sha256")


@dataclass
class Served:
    """One run as the server holds it."""

    name: str
    run: LoadedRun
    """The run; ``run.model`` is the model predicting for it (shared or its own)."""
    adapter: str | None
    """Its adapter name inside a shared peft model; None when it has its own model."""
    info: dict[str, Any]
    """What ``GET /v1/adapters`` shows for it."""


def parse_run_args(args: list[str]) -> dict[str, Path]:
    """``RUN_DIR`` or ``NAME=RUN_DIR`` words -> {name: run directory}; the name defaults to the
    folder's name and must be unique."""
    runs: dict[str, Path] = {}
    for arg in args:
        name, sep, path = arg.partition("=")
        path = Path(path if sep else arg)
        name = name if sep else path.resolve().name
        if not name or name in runs:
            raise PeftgovError(
                f"{arg}: the adapter name {name!r} is " + ("empty" if not name else
                f"also the name of {runs[name]}") + "; name it with NAME=RUN_DIR"
            )
        runs[name] = path
    return runs


def backbone_of(run_dir: Path) -> dict[str, Any]:
    """The fingerprint of the backbone a run was trained on (its backbone.json, the weights'
    hashes when the backbone was a local folder)."""
    artifacts.check_finished(run_dir)
    saved = run_dir / artifacts.BACKBONE
    if not saved.is_file():
        raise ArtifactError(f"{saved}: missing (the run predates backbone fingerprints)")
    fp = artifacts.read_json(saved)
    keys = FINGERPRINT_KEYS[1:] if fp.get("weights_sha256") else FINGERPRINT_KEYS
    return {k: fp.get(k) for k in keys}


def check_one_backbone(runs: dict[str, Path]) -> dict[str, Any]:
    """The backbone every run was trained on, or a one-line error naming two runs that differ."""
    first, fp = None, None
    for name, run_dir in runs.items():
        here = backbone_of(run_dir)
        if first is None:
            first, fp = run_dir, here
            continue
        differ = [k for k in here if here[k] != fp.get(k)]
        if differ:
            raise ArtifactError(
                f"{run_dir} and {first} were trained on different backbones ({differ[0]} "
                f"{here[differ[0]]!r} vs {fp.get(differ[0])!r}); serve them separately"
            )
    return fp or {}


def fingerprint(run_dir: Path) -> str | None:
    """SHA-256 of the run's manifest ``artifact`` table (every file loading reads, by its
    SHA-256): equal fingerprints, the same adapter. None for a run without a manifest."""
    if not (run_dir / provenance.MANIFEST).is_file():
        return None
    table = provenance.read(run_dir)["artifact"]
    canonical = json.dumps({k: v["sha256"] for k, v in sorted(table.items())}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def share_equal_tensors(models: list[nn.Module], seen: dict[tuple, nn.Parameter]) -> None:
    """Point every parameter whose dtype, shape and bytes equal one in ``seen`` (or an earlier
    one of ``models``) at that one; ``seen`` gains the others. For inference only: nothing
    shared is trained again."""
    for model in models:
        for module in model.modules():
            for key, p in module._parameters.items():
                if p is None:
                    continue
                data = p.detach().contiguous().cpu()
                digest = hashlib.sha256(data.view(-1).view(torch.uint8).numpy()).hexdigest()
                ident = (p.dtype, tuple(p.shape), p.device, digest)
                if seen.setdefault(ident, p) is not p:
                    module._parameters[key] = seen[ident]


def parameter_bytes(models: list[nn.Module]) -> int:
    """Bytes of distinct parameter storage held by ``models`` (shared tensors counted once)."""
    storages: dict[int, int] = {}
    for model in models:
        for p in model.parameters():
            storage = p.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def _mix_key(run: LoadedRun) -> tuple | None:
    """Runs with equal keys can share one peft model (None: this run cannot share)."""
    from peft.utils import ModulesToSaveWrapper

    if not get_method(run.recipe.method.name).mixes_in_batch(run.recipe.method):
        return None
    heads = [(n, m.original_module) for n, m in run.model.named_modules()
             if isinstance(m, ModulesToSaveWrapper)]
    if not all(isinstance(m, (nn.Linear, nn.Embedding)) for _, m in heads):
        return None  # peft mixes only Linear / Embedding heads (a RoBERTa head is an MLP)
    shapes = tuple((n, tuple(p.shape)) for n, m in heads for p in m.parameters())
    return (run.recipe.task.name, repr(run.recipe.model), shapes)


def _info(name: str, run: LoadedRun, backbone: dict[str, Any]) -> dict[str, Any]:
    metrics = artifacts.read_json(run.run_dir / artifacts.METRICS)
    return {
        "name": name,
        "run_dir": str(run.run_dir),
        "fingerprint": fingerprint(run.run_dir),
        "backbone": backbone,
        "task": run.recipe.task.name,
        "method": run.recipe.method.name,
        "labels": run.state.get("labels"),
        "metrics": metrics.get("test") or metrics.get("validation") or {},
    }


class Pool:
    """The served runs: load them (``{name: run_dir}``, one backbone), then :meth:`predict`."""

    def __init__(self, runs: dict[str, Path]) -> None:
        if not runs:
            raise PeftgovError("serve: name at least one run directory")
        backbone = check_one_backbone(runs)
        self.served: dict[str, Served] = {}
        self._meetings: dict[int, _MeetingPlace] = {}  # id(shared model) -> its meeting place
        hosts: dict[tuple, nn.Module] = {}
        seen: dict[tuple, nn.Parameter] = {}
        for name, run_dir in runs.items():
            run = load_run(run_dir)
            key, adapter = _mix_key(run), None
            if key is not None and key in hosts:
                adapter = f"adapter_{len(self.served)}"
                get_method(run.recipe.method.name).add_to(hosts[key], run.run_dir, adapter)
                run = replace(run, model=hosts[key].eval())  # its own copy is dropped
            else:
                if key is not None:
                    hosts[key], adapter = run.model, run.model.active_adapter
                    self._meetings[id(run.model)] = _MeetingPlace(run.model)
                share_equal_tensors([run.model], seen)
            self.served[name] = Served(name, run, adapter, _info(name, run, backbone))
        self.forwards = 0
        """Forwards of the shared models so far (one per meeting of several adapters)."""

    @property
    def models(self) -> list[nn.Module]:
        """Every distinct model held."""
        return list({id(s.run.model): s.run.model for s in self.served.values()}.values())

    def predict(self, jobs: list[tuple[str, list[str]]]) -> list[list[dict] | Exception]:
        """Records for each ``(adapter, texts)`` job, or the exception that job raised. One
        forward (per chunk of the task) for all adapters of a shared model; one ``predict``
        for all texts of each other adapter."""
        texts: dict[str, list[str]] = {}
        for name, batch in jobs:
            texts.setdefault(name, []).extend(batch)
        results: dict[str, list[dict] | Exception] = {}
        by_model: dict[int, list[str]] = {}
        for name in texts:
            by_model.setdefault(id(self.served[name].run.model), []).append(name)
        for model_id, names in by_model.items():
            place = self._meetings.get(model_id)
            if place is None:
                (name,) = names
                results[name] = _guard(self._predict_one, self.served[name], texts[name], None)
            else:
                results.update(self._predict_mixed(place, names, texts))
        out: list[list[dict] | Exception] = []
        start: dict[str, int] = dict.fromkeys(texts, 0)
        for name, batch in jobs:
            res = results[name]
            out.append(res if isinstance(res, Exception)
                       else res[start[name] : start[name] + len(batch)])
            start[name] += len(batch)
        return out

    def _predict_one(self, served: Served, texts: list[str], model: Any) -> list[dict]:
        run = served.run
        if run.recipe.data.redact:  # as peftgov predict: the model saw placeholders in training
            texts = [redact.redact(t) for t in texts]
        model = run.model if model is None else model
        return run.task.predict(model, run.tokenizer, texts, run.recipe, run.state)

    def _predict_mixed(self, place: "_MeetingPlace", names: list[str],
                       texts: dict[str, list[str]]) -> dict[str, list[dict] | Exception]:
        meeting = place.meet(len(names))
        results: dict[str, list[dict] | Exception] = {}

        def one(name: str) -> None:
            served = self.served[name]
            try:
                results[name] = _guard(self._predict_one, served, texts[name],
                                       _AsAdapter(meeting, served.adapter))
            finally:
                meeting.leave()

        threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.forwards += meeting.forwards
        return results


def _guard(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # reported to that job's request alone
        return exc


class _MeetingPlace:
    """A shared peft model; one :class:`_Meeting` at a time (the batcher predicts serially)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        pad = getattr(model.config, "pad_token_id", None)
        self.pad_id = pad if isinstance(pad, int) else 0

    def meet(self, members: int) -> "_Meeting":
        return _Meeting(self.model, self.pad_id, members)


class _Meeting:
    """Threads calling one shared model meet here: when every member still predicting has
    called, their inputs go through the model in one forward."""

    def __init__(self, model: nn.Module, pad_id: int, members: int) -> None:
        self.model, self.pad_id, self.left = model, pad_id, members
        self.waiting: dict[_AsAdapter, dict[str, Any]] = {}
        self.results: dict[_AsAdapter, Any] = {}
        self.forwards = 0
        self.cond = threading.Condition()

    def call(self, who: "_AsAdapter", inputs: dict[str, Any]) -> Any:
        with self.cond:
            self.waiting[who] = inputs
            self._run_if_all_here()
            while who not in self.results:
                self.cond.wait()
            out = self.results.pop(who)
        if isinstance(out, Exception):
            raise out
        return out

    def leave(self) -> None:
        with self.cond:
            self.left -= 1
            self._run_if_all_here()

    def _run_if_all_here(self) -> None:
        if not self.waiting or len(self.waiting) < self.left:
            return
        calls, self.waiting = self.waiting, {}
        try:
            outs = self._forward(calls)
        except Exception as exc:
            outs = dict.fromkeys(calls, exc)
        self.results.update(outs)
        self.cond.notify_all()

    def _forward(self, calls: dict["_AsAdapter", dict[str, Any]]) -> dict["_AsAdapter", Any]:
        keys = {frozenset(inputs) for inputs in calls.values()}
        stackable = len(keys) == 1 and all(
            torch.is_tensor(v) and v.dim() == 2
            for inputs in calls.values() for v in inputs.values()
        )
        groups = [calls] if stackable else [{who: inputs} for who, inputs in calls.items()]
        outs = {}
        for group in groups:
            rows = [next(iter(inputs.values())).shape[0] for inputs in group.values()]
            names = [who.adapter for who, n in zip(group, rows) for _ in range(n)]
            with torch.no_grad():  # grad mode is per thread: this one may be a leaving thread
                out = self.model(**self._stack(list(group.values())), adapter_names=names)
            self.forwards += 1
            start = 0
            for who, n in zip(group, rows):
                outs[who] = _rows(out, start, start + n)
                start += n
        return outs

    def _stack(self, inputs: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Pad every input on the right to the longest and concatenate the rows. Appending
        (whatever the tokenizer's padding side) keeps each row's tokens at their positions;
        the appended positions are masked, so each row's outputs are its own."""
        if len(inputs) == 1:
            return inputs[0]
        length = max(x.shape[1] for batch in inputs for x in batch.values())
        out = {}
        for key in inputs[0]:
            value = self.pad_id if key == "input_ids" else 0
            out[key] = torch.cat([
                nn.functional.pad(batch[key], (0, length - batch[key].shape[1]), value=value)
                for batch in inputs
            ])
        return out


def _rows(value: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of every tensor in a model output."""
    if torch.is_tensor(value):
        return value[start:stop]
    if isinstance(value, dict):  # transformers' ModelOutput is a dict
        return type(value)(**{k: _rows(v, start, stop) for k, v in value.items()})
    if isinstance(value, tuple):
        return tuple(_rows(v, start, stop) for v in value)
    return value


class _AsAdapter:
    """The shared model as one adapter's task sees it: a call goes through the meeting with
    this adapter's name, so does ``generate``; anything else (``parameters()``, ``eval()``) is
    the model's own."""

    def __init__(self, meeting: _Meeting, adapter: str) -> None:
        self._meeting, self.adapter = meeting, adapter

    def __call__(self, **inputs: Any) -> Any:
        return self._meeting.call(self, inputs)

    def generate(self, **inputs: Any) -> Any:
        """Generation (dialogue) does not meet: it runs alone, holding the meeting's lock (peft's
        ``adapter_names`` hooks sit on the shared modules), this adapter's name on every row."""
        with self._meeting.cond:
            rows = inputs["input_ids"].shape[0]
            return self._meeting.model.generate(**inputs, adapter_names=[self.adapter] * rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._meeting.model, name)
