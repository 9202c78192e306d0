"""The interface every fine-tuning method implements, and shared save/load helpers.

A method changes training only through its own module: :meth:`Method.apply` decides which
parameters train (the backbone arrives fully frozen; the task head is always trainable),
:meth:`Method.save` writes the artifact, :meth:`Method.load` puts it back on a fresh backbone.
The training loop never asks which method it is running.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ..config import MethodConfig
from ..errors import ArtifactError

TRAINABLE_FILE = "trainable.safetensors"


class Method:
    """Base class: subclass, set ``name`` and ``config_cls``, decorate with ``@register``."""

    name: ClassVar[str]
    config_cls: ClassVar[type[MethodConfig]]
    title: ClassVar[str] = ""
    """How reports name the method in prose (default: its name)."""
    supports_quantized_backbone: ClassVar[bool] = True
    """False for methods that train the backbone's own weights (a 4-/8-bit one cannot train)."""
    identity_at_init: ClassVar[bool] = False
    """True when the untrained method computes exactly the backbone (LoRA's B = 0): its
    before-training test figure is shared with other such methods (:mod:`peftgov.before`)."""

    def apply(
        self, model: nn.Module, cfg: MethodConfig, *, head: list[str], peft_task_type: str
    ) -> nn.Module:
        """Make the method's parameters (and the ``head`` modules) trainable; return the model
        to train (possibly a wrapper such as a ``PeftModel``)."""
        raise NotImplementedError

    def save(self, model: nn.Module, directory: Path) -> None:
        """Write what this method trained into ``directory`` (which exists)."""
        raise NotImplementedError

    def load(self, base: nn.Module, directory: Path, cfg: MethodConfig) -> nn.Module:
        """Rebuild the trained model from a fresh ``base`` (same backbone and head shape)."""
        raise NotImplementedError

    def merged(self, model: nn.Module) -> nn.Module:
        """The trained model as a plain transformers model (``peftgov export --merged``): the
        method folded into the backbone's weights, or a :class:`PeftgovError` saying why it
        cannot be. Default: methods that train the backbone's own tensors are plain already."""
        return model

    def mixes_in_batch(self, cfg: MethodConfig) -> bool:
        """Whether runs of this method on one backbone can share one peft model, each under
        its own adapter name (:meth:`PeftMethod.add_to`), one forward mixing their rows (peft's
        ``adapter_names=``): ``peftgov serve`` batches them together. Default: no."""
        return False

    def extra_positions(self, cfg: MethodConfig) -> int:
        """Positions the method adds to every sequence (prompt learning's virtual tokens); the
        backbone's position limit must hold ``task.max_length`` plus these."""
        return 0

    def backbone_problems(
        self, cfg: MethodConfig, config: Any, module_names: list[str]
    ) -> list[tuple[str, str]]:
        """``(method key, message)`` for every option this backbone cannot honour, found from
        its config and module names alone, before any weight is loaded (default: none)."""
        return []


def unmatched_targets(targets: list[str], module_names: list[str]) -> list[str]:
    """The entries of a ``target_modules`` list that name no module (exact or dotted suffix)."""
    return [
        t for t in targets if not any(n == t or n.endswith("." + t) for n in module_names)
    ]


def layer_problem(layers: list[int], config: Any) -> str | None:
    """Why a method's ``layers`` (block indices) do not fit this backbone, or ``None``."""
    depth = getattr(config, "num_hidden_layers", None)
    if depth is not None and max(layers) >= depth:
        return f"block {max(layers)} does not exist: the backbone has blocks 0-{depth - 1}"
    return None


def set_trainable(model: nn.Module, names: list[str]) -> None:
    """Unfreeze every parameter inside the named submodules (dotted names, suffix match)."""
    for mod_name, module in model.named_modules():
        if any(mod_name == n or mod_name.endswith("." + n) for n in names):
            for p in module.parameters():
                p.requires_grad_(True)


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}


def save_trainable(model: nn.Module, directory: Path, *, meta: dict[str, Any]) -> None:
    """Save only the trainable tensors (safetensors) plus a small JSON description."""
    state = trainable_state(model)
    save_file(state, str(directory / TRAINABLE_FILE), metadata={"format": "pt"})
    (directory / "method.json").write_text(json.dumps(meta, indent=2) + "\n")


def load_trainable(model: nn.Module, directory: Path) -> nn.Module:
    """Load tensors saved by :func:`save_trainable`; every one must match a parameter's shape."""
    path = directory / TRAINABLE_FILE
    if not path.is_file():
        raise ArtifactError(f"{path}: missing (is this a run directory of this method?)")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: cannot read ({exc})") from None
    params = dict(model.named_parameters())
    for name, tensor in state.items():
        if name not in params:
            raise ArtifactError(f"{path}: tensor {name!r} has no place in this backbone")
        if params[name].shape != tensor.shape:
            raise ArtifactError(
                f"{path}: {name} has shape {tuple(tensor.shape)}, backbone expects "
                f"{tuple(params[name].shape)} (adapter trained on another backbone?)"
            )
    with torch.no_grad():
        for name, tensor in state.items():
            params[name].copy_(tensor.to(params[name].dtype))
    return model


def find_layers(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The transformer's block list: the longest ModuleList of identical blocks."""
    best: tuple[str, nn.ModuleList] | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) > 0:
            if len({type(m) for m in module}) == 1 and (best is None or len(module) > len(best[1])):
                best = (name, module)
    if best is None:
        raise ValueError("could not find the backbone's list of transformer layers")
    return best


ADAPTER_DIR = "adapter"


class PeftMethod(Method):
    """A method peft already implements: we only translate our typed options to its config.

    The artifact is a standard peft folder (``<run>/adapter``), so
    ``PeftModel.from_pretrained(base, "<run>/adapter")`` works outside peftgov.
    """

    def peft_config(self, cfg: MethodConfig, *, head: list[str], peft_task_type: str) -> Any:
        raise NotImplementedError

    def apply(self, model, cfg, *, head, peft_task_type):
        return self.wrap(model, self.peft_config(cfg, head=head, peft_task_type=peft_task_type), head)

    @staticmethod
    def wrap(model: nn.Module, config: Any, head: list[str]) -> nn.Module:
        """``get_peft_model`` with the task head always trainable and always saved with the
        adapter (modules_to_save), so a reloaded classifier never comes back with a random head."""
        from peft import get_peft_model

        if hasattr(config, "modules_to_save"):
            config.modules_to_save = sorted(set(config.modules_to_save or []) | set(head))
        return get_peft_model(model, config)

    def save(self, model, directory):
        model.save_pretrained(directory / ADAPTER_DIR, safe_serialization=True)

    def merged(self, model):
        return model.merge_and_unload()  # W + (alpha / r) B A, and the like: exact up to float

    def add_to(self, model: nn.Module, directory: Path, name: str) -> None:
        """Load this run's adapter into ``model`` (a peft model trained from the same backbone
        and task, holding other adapters) under the adapter name ``name``."""
        folder = directory / ADAPTER_DIR
        try:
            model.load_adapter(str(folder), adapter_name=name, is_trainable=False)
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            msg = str(exc).splitlines()[0][:300]
            raise ArtifactError(f"{folder}: cannot load adapter ({msg})") from None

    def load(self, base, directory, cfg):
        from peft import PeftModel

        folder = directory / ADAPTER_DIR
        if not (folder / "adapter_config.json").is_file():
            raise ArtifactError(f"{folder}: no peft adapter (adapter_config.json missing)")
        try:
            return PeftModel.from_pretrained(base, folder, is_trainable=False)
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            msg = str(exc).splitlines()[0][:300]
            raise ArtifactError(f"{folder}: cannot load adapter ({msg})") from None
