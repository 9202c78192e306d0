"""Bottleneck adapters (peftgov.methods.adapter): identity at init, placement, what trains,
save/reload through peft (in this process and in a fresh one), option validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from peft import PeftModel, get_peft_model
from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING
from safetensors.torch import load_file
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    GPTNeoXConfig,
    GPTNeoXForSequenceClassification,
    LlamaConfig,
    LlamaForCausalLM,
    LlamaForSequenceClassification,
)

from peftgov.config import _Invalid, build_section
from peftgov.errors import RecipeError
from peftgov.methods import METHODS
from peftgov.methods.adapter import (
    AdapterOptions,
    BottleneckConfig,
    BottleneckLayer,
    _peft_type,
    _register_with_peft,
)
from peftgov.methods.base import ADAPTER_DIR

# --------------------------------------------------------------------------- tiny models



LAYERS = 2
HEAD = {"bert": "classifier", "llama": "score"}


def tiny(kind: str, *, seed: int = 0, head_seed: int | None = None) -> torch.nn.Module:
    """A tiny random model; ``head_seed`` re-draws only the task head (same backbone)."""
    torch.manual_seed(seed)
    if kind == "bert":
        model = BertForSequenceClassification(
            BertConfig(
                vocab_size=100, hidden_size=32, num_hidden_layers=LAYERS, num_attention_heads=2,
                intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                num_labels=2,
            )
        )
    else:
        config = LlamaConfig(
            vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=LAYERS,
            num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
            pad_token_id=0, num_labels=2,
        )
        cls = LlamaForCausalLM if kind == "llama-lm" else LlamaForSequenceClassification
        model = cls(config)
    if head_seed is not None:
        torch.manual_seed(head_seed)
        head = getattr(model, HEAD[kind])
        torch.nn.init.normal_(head.weight, std=0.5)
    return model


def task_type(kind: str) -> str:
    return "CAUSAL_LM" if kind == "llama-lm" else "SEQ_CLS"


def batch(n: int = 32, length: int = 8, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """A learnable problem: the label is whether the first token is in the upper half of the
    vocabulary. Token 0 (Llama's pad) never occurs."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 100, (n, length), generator=g)
    return ids, (ids[:, 0] >= 50).long()


def logits(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids).logits


def adapted_layers(model: torch.nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, BottleneckLayer)]


def apply(kind: str, model: torch.nn.Module, **options) -> torch.nn.Module:
    """Through peftgov's method, as the training loop does."""
    return METHODS["adapter"].apply(
        model, AdapterOptions(**options), head=[HEAD[kind]], peft_task_type="SEQ_CLS"
    )


def train(model: torch.nn.Module, ids: torch.Tensor, labels: torch.Tensor, steps: int):
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.0)
    for _ in range(steps):
        loss = model(input_ids=ids, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def eval_loss(model: torch.nn.Module, ids: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids, labels=labels).loss.item()


# --------------------------------------------------------------------------- identity, placement


@pytest.mark.parametrize("kind", ["bert", "llama", "llama-lm"])
@pytest.mark.parametrize("variant", ["houlsby", "pfeiffer"])
def test_untrained_adapter_is_exactly_the_identity(kind, variant):
    ids, _ = batch(n=4)
    model = tiny(kind)
    before = logits(model, ids)
    peft_model = get_peft_model(model, BottleneckConfig(task_type=task_type(kind), variant=variant))
    assert adapted_layers(peft_model)
    assert torch.equal(logits(peft_model, ids), before)


def test_gemma3_adapters_follow_o_proj_and_down_proj_and_start_as_the_identity():
    """Gemma 3 (the gemma3-270m backbone, model_type gemma3_text) places adapters as Llama does:
    after each block's attention output and feed-forward output projections."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    model = Gemma3ForCausalLM(Gemma3TextConfig(
        vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=LAYERS,
        num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=64,
        pad_token_id=0,
    ))
    ids, _ = batch(n=4)
    before = logits(model, ids)
    peft_model = get_peft_model(model, BottleneckConfig(task_type="CAUSAL_LM", variant="houlsby"))
    assert sorted(n.split("model.layers.")[1] for n in adapted_layers(peft_model)) == [
        f"{i}.{leaf}" for i in range(LAYERS) for leaf in ("mlp.down_proj", "self_attn.o_proj")]
    assert torch.equal(logits(peft_model, ids), before)


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_houlsby_adapts_attention_and_ffn_pfeiffer_only_ffn(kind):
    houlsby = adapted_layers(apply(kind, tiny(kind), variant="houlsby"))
    pfeiffer = adapted_layers(apply(kind, tiny(kind), variant="pfeiffer"))
    assert len(pfeiffer) == LAYERS and len(houlsby) == 2 * LAYERS
    assert set(pfeiffer) < set(houlsby)
    if kind == "bert":
        assert all(n.endswith(".output.dense") and "attention" not in n for n in pfeiffer)
        assert sum("attention.output.dense" in n for n in houlsby) == LAYERS
    else:
        assert all(n.endswith("mlp.down_proj") for n in pfeiffer)
        assert sum(n.endswith("self_attn.o_proj") for n in houlsby) == LAYERS


@pytest.mark.parametrize("factor, width", [(16, 2), (4, 8), (64, 1)])
def test_bottleneck_width_is_hidden_over_reduction_factor_at_least_one(factor, width):
    model = apply("bert", tiny("bert"), reduction_factor=factor)
    layer = dict(model.named_modules())[adapted_layers(model)[0]]
    assert layer.bottleneck_down["default"].weight.shape == (width, 32)
    assert layer.bottleneck_up["default"].weight.shape == (32, width)
    assert not layer.bottleneck_up["default"].weight.any()
    assert not layer.bottleneck_up["default"].bias.any()


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_only_adapters_and_head_train_and_frozen_weights_stay_bit_identical(kind):
    ids, labels = batch(n=16)
    model = apply(kind, tiny(kind), variant="houlsby", activation="gelu", reduction_factor=4)
    head = HEAD[kind]

    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    expected = {
        f"{layer}.bottleneck_{part}.default.{w}"
        for layer in adapted_layers(model)
        for part in ("down", "up")
        for w in ("weight", "bias")
    }
    head_params = {n for n in trainable if f".{head}.modules_to_save.default." in n}
    assert head_params, "the task head must train"
    assert trainable == expected | head_params

    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    adapter_before = {n: p.detach().clone() for n, p in model.named_parameters() if n in expected}
    loss_before = eval_loss(model, ids, labels)
    train(model, ids, labels, steps=20)
    assert eval_loss(model, ids, labels) < 0.9 * loss_before

    params = dict(model.named_parameters())
    for name, value in frozen.items():
        assert torch.equal(params[name], value), f"{name} changed although frozen"
    assert any(not torch.equal(params[n], v) for n, v in adapter_before.items())

    # disabling the adapters gives back the backbone (with the trained head)
    with model.disable_adapter():
        disabled = logits(model, ids)
    assert not torch.equal(disabled, logits(model, ids))


def test_adapters_cannot_be_merged_and_the_method_says_why():
    from peftgov.errors import PeftgovError

    model = apply("bert", tiny("bert"))
    with pytest.raises(PeftgovError, match="non-linear .* cannot be merged"):
        METHODS["adapter"].merged(model)
    with pytest.raises(ValueError, match="cannot be merged"):
        model.merge_and_unload()


# --------------------------------------------------------------------------- save / reload


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_save_pretrained_then_from_pretrained_reproduces_logits(kind, tmp_path):
    ids, labels = batch()
    model = apply(kind, tiny(kind), variant="houlsby", activation="swish")
    train(model, ids, labels, steps=5)
    expected = logits(model, ids)
    model.save_pretrained(tmp_path)

    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["peft_type"] == "BOTTLENECK" and config["variant"] == "houlsby"
    assert HEAD[kind] in config["modules_to_save"]
    state = load_file(str(tmp_path / "adapter_model.safetensors"))
    assert sum("bottleneck_down" in k for k in state) == 2 * 2 * LAYERS  # weight + bias
    assert any(k.endswith(f"{HEAD[kind]}.weight") for k in state)

    fresh = tiny(kind, head_seed=123)  # same backbone, a different head
    trained_head = getattr(model.base_model.model, HEAD[kind]).modules_to_save["default"].weight
    assert not torch.equal(getattr(fresh, HEAD[kind]).weight, trained_head)
    reloaded = PeftModel.from_pretrained(fresh, tmp_path)
    assert torch.equal(logits(reloaded, ids), expected)


def test_method_save_and_load_round_trip(tmp_path):
    ids, labels = batch()
    method = METHODS["adapter"]
    cfg = AdapterOptions(variant="pfeiffer", reduction_factor=8)
    model = method.apply(tiny("bert"), cfg, head=["classifier"], peft_task_type="SEQ_CLS")
    train(model, ids, labels, steps=5)
    expected = logits(model, ids)
    method.save(model, tmp_path)
    assert (tmp_path / ADAPTER_DIR / "adapter_config.json").is_file()
    assert (tmp_path / ADAPTER_DIR / "adapter_model.safetensors").is_file()

    reloaded = method.load(tiny("bert", head_seed=7), tmp_path, cfg)
    assert torch.equal(logits(reloaded, ids), expected)
    assert not any(p.requires_grad for p in reloaded.parameters())


def test_reload_in_a_fresh_process_after_import_peftgov(tmp_path):
    ids, labels = batch()
    model = apply("bert", tiny("bert"), variant="houlsby")
    train(model, ids, labels, steps=5)
    expected = logits(model, ids)
    model.save_pretrained(tmp_path / "adapter")
    tiny("bert", head_seed=99).save_pretrained(tmp_path / "base")
    torch.save(ids, tmp_path / "ids.pt")

    script = textwrap.dedent(
        """
        import sys, torch
        import peftgov  # registers the bottleneck method with peft
        from peft import PeftModel
        from transformers import AutoModelForSequenceClassification

        base = AutoModelForSequenceClassification.from_pretrained(sys.argv[1])
        model = PeftModel.from_pretrained(base, sys.argv[2]).eval()
        with torch.no_grad():
            torch.save(model(input_ids=torch.load(sys.argv[3])).logits, sys.argv[4])
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    args = [str(tmp_path / p) for p in ("base", "adapter", "ids.pt", "out.pt")]
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert torch.equal(torch.load(tmp_path / "out.pt"), expected)


# --------------------------------------------------------------------------- options, errors


@pytest.mark.parametrize(
    "options, key",
    [
        ({"reduction_factor": 0}, "reduction_factor"),
        ({"reduction_factor": -4}, "reduction_factor"),
        ({"variant": "parallel"}, "variant"),
        ({"activation": "sigmoid"}, "activation"),
        ({"target_modules": []}, "target_modules"),
    ],
)
def test_bad_options_raise_naming_the_field(options, key):
    with pytest.raises(_Invalid) as info:
        AdapterOptions(**options)
    assert info.value.key == key
    if key == "reduction_factor":
        with pytest.raises(RecipeError, match=r"method\.reduction_factor"):
            raw = {"name": "adapter", **options}
            build_section(AdapterOptions, raw, prefix="method", source="r.yaml")


def test_bad_peft_config_raises():
    with pytest.raises(ValueError, match="reduction_factor"):
        BottleneckConfig(reduction_factor=0)
    with pytest.raises(ValueError, match="variant"):
        BottleneckConfig(variant="parallel")


def tiny_gpt_neox() -> torch.nn.Module:
    torch.manual_seed(0)
    return GPTNeoXForSequenceClassification(
        GPTNeoXConfig(
            vocab_size=100, hidden_size=32, num_hidden_layers=LAYERS, num_attention_heads=2,
            intermediate_size=64, pad_token_id=0, num_labels=2,
        )
    )


def test_unknown_model_type_without_target_modules_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'gpt_neox'.*method\.target_modules"):
        apply("llama", tiny_gpt_neox())


def test_target_modules_override_the_placement():
    ids, _ = batch(n=4)
    model = tiny_gpt_neox()
    before = logits(model, ids)
    model = METHODS["adapter"].apply(
        model, AdapterOptions(target_modules=["mlp.dense_4h_to_h"]), head=["score"],
        peft_task_type="SEQ_CLS",
    )
    layers = adapted_layers(model)
    assert len(layers) == LAYERS and all(n.endswith("mlp.dense_4h_to_h") for n in layers)
    assert torch.equal(logits(model, ids), before)


def test_registration_is_idempotent():
    member = _peft_type()
    _register_with_peft()
    assert _peft_type() is member and member.value == "BOTTLENECK"
    assert PEFT_TYPE_TO_CONFIG_MAPPING["BOTTLENECK"] is BottleneckConfig
