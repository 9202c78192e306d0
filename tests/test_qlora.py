"""QLoRA on the CPU: a 4-bit (nf4, double quantization) backbone through bitsandbytes, LoRA on
top. The adapter trains, every frozen 4-bit weight stays bit-identical, the head and adapter
stay fp32, and the saved run reloads onto a freshly quantized backbone with the same logits."""

from __future__ import annotations

import pytest
import torch

import peftgov
from peftgov.errors import RecipeError
from peftgov.runs import load_run

bnb = pytest.importorskip("bitsandbytes")


def kbit_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every 4-bit layer's packed weight and its quantization statistics."""
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            name = name.removeprefix("base_model.model.").replace(".base_layer", "")
            out[f"{name}.weight"] = module.weight.detach().clone()
            qs = module.weight.quant_state
            out[f"{name}.absmax"] = qs.absmax.detach().clone()
            if qs.state2 is not None:  # double quantization: the absmax are quantized too
                out[f"{name}.absmax2"] = qs.state2.absmax.detach().clone()
    return out


@pytest.fixture(scope="module")
def qlora(make_recipe, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qlora")
    recipe = peftgov.load_recipe(
        make_recipe(
            tmp,
            model={"quantization": "4bit"},
            method={"name": "lora", "r": 4, "target_modules": "all-linear"},
            train={"epochs": 6, "lr": 1e-2},
        )
    )
    # The same backbone, quantized the same way, untouched: what the 4-bit weights must stay.
    from peftgov.backbones import load_model
    from transformers import AutoModelForSequenceClassification

    pristine = kbit_state(
        load_model(AutoModelForSequenceClassification, recipe.model.name, recipe.model, num_labels=3)
    )
    result = peftgov.train(recipe, progress=False)
    return recipe, result, pristine


def test_the_backbone_really_is_4bit(qlora):
    _, result, pristine = qlora
    layers = [m for m in result.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(layers) >= 8  # q, k, v, o, up, down in both layers of the tiny BERT
    assert all(m.weight.dtype == torch.uint8 for m in layers)
    assert len(pristine) >= 2 * len(layers)


def test_qlora_trains(qlora):
    _, result, _ = qlora
    m = result.metrics
    assert m["test"]["loss"] < m["test_before"]["loss"] - 0.1
    assert m["test"]["accuracy"] > m["test_before"]["accuracy"]


def test_frozen_4bit_weights_are_bit_identical(qlora):
    _, result, pristine = qlora
    after = kbit_state(result.model)
    assert after.keys() == pristine.keys()
    for name, value in pristine.items():
        assert torch.equal(after[name], value), f"4-bit {name} changed"


def test_adapter_and_head_are_fp32_and_trained(qlora):
    _, result, _ = qlora
    trainable = {n: p for n, p in result.model.named_parameters() if p.requires_grad}
    assert any("lora_B" in n for n in trainable) and any("classifier" in n for n in trainable)
    assert all(p.dtype == torch.float32 for p in trainable.values())
    # LoRA B starts at zero: training moved it
    assert max(p.abs().max().item() for n, p in trainable.items() if "lora_B" in n) > 1e-3


def test_qlora_run_reloads_to_the_same_logits(qlora):
    recipe, result, _ = qlora
    loaded = load_run(result.run_dir)
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in loaded.model.modules())
    enc = loaded.tokenizer(["the city office is closed today"], return_tensors="pt")
    result.model.eval()
    with torch.no_grad():
        a = result.model(**enc).logits
        b = loaded.model(**enc).logits
    assert torch.allclose(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("method", ["full", "freeze"])
def test_methods_that_train_the_backbone_refuse_a_4bit_one(make_recipe, tmp_path, method):
    recipe = peftgov.load_recipe(
        make_recipe(tmp_path, model={"quantization": "4bit"}, method={"name": method})
    )
    with pytest.raises(RecipeError, match="model.quantization"):
        peftgov.train(recipe, progress=False)
    assert not (tmp_path / "run").exists()


def test_adamw_8bit_trains(make_recipe, tmp_path):
    """train.optimizer=adamw_8bit builds bitsandbytes' AdamW8bit, and the run trains with it."""
    recipe = peftgov.load_recipe(
        make_recipe(
            tmp_path,
            method={"name": "lora", "r": 4, "target_modules": "all-linear"},
            train={"epochs": 4, "lr": 1e-2, "optimizer": "adamw_8bit"},
        )
    )
    from peftgov.session import build_optimizer
    from peftgov.tasks import get_task

    result = peftgov.train(recipe, progress=False)
    m = result.metrics
    assert m["test"]["loss"] < m["test_before"]["loss"] - 0.1
    opt = build_optimizer(result.model, recipe, get_task("classification").head_modules(result.model))
    assert isinstance(opt, bnb.optim.AdamW8bit)


def test_gradient_checkpointing_gives_the_same_training(make_recipe, tmp_path):
    """Recomputing activations in the backward pass changes memory, not the result."""
    runs = []
    for gc in (False, True):
        recipe = peftgov.load_recipe(
            make_recipe(
                tmp_path / str(gc),
                method={"name": "lora", "r": 4},
                train={"epochs": 2, "lr": 1e-2, "gradient_checkpointing": gc},
            )
        )
        runs.append(peftgov.train(recipe, progress=False))
    a, b = (dict(r.model.named_parameters()) for r in runs)
    trained = [n for n, p in a.items() if p.requires_grad]
    assert trained
    for n in trained:
        assert torch.allclose(a[n], b[n], atol=1e-5, rtol=0), n
    assert runs[0].metrics["test"]["accuracy"] == runs[1].metrics["test"]["accuracy"]
