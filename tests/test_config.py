"""Recipes: every shipped recipe validates; dotted overrides; every kind of mistake is a
RecipeError naming the file and the dotted key; the CLI turns them into one line and exit 2."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import peftgov
from peftgov.config import Recipe
from peftgov.recipe import load_recipe, parse_override
from peftgov.errors import RecipeError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(
    p for p in (ROOT / "recipes").rglob("*.yaml") if "accelerate" not in p.relative_to(ROOT).parts
)


def test_there_are_shipped_recipes():
    assert len(SHIPPED) >= 8, SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT / "recipes")))
def test_shipped_recipe_loads_and_validates(path):
    recipe = load_recipe(path)
    assert isinstance(recipe, Recipe)
    assert recipe.source == str(path)
    assert recipe.method.name in peftgov.METHODS
    assert recipe.task.name in peftgov.TASKS
    assert recipe.data.train
    # the saved form round-trips to the same recipe
    assert load_recipe(yaml.safe_load(recipe.to_yaml())) == recipe


LORA = ROOT / "recipes" / "hotline" / "lora.yaml"


LAUNCH_CONFIGS = sorted((ROOT / "recipes" / "accelerate").glob("*.yaml"))


@pytest.mark.parametrize("path", LAUNCH_CONFIGS, ids=lambda p: p.name)
def test_launch_configs_are_valid_accelerate_configs(path):
    """accelerate's own loader accepts every shipped launch config (no unknown keys)."""
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(path))
    assert config.compute_environment.value == "LOCAL_MACHINE"
    assert config.mixed_precision in {"no", "bf16", "fp16"}
    if config.distributed_type.value == "FSDP":
        assert config.fsdp_config["fsdp_version"] == 2


def test_override_parses_scientific_float():
    assert parse_override("train.lr=1e-4") == ("train.lr", 1e-4)
    recipe = load_recipe(LORA, overrides=["train.lr=1e-4", "train.epochs=2", "train.seed=7"])
    assert recipe.train.lr == 1e-4 and isinstance(recipe.train.lr, float)
    assert recipe.train.epochs == 2.0 and isinstance(recipe.train.epochs, float)
    assert recipe.train.seed == 7


def test_override_mapping_form():
    recipe = load_recipe(LORA, overrides={"train.lr": 1e-4, "output.dir": "/tmp/x"})
    assert recipe.train.lr == 1e-4
    assert recipe.output.dir == "/tmp/x"


def test_switching_method_by_override_drops_the_old_methods_options():
    assert load_recipe(LORA).method.name == "lora"
    recipe = load_recipe(LORA, overrides=["method.name=bitfit"])
    assert recipe.method.name == "bitfit"
    # BitFit's own options at their defaults, none of LoRA's
    from peftgov.methods.bitfit import BitFitConfig
    assert recipe.to_dict()["method"] == {"name": "bitfit", "norm_biases": True}
    assert {f.name for f in dataclasses.fields(BitFitConfig)} == {"name", "norm_biases"}
    # an option given together with the switch is kept
    recipe = load_recipe(LORA, overrides=["method.name=freeze", "method.layers=1"])
    assert recipe.method.name == "freeze" and recipe.method.layers == 1


def _write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BASE = "data:\n  train: t.jsonl\n"
# case id -> (recipe text, dotted key the message must name)
BAD = {
    "unknown-section": (BASE + "bogus:\n  a: 1\n", "bogus"),
    "unknown-key": (BASE + "train:\n  bogus_key: 1\n", "train.bogus_key"),
    "wrong-type": (BASE + "train:\n  epochs: abc\n", "train.epochs"),
    "negative-lr": (BASE + "train:\n  lr: -0.001\n", "train.lr"),
    "unknown-method": (BASE + "method:\n  name: nope\n", "method.name"),
    "unknown-task": (BASE + "task:\n  name: nope\n", "task.name"),
    "unknown-method-option": (BASE + "method:\n  name: bitfit\n  r: 8\n", "method.r"),
    "bad-literal": ("data:\n  train: t.jsonl\n  on_bad_row: ignore\n", "data.on_bad_row"),
    "missing-data": ("train:\n  lr: 0.1\n", "data"),
    "invalid-yaml": (BASE + "train:\n  lr: [1, 2\n", "line"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_recipe_is_a_recipe_error_naming_file_and_key(tmp_path, case):
    text, key = BAD[case]
    path = _write(tmp_path, text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg
    assert key in msg
    if case != "invalid-yaml":
        assert info.value.key == key
    assert "\n" not in msg


def test_bad_override_is_a_recipe_error_naming_the_key():
    with pytest.raises(RecipeError, match=r"train\.lr"):
        load_recipe(LORA, overrides=["train.lr=-1"])
    with pytest.raises(RecipeError, match=r"train\.epochs"):
        load_recipe(LORA, overrides=["train.epochs=abc"])
    with pytest.raises(RecipeError, match="nosection"):
        load_recipe(LORA, overrides=["nosection.x=1"])
    with pytest.raises(RecipeError):
        load_recipe(LORA, overrides=["no-equals-sign"])


def test_recipe_that_is_not_utf8_or_not_a_mapping(tmp_path):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"data:\n  name: caf\xe9\n  train: t.jsonl\n")
    with pytest.raises(RecipeError, match="not UTF-8") as info:
        load_recipe(latin1)
    assert str(latin1) in str(info.value)
    listing = _write(tmp_path, "- data\n- train\n", "list.yaml")
    with pytest.raises(RecipeError, match="mapping") as info:
        load_recipe(listing)
    assert str(listing) in str(info.value)
    section = _write(tmp_path, "data: t.jsonl\n", "scalar.yaml")
    with pytest.raises(RecipeError, match="data: expected a mapping"):
        load_recipe(section)


def test_missing_recipe_file(tmp_path):
    path = tmp_path / "absent.yaml"
    with pytest.raises(RecipeError, match="not found") as info:
        load_recipe(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- CLI

CLI_CASES = {
    "unknown-key": ("unknown-key", []),
    "wrong-type": ("wrong-type", []),
    "unknown-method": ("unknown-method", []),
    "invalid-yaml": ("invalid-yaml", []),
    "bad-override": (None, ["train.lr=-1"]),
    "missing-file": ("<missing>", []),
}
CLI_KEY = {"bad-override": "train.lr", "missing-file": "not found"}
SUBPROCESS_CASES = ("unknown-key", "invalid-yaml", "bad-override")
"""Run through ``python -m peftgov`` too. Each such process spends 5-20 s importing torch,
transformers and peft on this machine, so the rest run through ``main()`` in-process only."""


def _cli_recipe(tmp: Path, case: str) -> tuple[Path, list[str]]:
    bad, overrides = CLI_CASES[case]
    if bad == "<missing>":
        return tmp / "missing.yaml", overrides
    text = BASE if bad is None else BAD[bad][0]
    return _write(tmp, text, f"{case}.yaml"), overrides


@pytest.fixture(scope="module")
def cli_subprocesses(tmp_path_factory):
    """Start the subprocess cases at once (each spends seconds importing), then collect."""
    tmp = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = {}
    for case in SUBPROCESS_CASES:
        path, overrides = _cli_recipe(tmp, case)
        procs[case] = (
            path,
            subprocess.Popen(
                [sys.executable, "-m", "peftgov", "train", str(path), *overrides],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp,
            ),
        )
    out = {}
    for case, (path, proc) in procs.items():
        _, stderr = proc.communicate(timeout=600)
        out[case] = (path, proc.returncode, stderr)
    return out


def _check_one_line_error(case: str, path: Path, rc: int, stderr: str) -> None:
    assert rc == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("peftgov: error: "), lines[0]
    assert str(path) in lines[0]
    bad = CLI_CASES[case][0]
    assert (CLI_KEY.get(case) or BAD[bad][1]) in lines[0]


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_reports_a_bad_recipe_in_one_line_with_exit_2(case, tmp_path, capsys, request):
    from peftgov.cli import main

    path, overrides = _cli_recipe(tmp_path, case)
    rc = main(["train", str(path), *overrides])
    captured = capsys.readouterr()
    assert captured.out == ""
    _check_one_line_error(case, path, rc, captured.err)
    if case in SUBPROCESS_CASES:
        _check_one_line_error(case, *request.getfixturevalue("cli_subprocesses")[case])
