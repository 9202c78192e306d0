"""Mixed precision: a bf16-autocast run on a bf16-stored backbone trains, and every trained
weight (adapter and head) stays fp32 while the frozen backbone stays bf16 and bit-identical.
fp16 with gradient scaling needs a GPU (checked on a lent GPU; see the README)."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForSequenceClassification

import peftgov


@pytest.fixture
def bf16_autocast(monkeypatch):
    """What `accelerate launch --mixed_precision bf16` sets for the training process."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.mark.parametrize("method", [{"name": "lora", "r": 4}, {"name": "bitfit"}])
def test_bf16_run_keeps_trained_weights_fp32(make_recipe, tmp_path, bf16_autocast, method):
    recipe = peftgov.load_recipe(
        make_recipe(
            tmp_path, model={"dtype": "bfloat16"}, method=method, train={"epochs": 4, "lr": 2e-2}
        )
    )
    result = peftgov.train(recipe, progress=False)
    m = result.metrics
    assert m["mixed_precision"] == "bf16"
    assert m["test"]["loss"] < m["test_before"]["loss"]

    params = dict(result.model.named_parameters())
    trained = {n: p for n, p in params.items() if p.requires_grad}
    frozen = {n: p for n, p in params.items() if not p.requires_grad}
    assert trained and frozen
    assert all(p.dtype == torch.float32 for p in trained.values())
    # the frozen backbone stays bf16, but for its normalisation layers (kept fp32)
    assert all(p.dtype == torch.bfloat16 for n, p in frozen.items() if "LayerNorm" not in n)
    assert any(p.dtype == torch.bfloat16 for p in frozen.values())
    # and the frozen bf16 weights are exactly the checkpoint's, cast once to bf16
    pristine = AutoModelForSequenceClassification.from_pretrained(
        recipe.model.name, num_labels=3, dtype=torch.bfloat16
    ).state_dict()
    checked = 0
    for name, p in frozen.items():
        key = name.removeprefix("base_model.model.").replace(".base_layer", "")
        if key in pristine and "classifier" not in key and "LayerNorm" not in key:
            assert torch.equal(p.detach(), pristine[key]), name
            checked += 1
    assert checked >= 10

    # the run reloads onto a bf16 backbone and gives the same logits with no launch config
    from peftgov.runs import load_run

    loaded = load_run(result.run_dir)
    enc = loaded.tokenizer(["the city office is closed today"], return_tensors="pt")
    result.model.eval()
    with torch.no_grad():
        a, b = result.model(**enc).logits, loaded.model(**enc).logits
    assert torch.equal(a, b)
