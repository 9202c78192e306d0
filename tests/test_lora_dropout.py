"""LoRA's fused dropout (``method.fused_dropout``): the same dropout as peft's ``nn.Dropout``
before ``lora_A``, with exact gradients, less saved for backward, and the adapter unchanged."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from peft.tuners.lora.layer import Linear as LoraLinear
from torch import nn
from transformers import AutoModelForSequenceClassification

import peftgov
from peftgov.methods.lora import (
    FusedDropoutLinear, ScaledAddLinear, _DropoutLinear, fuse_dropout, fuse_scaled_add, keep_mask,
)

from conftest import TINY_BERT


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5])
def test_the_mask_keeps_one_minus_p_and_rescales_to_the_same_mean(p):
    x = torch.empty(400, 1000)
    torch.manual_seed(0)
    keep, scale = keep_mask(x, p)
    assert keep.dtype == torch.bool and keep.shape == x.shape
    kept = keep.float().mean().item()
    assert abs(kept - (1 - p)) < 0.004  # 400k draws: about 8 standard deviations at p = 0.5
    assert scale == pytest.approx(1 / (1 - p), rel=1e-4)  # p rounded to 1/65536
    assert kept * scale == pytest.approx(1.0, abs=0.005)
    # from the default generator: seeding repeats it, the next draw differs
    torch.manual_seed(0)
    assert torch.equal(keep_mask(x, p)[0], keep)
    assert not torch.equal(keep_mask(x, p)[0], keep)
    # every row and column sees drops (no lane of the 64-bit words is stuck)
    assert (~keep).any(dim=0).all() and (~keep).any(dim=1).all()


def test_forward_and_gradients_equal_linear_of_the_dropped_input():
    x = torch.randn(4, 7, 24, requires_grad=True)
    w = torch.randn(5, 24, requires_grad=True)
    torch.manual_seed(3)
    out = _DropoutLinear.apply(x, w, 0.25)
    grad = torch.randn_like(out)
    out.backward(grad)
    got_x, got_w = x.grad.clone(), w.grad.clone()

    x.grad = w.grad = None
    torch.manual_seed(3)
    keep, scale = keep_mask(x, 0.25)
    ref = F.linear(x * keep * scale, w)
    ref.backward(grad)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(got_x, x.grad)
    torch.testing.assert_close(got_w, w.grad)
    assert (got_x[~keep] == 0).all()  # dropped inputs get no gradient


def _lora_model(tiny_bert_dir, *, fused: bool, dropout: float = 0.1, dora: bool = False):
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=3)
    model = get_peft_model(
        model,
        LoraConfig(r=4, lora_alpha=8, lora_dropout=dropout, target_modules="all-linear",
                   task_type="SEQ_CLS", use_dora=dora),
    )
    folded = fuse_dropout(model) if fused else 0
    return model, folded


def _saved_bytes(model, ids) -> int:
    """Bytes of the distinct storages autograd keeps for backward during one forward."""
    storages: dict[int, int] = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.sum().backward()
    return sum(storages.values())


def test_folding_keeps_outputs_and_adapter_names_and_saves_less(tiny_bert_dir):
    plain, _ = _lora_model(tiny_bert_dir, fused=False)
    fused, folded = _lora_model(tiny_bert_dir, fused=True)
    linears = sum(isinstance(m, nn.Linear) and "lora_A" in n for n, m in fused.named_modules())
    assert folded == linears > 0
    assert all(isinstance(m, nn.Identity) for n, m in fused.named_modules() if "lora_dropout." in n)
    # the adapter's tensors keep their names: the saved adapter is peft's own
    assert plain.state_dict().keys() == fused.state_dict().keys()

    ids = torch.randint(5, TINY_BERT["vocab_size"], (8, 16))
    plain.eval()
    fused.eval()
    with torch.no_grad():  # no dropout in eval: the very same function
        assert torch.equal(plain(input_ids=ids).logits, fused(input_ids=ids).logits)

    plain.train()
    fused.train()
    no_dropout, _ = _lora_model(tiny_bert_dir, fused=False, dropout=0.0)
    no_dropout.train()
    peft_bytes, fused_bytes = _saved_bytes(plain, ids), _saved_bytes(fused, ids)
    floor = _saved_bytes(no_dropout, ids)
    # peft keeps a dropped float copy per adapted linear; fused keeps a 1-byte mask
    assert fused_bytes < peft_bytes
    assert fused_bytes - floor <= (peft_bytes - floor) / 2


def test_dora_and_zero_dropout_keep_peft_layers(tiny_bert_dir):
    _, folded = _lora_model(tiny_bert_dir, fused=True, dora=True)
    assert folded == 0
    _, folded = _lora_model(tiny_bert_dir, fused=True, dropout=0.0)
    assert folded == 0


def test_recipe_switch(make_recipe, tmp_path):
    def lora_a_types(fused):
        raw = make_recipe(tmp_path, method={"name": "lora", "dropout": 0.1, "fused_dropout": fused},
                          **{"train.max_steps": 2, "output.dir": str(tmp_path / f"run-{fused}")})
        result = peftgov.train(peftgov.load_recipe(raw), progress=False)
        return {type(m) for n, m in result.model.named_modules() if n.endswith("lora_A.default")}

    assert lora_a_types(True) == {FusedDropoutLinear}
    assert lora_a_types(False) == {nn.Linear}


@pytest.mark.parametrize("reentrant", [False, True])
def test_activation_checkpointing_drops_the_same_elements_twice(tiny_bert_dir, reentrant):
    """Checkpointing runs a block's forward again in backward (reentrant: first without
    gradients): the mask must be drawn the same both times, or the gradients are wrong."""

    def grads(checkpointing: bool) -> dict[str, torch.Tensor]:
        model, folded = _lora_model(tiny_bert_dir, fused=True, dropout=0.3)
        assert folded
        for name, p in model.named_parameters():
            if "lora_B" in name:  # B = 0 at init would hide lora_A's gradient
                torch.nn.init.normal_(p, std=0.5, generator=torch.Generator().manual_seed(1))
        for m in model.modules():  # only LoRA's dropout draws
            if isinstance(m, nn.Dropout):
                m.p = 0.0
        if checkpointing:
            model.activation_checkpointing_enable({"use_reentrant": reentrant})
            model.enable_input_require_grads()
        model.train()
        torch.manual_seed(2)
        ids = torch.randint(5, TINY_BERT["vocab_size"], (4, 12))
        model(input_ids=ids, labels=torch.tensor([0, 1, 2, 0])).loss.backward()
        return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}

    plain, checkpointed = grads(False), grads(True)
    assert plain.keys() == checkpointed.keys() and any("lora_A" in n for n in plain)
    for name in plain:
        torch.testing.assert_close(checkpointed[name], plain[name], msg=name)


def _scaled_add_pair(tiny_bert_dir, dropout: float = 0.0):
    """peft's LoRA layers and the same adapter with :class:`ScaledAddLinear` (lora_B nonzero:
    at init B = 0 would hide the update)."""
    models = []
    for scaled in (False, True):
        model, _ = _lora_model(tiny_bert_dir, fused=False, dropout=dropout)
        for name, p in model.named_parameters():
            if "lora_B" in name:
                torch.nn.init.normal_(p, std=0.5, generator=torch.Generator().manual_seed(1))
        if scaled:
            assert fuse_scaled_add(model) == sum(
                "lora_A" in n for n, m in model.named_modules() if isinstance(m, nn.Linear))
        models.append(model)
    return models


def test_scaled_add_computes_peft_function_and_gradients(tiny_bert_dir):
    """One GEMM for base + scaling * B(A(x)): the same outputs and gradients as peft's forward
    (to float rounding), the same state-dict names, the same merged weights."""
    plain, scaled = _scaled_add_pair(tiny_bert_dir)
    assert all(type(m) is ScaledAddLinear for m in scaled.modules() if isinstance(m, LoraLinear))
    assert plain.state_dict().keys() == scaled.state_dict().keys()
    ids = torch.randint(5, TINY_BERT["vocab_size"], (6, 11))
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    grads = []
    for model in (plain, scaled):
        model.train()
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and any("lora_A" in n for n in grads[0])
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], msg=name)
    plain.eval()
    scaled.eval()
    with torch.no_grad():
        want = plain(input_ids=ids).logits
        torch.testing.assert_close(scaled(input_ids=ids).logits, want)
        with scaled.disable_adapter(), plain.disable_adapter():  # peft's path: exactly
            frozen = plain(input_ids=ids).logits
            assert torch.equal(scaled(input_ids=ids).logits, frozen)
        assert not torch.allclose(want, frozen, atol=1e-3)  # the update is not nil
        merged = scaled.merge_and_unload()
        torch.testing.assert_close(merged(input_ids=ids).logits, want, rtol=1e-5, atol=1e-5)


def test_scaled_add_with_folded_dropout_drops_like_peft_formula(tiny_bert_dir):
    """Folded dropout + scaled add in training equals base(x) + scaling * B(A(x * mask * s))
    with the mask the fused op draws; and a layer with peft's own dropout keeps peft's path."""
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(24, 10)

    torch.manual_seed(0)
    peft_model = get_peft_model(Tiny(), LoraConfig(r=4, lora_alpha=8, lora_dropout=0.2,
                                                   target_modules=["proj"]))
    layer = peft_model.base_model.model.proj
    assert type(layer) is LoraLinear
    torch.nn.init.normal_(layer.lora_B["default"].weight, generator=torch.Generator().manual_seed(1))
    x = torch.randn(3, 5, 24)
    torch.manual_seed(7)
    want_peft = layer(x)  # peft's nn.Dropout draw
    layer.__class__ = ScaledAddLinear
    torch.manual_seed(7)
    assert torch.equal(layer(x), want_peft)  # nn.Dropout not folded: peft's forward
    layer.__class__ = LoraLinear
    model = nn.Sequential(layer)
    assert fuse_dropout(model) == 1 and fuse_scaled_add(model) == 1
    layer.train()
    torch.manual_seed(9)
    got = layer(x)
    torch.manual_seed(9)
    keep, scale = keep_mask(x, 0.2)
    a, b = layer.lora_A["default"].weight, layer.lora_B["default"].weight
    want = layer.base_layer(x) + 2.0 * F.linear(F.linear(x * keep * scale, a), b)
    torch.testing.assert_close(got, want)
