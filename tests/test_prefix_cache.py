"""Frozen-prefix reuse (``train.reuse_frozen_prefix``): on the tiny BERT without dropout, the
cached path trains exactly as the plain one (same losses, same top weights, the frozen prefix
untouched), in memory or spilled to disk, while the bottom block runs once per example; and
configurations with nothing to reuse are refused naming the key."""

from __future__ import annotations

import json

import pytest
import torch
from transformers.models.bert import modeling_bert

import peftgov
from peftgov.errors import RecipeError
from peftgov import prefix_cache
from peftgov.prefix_cache import find_encoder

FREEZE_TOP = {"name": "freeze", "layers": 1}  # tiny BERT: 2 blocks, block 1 and the head train
LORA_TOP = {"name": "lora", "r": 4, "alpha": 8, "dropout": 0.0, "layers": [1]}


def train(recipe):
    return peftgov.train(peftgov.load_recipe(recipe), progress=False)


def losses(run_dir):
    records = [json.loads(x) for x in (run_dir / "log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in records if "loss" in r and "eval" not in r]


def _run(make_recipe, folder, method, **train_options):
    """Train on the tiny BERT for 2 epochs; (result, rows that went through block 0)."""
    counted: list[int] = []
    plain_forward = modeling_bert.BertLayer.forward

    def counting(self, hidden_states, *args, **kwargs):
        if self.attention.self.layer_idx == 0:
            counted.append(hidden_states.shape[0])
        return plain_forward(self, hidden_states, *args, **kwargs)

    modeling_bert.BertLayer.forward = counting
    try:
        # cache_test_before off: each run evaluates its own test set (counted rows)
        recipe = make_recipe(
            folder, method=method,
            train={"epochs": 2, "cache_test_before": False, **train_options},
        )
        return train(recipe), sum(counted)
    finally:
        modeling_bert.BertLayer.forward = plain_forward


@pytest.fixture(scope="module")
def runs(make_recipe, tmp_path_factory):
    """Each method trained plainly and with the prefix cache (freeze also spilled to disk)."""
    root = tmp_path_factory.mktemp("prefix-runs")
    out = {}
    files = []  # spill files mapped
    mapped = prefix_cache._mapped
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PEFTGOV_CACHE", str(root / "cache"))
        mp.setattr(prefix_cache, "_mapped", lambda *a: files.append(a) or mapped(*a))
        for name, method in (("freeze", FREEZE_TOP), ("lora", LORA_TOP)):
            out[name, "plain"] = _run(make_recipe, root / name / "plain", method)
            out[name, "cached"] = _run(
                make_recipe, root / name / "cached", method, reuse_frozen_prefix=True
            )
        assert files == []  # the default budget holds the toy data
        out["freeze", "disk"] = _run(
            make_recipe, root / "freeze" / "disk", FREEZE_TOP, reuse_frozen_prefix=True,
            prefix_cache_mb=0,
        )
    out["cache"], out["files"] = root / "cache", files
    return out


@pytest.mark.parametrize("method", ["freeze", "lora"])
def test_cached_prefix_trains_exactly_as_the_plain_path(runs, tiny_bert_dir, method):
    (plain, plain_rows), (cached, cached_rows) = runs[method, "plain"], runs[method, "cached"]
    a, b = losses(plain.run_dir), losses(cached.run_dir)
    assert len(a) == len(b) == 16  # 2 epochs of 8 steps
    assert a[-1] < a[0]  # it learns
    assert b == pytest.approx(a, abs=1e-5)
    assert cached.metrics["test"]["accuracy"] == plain.metrics["test"]["accuracy"]
    trained = {n: p for n, p in plain.model.named_parameters() if p.requires_grad}
    assert trained and all(".layer.0." not in n for n in trained)
    for name, p in cached.model.named_parameters():
        if name in trained:
            torch.testing.assert_close(p, trained[name], atol=1e-5, rtol=0)
    # The frozen prefix is bit-identical to the backbone's own weights.
    backbone = modeling_bert.BertModel.from_pretrained(tiny_bert_dir)
    mine = find_encoder(cached.model)
    for module in ("embeddings", "encoder.layer.0"):
        ref = backbone.get_submodule(module).state_dict()
        got = mine.get_submodule(module).state_dict()
        assert ref.keys() == got.keys()
        assert all(torch.equal(ref[k], got[k]) for k in ref)
    # Block 0 saw each of the 90 examples once (the 8-row FLOPs probe's too: they are train
    # examples), not every epoch (plainly: 2 x 60 train, 2 x 15 validation, 2 x 15 test, the
    # probe).
    assert plain_rows == 188
    assert cached_rows <= 90
    # The FLOPs probe counts a cached step's work: block 0's forward is not in it.
    assert 0 < cached.metrics["train_flops"] < plain.metrics["train_flops"]


def test_spilled_to_disk_trains_the_same(runs):
    (memory, _), (disk, _) = runs["freeze", "cached"], runs["freeze", "disk"]
    assert len(runs["files"]) == 1  # one spill file held every example
    assert losses(disk.run_dir) == losses(memory.run_dir)  # the same floats, read back
    assert list(runs["cache"].joinpath("prefix").iterdir()) == []  # unlinked once mapped


@pytest.mark.parametrize(
    ("method", "key", "message"),
    [
        ({"name": "lora"}, "train.reuse_frozen_prefix", "no frozen prefix"),
        ({"name": "freeze", "layers": 2}, "train.reuse_frozen_prefix", "no frozen prefix"),
        ({"name": "prompt"}, "train.reuse_frozen_prefix", "virtual tokens"),
        ({"name": "lora", "layers": [2]}, "method.layers", "block 2 does not exist"),
        ({"name": "lora", "layers": []}, "method.layers", "non-empty"),
    ],
)
def test_nothing_to_reuse_is_refused(make_recipe, tmp_path, method, key, message):
    recipe = make_recipe(tmp_path, method=method, train={"reuse_frozen_prefix": True})
    with pytest.raises(RecipeError, match=message) as info:
        train(recipe)
    assert info.value.key == key
    assert "\n" not in str(info.value)


def test_only_bert_like_encoders():
    from transformers import GPT2Config, GPT2ForSequenceClassification

    gpt2 = GPT2ForSequenceClassification(GPT2Config(n_layer=2, n_embd=16, n_head=2))
    assert find_encoder(gpt2) is None


def test_adapter_layers_adapt_only_those_blocks(tiny_bert_dir):
    from peftgov.methods import get_method
    from peftgov.methods.adapter import AdapterOptions
    from transformers import BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=3)
    model.requires_grad_(False)
    model = get_method("adapter").apply(
        model, AdapterOptions(variant="houlsby", layers=[1]), head=["classifier"],
        peft_task_type="SEQ_CLS",
    )
    names = [n for n, _ in model.named_parameters() if "bottleneck_" in n]
    adapted = {n.split(".bottleneck_")[0] for n in names}
    assert adapted == {
        "base_model.model.bert.encoder.layer.1.attention.output.dense",
        "base_model.model.bert.encoder.layer.1.output.dense",
    }


def test_the_store_keeps_an_owned_row_as_is_and_copies_a_view(tmp_path):
    """No second copy of a row the prefix pass made for it; a view of a batch is copied, so the
    batch is not kept alive by it."""
    store = prefix_cache.Store([3, 3], budget_mb=1, spill_dir=tmp_path)
    owned = torch.randn(3, 4)
    batch = torch.randn(2, 3, 4)
    store.put(0, owned)
    store.put(1, batch[1])
    assert store.rows[0].data_ptr() == owned.data_ptr()
    assert store.rows[1].untyped_storage().data_ptr() != batch.untyped_storage().data_ptr()
    assert torch.equal(store.rows[1], batch[1]) and store.filled.all()
