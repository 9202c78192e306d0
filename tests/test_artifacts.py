"""Run directories that travel and that colleagues can read: a portable base-model name in the
adapter config, loading after the run directory AND the backbone's install prefix moved, file
modes that honour the umask, evaluation progress, and the metrics as offline ``evaluate``
modules."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import peftgov
from peftgov import backbones
from peftgov.metrics import classification_metrics, generation_metrics, ner_metrics
from peftgov.runs import load_run

HUB_ID = "example-org/tiny-bert"
TEXTS = ["pipe leak my flood", "tax refund please", "pothole on the street road", "help"]


def _install_alias(monkeypatch, folder: Path) -> None:
    """A bundled-style alias 'tiny-alias' whose weights live at ``folder`` (an install prefix)."""
    monkeypatch.setitem(backbones.ALIASES, "tiny-alias", lambda: folder)
    monkeypatch.setitem(backbones.HUB_IDS, "tiny-alias", HUB_ID)


@pytest.fixture
def moved_run(make_recipe, tiny_bert_dir, tmp_path, monkeypatch):
    """Train on an alias installed under prefix A, then move the run directory and reinstall
    the same weights under prefix B (A gone): what a colleague's machine looks like."""
    prefix_a = tmp_path / "prefix-a" / "site-packages" / "tiny_pkg" / "model"
    shutil.copytree(tiny_bert_dir, prefix_a)
    _install_alias(monkeypatch, prefix_a)
    recipe = make_recipe(tmp_path / "train", model={"name": "tiny-alias"}, train={"epochs": 2})
    result = peftgov.train(peftgov.load_recipe(recipe), progress=False)
    expected = peftgov.predict(result.run_dir, TEXTS)
    prefix_b = tmp_path / "prefix-b" / "lib" / "tiny_pkg" / "model"
    shutil.copytree(prefix_a, prefix_b)
    shutil.rmtree(tmp_path / "prefix-a")
    _install_alias(monkeypatch, prefix_b)
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    shutil.move(str(result.run_dir), moved)
    return moved, prefix_b, expected


def test_adapter_config_names_the_backbone_portably(moved_run, tmp_path):
    run, _, _ = moved_run
    config = json.loads((run / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == HUB_ID
    assert str(tmp_path) not in (run / "adapter" / "adapter_config.json").read_text()
    saved = json.loads((run / "backbone.json").read_text())
    assert saved["name"] == "tiny-alias" and len(saved["weights_sha256"]) == 64


def test_a_moved_run_on_a_moved_backbone_predicts_identically(moved_run):
    run, _, expected = moved_run
    assert peftgov.predict(run, TEXTS) == expected


def test_a_moved_run_loads_with_plain_peft(moved_run):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    run, prefix_b, _ = moved_run
    tok = AutoTokenizer.from_pretrained(run / "tokenizer")
    batch = dict(tok(TEXTS, padding=True, return_tensors="pt"))
    with torch.no_grad():
        expected = load_run(run).model(**batch).logits
        base = AutoModelForSequenceClassification.from_pretrained(prefix_b, num_labels=3)
        got = PeftModel.from_pretrained(base, run / "adapter").eval()(**batch).logits
    assert torch.equal(got, expected)


def test_a_moved_run_on_a_changed_backbone_is_refused(moved_run):
    run, prefix_b, _ = moved_run
    weights = next(prefix_b.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(peftgov.errors.PeftgovError, match="trained on another backbone"):
        load_run(run)


def test_run_files_honour_the_umask(make_recipe, tmp_path):
    old = os.umask(0o027)
    try:
        recipe = make_recipe(tmp_path, train={"epochs": 1})
        run = peftgov.train(peftgov.load_recipe(recipe), progress=False).run_dir
    finally:
        os.umask(old)
    files = [p for p in run.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"metrics.json", "recipe.yaml", "backbone.json"}
    for p in files:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == 0o640, f"{p.relative_to(run)}: {oct(mode)}"


@pytest.fixture(scope="module")
def finished_run(make_recipe, tmp_path_factory):
    recipe = make_recipe(tmp_path_factory.mktemp("eval-progress"), train={"epochs": 1})
    return peftgov.train(peftgov.load_recipe(recipe), progress=False).run_dir


@pytest.mark.parametrize("quiet", [False, True])
def test_cli_eval_shows_progress_unless_quiet(finished_run, quiet):
    cmd = [sys.executable, "-m", "peftgov", "eval", str(finished_run), "--split", "validation"]
    proc = subprocess.run(
        cmd + (["--quiet"] if quiet else []), capture_output=True, text=True, timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["split"] == "validation"
    shows_bar = "validation:" in proc.stderr and "it/s" in proc.stderr
    assert shows_bar is not quiet, proc.stderr


def test_training_shows_an_evaluation_bar(make_recipe, tmp_path, capsys):
    recipe = make_recipe(tmp_path, train={"epochs": 1, "cache_test_before": False})
    peftgov.train(peftgov.load_recipe(recipe), progress=True)
    err = capsys.readouterr().err
    assert "test (before training):" in err and "validation:" in err


# --------------------------------------------------------------------------- evaluate modules


def test_metrics_load_offline_as_evaluate_modules_and_agree_with_the_tasks():
    import peftgov.metrics as m

    preds, refs = [0, 2, 1, 1, 0], [0, 1, 1, 1, 2]
    got = m.load("classification").compute(predictions=preds, references=refs, labels=list("abc"))
    assert got == classification_metrics(preds, refs, labels=list("abc"))
    assert got["accuracy"] == pytest.approx(3 / 5)

    ref_tags = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    pred_tags = [["B-PER", "I-PER", "O", "O"], ["O", "B-ORG"]]
    got = m.load("ner").compute(predictions=pred_tags, references=ref_tags)
    assert got == ner_metrics(ref_tags, pred_tags)
    assert got["precision"] == 1.0 and got["recall"] == pytest.approx(2 / 3)

    replies, answers = ["call the hotline", "请拨打热线"], ["please call the hotline", "请拨打12345热线"]
    got = m.load("generation").compute(predictions=replies, references=answers)
    assert got == generation_metrics(replies, answers)


def test_unknown_metric_module_is_refused():
    import peftgov.metrics as m

    with pytest.raises(ValueError, match="unknown metric module 'bleu'"):
        m.module_path("bleu")
