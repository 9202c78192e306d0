"""Provenance: SM3 against the standard's test vectors, a manifest in every run, and
``peftgov verify`` catching a changed data file, backbone weight and adapter byte (with
``predict`` refusing the changed adapter)."""

from __future__ import annotations

import json
import shutil

import pytest

import peftgov
from peftgov.cli import main
from peftgov.sm3 import PureSM3
from peftgov.sm3 import new as sm3_new

# GB/T 32905-2016, appendix A
VECTORS = {
    b"abc": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    b"abcd" * 16: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
}


@pytest.mark.parametrize("message", list(VECTORS))
def test_sm3_matches_the_standard(message):
    assert PureSM3(message).hexdigest() == VECTORS[message]
    assert sm3_new(message).hexdigest() == VECTORS[message]


def test_pure_sm3_streams_like_one_call():
    data = bytes(range(256)) * 5
    h = PureSM3()
    for i in range(0, len(data), 37):
        h.update(data[i : i + 37])
    assert h.hexdigest() == sm3_new(data).hexdigest()


@pytest.fixture
def run(make_recipe, tiny_bert_dir, toy_data, tmp_path):
    """A finished run on copies of the backbone and data (so the tests may change them)."""
    backbone = tmp_path / "backbone"
    shutil.copytree(tiny_bert_dir, backbone)
    data = {k: tmp_path / f"{k}.jsonl" for k in toy_data}
    for k, path in toy_data.items():
        shutil.copy(path, data[k])
    recipe = make_recipe(
        tmp_path, model={"name": str(backbone)}, data={k: str(v) for k, v in data.items()},
        train={"epochs": 1},
    )
    run_dir = peftgov.train(peftgov.load_recipe(recipe), progress=False).run_dir
    return run_dir, backbone, data


def _verify(run_dir, capsys) -> tuple[int, list[str]]:
    rc = main(["verify", str(run_dir)])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["verified"] is (rc == 0)
    return rc, [line for line in captured.err.splitlines() if line.startswith("peftgov: verify:")]


def test_the_manifest_covers_everything_and_verifies(run, capsys):
    run_dir, backbone, data = run
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {"adapter/adapter_model.safetensors", "recipe.yaml", "task_state.json",
            "backbone.json"} <= set(manifest["artifact"])
    assert "metrics.json" not in manifest["artifact"]
    assert "model.safetensors" in manifest["backbone"]["files"]
    assert set(manifest["data"]) == {"train", "validation", "test"}
    assert "loop.py" in manifest["code"]["files"] and "redact.py" in manifest["code"]["files"]
    entry = manifest["data"]["train"]
    assert len(entry["sha256"]) == 64 and len(entry["sm3"]) == 64
    assert entry["sm3"] == sm3_new(data["train"].read_bytes()).hexdigest()
    assert _verify(run_dir, capsys) == (0, [])


def test_verify_names_a_changed_data_file(run, capsys):
    run_dir, _, data = run
    data["validation"].write_text(data["validation"].read_text().replace("a", "b", 1))
    rc, problems = _verify(run_dir, capsys)
    assert rc == 1 and len(problems) == 1
    assert "data.validation" in problems[0] and str(data["validation"]) in problems[0]


def test_verify_names_a_changed_backbone_weight(run, capsys):
    run_dir, backbone, _ = run
    weights = backbone / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-3] ^= 0x01
    weights.write_bytes(bytes(raw))
    rc, problems = _verify(run_dir, capsys)
    assert rc == 1 and any("backbone" in p and "model.safetensors" in p for p in problems)


def test_a_changed_adapter_byte_is_caught_and_refused(run, capsys):
    run_dir, _, _ = run
    adapter = run_dir / "adapter" / "adapter_model.safetensors"
    raw = bytearray(adapter.read_bytes())
    raw[-1] ^= 0x01
    adapter.write_bytes(bytes(raw))
    rc, problems = _verify(run_dir, capsys)
    assert rc == 1 and problems == [
        f"peftgov: verify: artifact: {adapter}: changed (SHA-256 / SM3 differ from the manifest)"
    ]
    assert main(["predict", str(run_dir), "--text", "pipe leak"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "adapter_model.safetensors: changed" in err[0]


def test_the_manifest_hashes_the_data_as_read_not_as_left(make_recipe, toy_data, tmp_path, capsys):
    """A data file changed while the run trains: the manifest holds what training read, so
    verify names the file instead of vouching for the changed one."""
    from peftgov import loop

    train_file = tmp_path / "train.jsonl"
    shutil.copy(toy_data["train"], train_file)
    read = train_file.read_bytes()
    recipe = make_recipe(tmp_path, data={"train": str(train_file)}, train={"epochs": 1})

    def change_after_loading(session):
        train_file.write_text(train_file.read_text().replace("a", "b", 1))

    run_dir = loop.run(peftgov.load_recipe(recipe), progress=False, setup=change_after_loading).run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["data"]["train"]["sm3"] == sm3_new(read).hexdigest()
    capsys.readouterr()  # the run's own output
    rc, problems = _verify(run_dir, capsys)
    assert rc == 1 and len(problems) == 1 and "data.train" in problems[0]
