"""Bad input everywhere gets one line naming the file and the key or line, exit code 2, no
traceback, and nothing previously written is lost. Plus property-based tests: random bytes to
the data readers and random YAML to the recipe loader may only ever produce clean errors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import peftgov
from peftgov.cli import main
from peftgov.recipe import load_recipe
from peftgov.data import read_rows
from peftgov.errors import DataError, PeftgovError, RecipeError


def _run_cli(args: list[str], capsys) -> tuple[int, str]:
    rc = main(args)
    out = capsys.readouterr()
    return rc, out.err


def _assert_clean(rc: int, err: str, *needles: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("peftgov: error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# --------------------------------------------------------------------------- data files

DATA_CASES = {
    # name: (file name, bytes, dotted task overrides, expected fragments of the message)
    "empty file": ("train.csv", b"", {}, ["train.csv", "empty"]),
    "non-utf8": ("train.csv", b"text,label\nok,water\nbad \xff\xfe,tax\n", {}, ["train.csv:3", "UTF-8"]),
    "missing column": ("train.csv", b"body,label\nx,water\n", {}, ["train.csv", "'text'"]),
    "wrong column count": ("train.csv", b"text,label\na,water\nb,tax,extra\n", {}, ["train.csv:3", "columns"]),
    "empty text": ("train.jsonl", b'{"text": "a", "label": "w"}\n{"text": "", "label": "t"}\n', {}, ["train.jsonl:2", "text"]),
    "missing label": ("train.jsonl", b'{"text": "a", "label": "w"}\n{"text": "b"}\n', {}, ["train.jsonl:2", "label"]),
    "bad json line": ("train.jsonl", b'{"text": "a", "label": "w"}\n{"text": \n', {}, ["train.jsonl:2", "JSON"]),
    "json not object": ("train.jsonl", b'{"text": "a", "label": "w"}\n[1, 2]\n', {}, ["train.jsonl:2", "object"]),
    "one label only": ("train.jsonl", b'{"text": "a", "label": "w"}\n{"text": "b", "label": "w"}\n', {}, ["train.jsonl", "2 labels"]),
    "conll one column": ("train.conll", b"EU B-ORG\nrejects\n", {"task.name": "ner"}, ["train.conll:2"]),
    "conll bad tag": ("train.conll", b"EU X-ORG\nrejects O\n", {"task.name": "ner"}, ["train.conll:1", "X-ORG"]),
}


@pytest.mark.parametrize("check", [False, True], ids=["train", "check"])
@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_bad_data_file(case, check, tmp_path, capsys, tiny_bert_dir, toy_data):
    """The same one-line error from training and from ``train --check``, which writes nothing."""
    name, payload, extra, needles = DATA_CASES[case]
    bad = tmp_path / name
    bad.write_bytes(payload)
    recipe = {
        "model": {"name": str(tiny_bert_dir)},
        "data": {"train": str(bad), "validation": str(toy_data["validation"])},
        "task": {"max_length": 32},  # the tiny BERT has 64 positions
        "train": {"max_steps": 1},
        "output": {"dir": str(tmp_path / "run")},
    }
    if extra.get("task.name") == "ner":
        recipe["task"] = {"name": "ner", "max_length": 32}
        recipe["data"]["validation"] = str(bad)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    rc, err = _run_cli(["train", str(path), *(["--check"] if check else [])], capsys)
    _assert_clean(rc, err, *needles)
    assert not check or not (tmp_path / "run").exists()


def test_label_only_in_test(tmp_path, capsys, tiny_bert_dir, toy_data):
    test = tmp_path / "test.jsonl"
    test.write_text('{"text": "pipe leak", "label": "water"}\n{"text": "noise", "label": "parks"}\n')
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({
        "model": {"name": str(tiny_bert_dir)},
        "data": {"train": str(toy_data["train"]), "test": str(test)},
        "task": {"max_length": 32},
        "output": {"dir": str(tmp_path / "run")},
    }))
    rc, err = _run_cli(["train", str(path)], capsys)
    _assert_clean(rc, err, "test.jsonl:2", "'parks'")


# --------------------------------------------------------------------------- recipes

RECIPE_CASES = {
    "unknown method": ({"method": {"name": "magic"}}, ["method.name", "magic"]),
    "unknown task": ({"task": {"name": "poetry"}}, ["task.name", "poetry"]),
    "negative lr": ({"train": {"lr": -1.0}}, ["train.lr", "positive"]),
    "string epochs": ({"train": {"epochs": "three"}}, ["train.epochs"]),
    "unknown key": ({"train": {"learning_rate": 1.0}}, ["train.learning_rate", "unknown key"]),
    "missing data file": ({"data": {"train": "/nonexistent/train.csv"}}, ["/nonexistent/train.csv", "not found"]),
    "missing model folder": ({"model": {"name": "./no/such/model"}}, ["model.name", "not found"]),
    "lora rank zero": ({"method": {"name": "lora", "r": 0}}, ["method.r"]),
    "bad precision value": ({"data": {"on_bad_row": "ignore"}}, ["data.on_bad_row"]),
}


def _write_recipe(tmp_path, tiny_bert_dir, toy_data, change: dict) -> Path:
    """A valid tiny recipe (max_length within the tiny BERT's 64 positions), with ``change``
    merged into its sections, written to ``tmp_path/recipe.yaml``."""
    recipe = {
        "model": {"name": str(tiny_bert_dir)},
        "data": {"train": str(toy_data["train"])},
        "task": {"max_length": 32},
        "output": {"dir": str(tmp_path / "run")},
    }
    for section, values in change.items():
        recipe.setdefault(section, {}).update(values)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.mark.parametrize("case", sorted(RECIPE_CASES))
def test_bad_recipe(case, tmp_path, capsys, tiny_bert_dir, toy_data):
    change, needles = RECIPE_CASES[case]
    path = _write_recipe(tmp_path, tiny_bert_dir, toy_data, change)
    rc, err = _run_cli(["train", str(path)], capsys)
    _assert_clean(rc, err, *needles)


# --------------------------------------------------------------------------- run directories


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, make_recipe):
    tmp = tmp_path_factory.mktemp("finished")
    raw = make_recipe(tmp, **{"train.max_steps": 4})
    return peftgov.train(peftgov.load_recipe(raw), progress=False).run_dir


def test_finished_run_is_never_overwritten(finished_run, tmp_path, capsys):
    before = (finished_run / "metrics.json").read_bytes()
    recipe = finished_run / "recipe.yaml"
    rc, err = _run_cli(["train", str(recipe)], capsys)
    _assert_clean(rc, err, "finished run", "output.overwrite")
    assert (finished_run / "metrics.json").read_bytes() == before


def test_check_refuses_a_finished_run_as_training_would(finished_run, capsys):
    rc, err = _run_cli(["train", str(finished_run / "recipe.yaml"), "--check"], capsys)
    _assert_clean(rc, err, "finished run", "output.overwrite")


def test_check_says_what_would_train_and_writes_nothing(make_recipe, tmp_path, capsys):
    """``train --check``: the summary training prints (trainable parameters, examples, steps),
    with nothing trained or written; the same recipe then trains."""
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(make_recipe(tmp_path, **{"train.max_steps": 2})))
    assert main(["train", str(path), "--check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"peftgov: check passed: nothing trained, nothing written to {tmp_path / 'run'}"
    summary = out[-2]
    assert summary.startswith("peftgov: lora on ") and "| 2 steps of 8 " in summary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.yaml"]
    trainable = int(summary.split("trainable ")[1].split(" /")[0].replace(",", ""))
    model = peftgov.train(peftgov.load_recipe(path), progress=False).model
    assert trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_corrupted_adapter_is_refused(finished_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    weights = run / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    rc, err = _run_cli(["predict", str(run), "--text", "pipe leak"], capsys)
    _assert_clean(rc, err, str(run / "adapter"))


def test_adapter_of_another_backbone_is_refused(finished_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    saved = json.loads((run / "backbone.json").read_text())
    saved["weights_sha256"] = "0" * 64  # as if trained on other weights
    (run / "backbone.json").write_text(json.dumps(saved))
    rc, err = _run_cli(["eval", str(run)], capsys)  # the manifest catches the edited file
    _assert_clean(rc, err, "backbone.json: changed")
    (run / "manifest.json").unlink()  # a run from before manifests: the fingerprint guards
    rc, err = _run_cli(["eval", str(run)], capsys)
    _assert_clean(rc, err, "another backbone", "weights_sha256")


def test_unfinished_run_is_refused_for_predict(finished_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    (run / "metrics.json").unlink()
    rc, err = _run_cli(["predict", str(run), "--text", "x"], capsys)
    _assert_clean(rc, err, "did not finish")


def test_predict_input_file_with_bad_line(finished_run, tmp_path, capsys):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"text": "pipe leak"}\n{"txt": "oops"}\n')
    rc, err = _run_cli(["predict", str(finished_run), "--input", str(inputs)], capsys)
    _assert_clean(rc, err, "in.jsonl:2", "'text'")


def test_non_finite_loss_stops_naming_the_step(make_recipe, tmp_path, capsys):
    raw = make_recipe(tmp_path, method={"name": "full"}, **{"train.lr": 1e30, "train.max_grad_norm": None, "train.max_steps": 20})
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    rc, err = _run_cli(["train", str(path)], capsys)
    _assert_clean(rc, err, "loss became", "at step")
    assert not (tmp_path / "run" / "metrics.json").exists()


# --------------------------------------------------------------------------- properties

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(payload=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_readers_accept_rows_or_raise_data_error(tmp_path_factory, payload, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"f{suffix}"
    path.write_bytes(payload)
    try:
        rows = read_rows(str(path))
    except DataError as exc:
        assert str(path) in str(exc)
    else:
        assert rows and all(r.line >= 1 for r in rows)


@FAST
@given(payload=st.binary(max_size=300))
def test_conll_reader_accepts_or_raises_data_error(tmp_path_factory, payload):
    from peftgov.conll import read_conll

    path = tmp_path_factory.mktemp("fuzz") / "f.conll"
    path.write_bytes(payload)
    try:
        read_conll(str(path), strip_position_digit=False, skip=False, counts={})
    except DataError as exc:
        assert str(path) in str(exc)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
sections = st.sampled_from(["model", "data", "task", "method", "train", "output", "extra"])
keys = st.sampled_from(["name", "train", "lr", "epochs", "r", "batch_size", "dir", "variant", "x"])


@FAST
@given(
    raw=st.dictionaries(sections, st.dictionaries(keys, yaml_values, max_size=4) | yaml_values, max_size=5)
)
def test_recipe_loader_accepts_or_raises_recipe_error(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "r.yaml"
    path.write_text(yaml.safe_dump(raw))
    try:
        load_recipe(path)
    except RecipeError as exc:
        assert str(path) in str(exc)


@FAST
@given(text=st.text(max_size=200))
def test_recipe_loader_on_arbitrary_text(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "r.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_recipe(path)
    except PeftgovError as exc:
        assert str(path) in str(exc)


# --------------------------------------------------------------------------- strict YAML

DUPLICATE_CASES = {
    # name: (recipe text with {model} / {train} / {out} placeholders, dotted key, lines)
    "section twice": (
        "model: {{name: {model}}}\ndata: {{train: {train}}}\ntrain:\n  epochs: 9\n  lr: 0.5\n"
        "output: {{dir: {out}}}\ntrain:\n  max_steps: 1\n",
        "train", (3, 7),
    ),
    "key twice in a section": (
        "model: {{name: {model}}}\ndata: {{train: {train}}}\ntrain:\n  lr: 0.5\n  max_steps: 1\n"
        "  lr: 0.01\noutput: {{dir: {out}}}\n",
        "train.lr", (4, 6),
    ),
}


@pytest.mark.parametrize("case", sorted(DUPLICATE_CASES))
def test_duplicate_key_is_refused_naming_both_lines(case, tmp_path, capsys, tiny_bert_dir, toy_data):
    text, key, (first, second) = DUPLICATE_CASES[case]
    path = tmp_path / "recipe.yaml"
    out = tmp_path / "run"
    path.write_text(text.format(model=tiny_bert_dir, train=toy_data["train"], out=out))
    rc, err = _run_cli(["train", str(path)], capsys)
    _assert_clean(rc, err, str(path), f"{key}: duplicate key", f"lines {first} and {second}")
    assert not out.exists()


def test_merge_keys_may_override_what_they_bring(tmp_path, tiny_bert_dir, toy_data):
    path = tmp_path / "recipe.yaml"
    path.write_text(
        f"model: {{name: {tiny_bert_dir}}}\ndata: {{train: {toy_data['train']}}}\n"
        "train:\n  <<: {lr: 0.5, epochs: 2}\n  lr: 0.01\n"
    )
    recipe = load_recipe(path)
    assert recipe.train.lr == 0.01 and recipe.train.epochs == 2


def test_duplicate_key_in_a_suite_is_refused(tmp_path):
    from peftgov.bench.suite import SuiteError, load_suite

    path = tmp_path / "suite.yaml"
    path.write_text("name: s\nseeds: [1]\nmethods: [lora]\nseeds: [2, 3]\n")
    with pytest.raises(SuiteError, match=r"suite.yaml: seeds: duplicate key \(lines 2 and 4\)"):
        load_suite(path)


# --------------------------------------------------------------------------- backbone limits

LIMIT_CASES = {
    # name: (recipe changes, expected fragments); the tiny BERT has 64 positions and 2 layers
    "max_length past the positions": (
        {"task": {"max_length": 100000}}, ["task.max_length", "100000", "64 positions"]
    ),
    "virtual tokens past the positions": (
        {"task": {"max_length": 60}, "method": {"name": "prompt", "num_virtual_tokens": 8}},
        ["task.max_length", "60 + 8 virtual tokens", "at most 56"],
    ),
    "lora targets nothing": (
        {"method": {"name": "lora", "target_modules": ["query", "q_proj"]}},
        ["method.target_modules", "['q_proj']", "match no module"],
    ),
    "adapter targets nothing": (
        {"method": {"name": "adapter", "target_modules": ["mlp.down_proj"]}},
        ["method.target_modules", "mlp.down_proj"],
    ),
    "freeze past the depth": (
        {"method": {"name": "freeze", "layers": 8}}, ["method.layers", "8", "2 layers"]
    ),
}


@pytest.mark.parametrize("case", sorted(LIMIT_CASES))
def test_backbone_limits_are_refused_before_anything_loads(
    case, tmp_path, capsys, tiny_bert_dir, toy_data, monkeypatch
):
    change, needles = LIMIT_CASES[case]
    path = _write_recipe(tmp_path, tiny_bert_dir, toy_data, change)

    def no_data(*args, **kwargs):
        raise AssertionError("data was read before the backbone's limits were checked")

    for task in peftgov.TASKS.values():
        monkeypatch.setattr(task, "prepare", no_data)
    rc, err = _run_cli(["train", str(path)], capsys)
    _assert_clean(rc, err, str(path), *needles)
    assert not (tmp_path / "run").exists()


def test_a_long_text_dataset_with_a_too_long_max_length_fails_in_seconds(
    tmp_path, capsys, tiny_bert_dir
):
    """The issue's case: 20,000 long rows and max_length past the backbone's positions fail
    before any of them is read or tokenized, well under the time reading them would take."""
    import time

    train = tmp_path / "long.jsonl"
    row = json.dumps({"text": "pipe leak " * 400, "label": "water"})
    other = json.dumps({"text": "tax refund " * 400, "label": "tax"})
    train.write_text("\n".join([row, other] * 10000) + "\n")
    recipe = {
        "model": {"name": str(tiny_bert_dir)},
        "data": {"train": str(train)},
        "task": {"max_length": 4096},
        "output": {"dir": str(tmp_path / "run")},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    tick = time.perf_counter()
    rc, err = _run_cli(["train", str(path)], capsys)
    _assert_clean(rc, err, "task.max_length", "4096")
    assert time.perf_counter() - tick < 30


def test_help_says_what_peftgov_is_and_shows_real_commands(capsys):
    """``peftgov --help``: a plain description and example commands whose recipes exist; each
    command's run directory argument says what it is."""
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and "Parameter-efficient fine-tuning" in text
    examples = text.split("examples:")[1]
    recipes = {w for w in examples.split() if w.endswith(".yaml")}
    assert recipes and all((Path(__file__).parents[1] / r).is_file() for r in recipes)
    for command in ("eval", "predict", "export", "verify", "chat"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "output.dir" in capsys.readouterr().out, command
