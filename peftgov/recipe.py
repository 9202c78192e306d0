"""Reading a recipe: YAML (strict) + dotted ``key=value`` overrides -> a validated
:class:`~peftgov.config.Recipe`.

The first step of the data flow (recipe -> backbone -> method -> task -> loop -> artifacts ->
report). It sits above :mod:`peftgov.config` (the typed sections) and the method and task
registries, whose option classes the ``method`` and ``task`` sections dispatch to on their
``name``; nothing below imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from . import yamlio
from .config import (
    ContinualConfig, DataConfig, ModelConfig, OutputConfig, Recipe, TrainConfig, build_section,
)
from .errors import RecipeError
from .methods import METHODS
from .tasks import TASKS


def METHOD_OPTIONS() -> dict[str, type]:  # noqa: N802 - read like the registries they mirror
    return {name: m.config_cls for name, m in METHODS.items()}


def TASK_OPTIONS() -> dict[str, type]:  # noqa: N802
    return {name: t.config_cls for name, t in TASKS.items()}


def _dispatch(kind: str, registry: dict[str, type], raw: Any, default: str, source: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RecipeError(source, kind, f"expected a mapping, got {raw!r}")
    name = raw.get("name", default)
    if name not in registry:
        known = ", ".join(sorted(registry))
        raise RecipeError(source, f"{kind}.name", f"unknown {kind} {name!r} (known: {known})")
    return build_section(registry[name], {**raw, "name": name}, prefix=kind, source=source)


def recipe_from_dict(raw: Any, *, source: str = "<python>") -> Recipe:
    """Validate a plain mapping (as read from YAML) into a :class:`Recipe`."""
    if not isinstance(raw, dict):
        raise RecipeError(source, None, "a recipe must be a YAML mapping of sections")
    for key in raw:
        if key not in Recipe.SECTIONS:
            raise RecipeError(source, key, f"unknown section (known: {', '.join(Recipe.SECTIONS)})")
    if "data" not in raw:
        raise RecipeError(source, "data", "section is required (at least data.train)")
    return Recipe(
        model=build_section(ModelConfig, raw.get("model"), prefix="model", source=source),
        data=build_section(DataConfig, raw.get("data"), prefix="data", source=source),
        task=_dispatch("task", TASK_OPTIONS(), raw.get("task"), "classification", source),
        method=_dispatch("method", METHOD_OPTIONS(), raw.get("method"), "lora", source),
        train=build_section(TrainConfig, raw.get("train"), prefix="train", source=source),
        output=build_section(OutputConfig, raw.get("output"), prefix="output", source=source),
        continual=(
            build_section(ContinualConfig, raw["continual"], prefix="continual", source=source)
            if raw.get("continual") is not None
            else None
        ),
        source=source,
    )


def parse_override(text: str, *, source: str = "<command line>") -> tuple[str, Any]:
    """``train.lr=1e-3`` -> (``"train.lr"``, ``0.001``); values are parsed as YAML scalars."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise RecipeError(source, text, "an override must look like section.key=value")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    # YAML reads 1e-3 as a string (it wants 1.0e-3); accept the usual float spellings.
    if isinstance(parsed, str):
        try:
            parsed = float(parsed) if any(c in parsed for c in ".eE") else parsed
        except ValueError:
            pass
    return key, parsed


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any], *, source: str) -> dict:
    """Set dotted keys in a nested mapping (a copy); an override may only name known sections."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    # Switching method or task by override (method.name=bitfit) starts that section afresh:
    # the file's options belonged to the other method.
    for section in ("method", "task"):
        new = overrides.get(f"{section}.name")
        old = out.get(section)
        if new is not None and isinstance(old, dict) and old.get("name") != new:
            out[section] = {}
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if parts[0] not in Recipe.SECTIONS:
            raise RecipeError(source, dotted, f"unknown section {parts[0]!r}")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise RecipeError(source, dotted, f"{part!r} is not a section")
            else:
                child = node[part] = dict(child)
            node = child
        node[parts[-1]] = value
    return out


def load_recipe(
    path: str | Path | dict, overrides: dict[str, Any] | list[str] | None = None
) -> Recipe:
    """Read a recipe from YAML (or a mapping), apply overrides, and validate it.

    ``overrides`` is either a mapping of dotted keys (``{"train.lr": 1e-3}``) or a list of
    ``key=value`` strings as given on the command line.
    """
    if isinstance(path, dict):
        raw, source = path, "<python>"
    else:
        source = str(path)
        p = Path(path)
        if not p.is_file():
            raise RecipeError(source, None, "recipe file not found")
        try:
            raw = yamlio.load(p.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise RecipeError(source, None, "recipe is not UTF-8 text") from None
        except yamlio.DuplicateKeyError as exc:
            raise RecipeError(source, None, str(exc)) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else None
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise RecipeError(source, where, f"invalid YAML: {problem}") from None
        if raw is None:
            raw = {}
    if isinstance(overrides, list):
        overrides = dict(parse_override(o) for o in overrides)
    if overrides:
        if not isinstance(raw, dict):
            raise RecipeError(source, None, "a recipe must be a YAML mapping of sections")
        raw = apply_overrides(raw, overrides, source=source)
    return recipe_from_dict(raw, source=source)
