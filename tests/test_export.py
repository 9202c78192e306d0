"""``peftgov export RUN --merged OUT``: a plain transformers folder, loadable with
``AutoModelForSequenceClassification`` alone, whose logits equal the run's; methods that
cannot be merged say why."""

from __future__ import annotations

import json

import pytest
import torch

import peftgov
from peftgov.cli import main
from peftgov.runs import load_run

TEXTS = ["pipe leak my flood", "tax refund please", "pothole on the street road"]


@pytest.mark.parametrize(
    "method",
    [{"name": "lora", "r": 4}, {"name": "ia3"}, {"name": "bitfit"}, {"name": "full"},
     {"name": "lora", "r": 4, "use_dora": True}],
    ids=["lora", "ia3", "bitfit", "full", "dora"],
)
def test_merged_export_reloads_with_plain_transformers(method, make_recipe, tmp_path, capsys):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    recipe = make_recipe(tmp_path, method=method, train={"epochs": 2})
    run_dir = peftgov.train(peftgov.load_recipe(recipe), progress=False).run_dir
    out = tmp_path / "merged"
    capsys.readouterr()
    assert main(["export", str(run_dir), "--merged", str(out)]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out or "null") or pytest.fail(captured.err)
    assert report["merged"] == str(out) and report["bytes"] > 0

    plain = AutoModelForSequenceClassification.from_pretrained(out).eval()
    tok = AutoTokenizer.from_pretrained(out)
    batch = dict(tok(TEXTS, padding=True, return_tensors="pt"))
    with torch.no_grad():
        expected = load_run(run_dir).model(**batch).logits
        got = plain(**batch).logits
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    labels = json.loads((run_dir / "task_state.json").read_text())["labels"]
    assert [plain.config.id2label[i] for i in range(len(labels))] == labels
    assert not any("lora" in k or "ia3" in k for k in plain.state_dict())


@pytest.mark.parametrize("method, why", [
    ({"name": "adapter", "reduction_factor": 4}, "non-linear"),
    ({"name": "prompt", "num_virtual_tokens": 4}, "virtual tokens"),
])
def test_unmergeable_methods_say_why(method, why, make_recipe, tmp_path, capsys):
    recipe = make_recipe(tmp_path, method=method, train={"max_steps": 2})
    run_dir = peftgov.train(peftgov.load_recipe(recipe), progress=False).run_dir
    assert main(["export", str(run_dir), "--merged", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and why in err[0] and "adapter/" in err[0]
    assert not (tmp_path / "out").exists()
