"""A merged causal LM as one GGUF file (llama.cpp, Ollama, LM Studio), written offline.

``peftgov export RUN --merged OUT --gguf`` adds ``OUT/model.gguf`` beside the transformers
folder: the merged weights (F16 by default, or F32), the hyper-parameters, the byte-level BPE
vocabulary with its merges, the special tokens and the chat template, in the layout llama.cpp's
``convert_hf_to_gguf.py`` writes for the Llama architecture (SmolLM2's): tensor names from the
``gguf`` package's name map, query / key rows permuted as llama.cpp expects. It is checked by
reading it back with transformers' own GGUF loader (``from_pretrained(..., gguf_file=...)``),
which undoes that permutation.

Only the Llama architecture with a byte-level BPE tokenizer is written; anything else is
refused with the reason. No quantisation (Q4_K and friends) is done here: llama.cpp's
``llama-quantize`` does that from this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import ArtifactError

FILE = "model.gguf"
TYPES = ("f16", "f32")


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's rotary layout for q / k rows (transformers' GGUF loader reverses it)."""
    blocks = w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
    return blocks.swapaxes(1, 2).reshape(w.shape)


def _vocabulary(tokenizer: Any, size: int) -> tuple[list[str], list[int], list[str]]:
    """Tokens by id up to ``size`` (the embedding's rows: a token added after training, such as
    a pad token the model never sees, has no row), their GGUF types (1 normal, 3 control,
    5 unused) and the BPE merges."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or (spec.get("pre_tokenizer") or {}).get("type") not in (
        "ByteLevel", "Sequence"
    ):
        raise ArtifactError(
            "GGUF export writes byte-level BPE vocabularies (SmolLM2, Llama 3, GPT-2); this "
            f"tokenizer is {model.get('type')!r}"
        )
    tokens = [""] * size
    for piece, i in {**model["vocab"], **{t["content"]: t["id"] for t in spec["added_tokens"]}}.items():
        if i < size:
            tokens[i] = piece
    missing = [i for i, t in enumerate(tokens) if not t]
    for i in missing:  # holes in the id space: llama.cpp needs one token per id
        tokens[i] = f"[PAD{i}]"
    special = {t["id"] for t in spec["added_tokens"] if t.get("special")}
    types = [3 if i in special else (5 if i in missing else 1) for i in range(size)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    return tokens, types, merges


def write_gguf(model: Any, tokenizer: Any, path: str | Path, *, dtype: str = "f16") -> Path:
    """Write ``model`` (a merged ``LlamaForCausalLM``) and ``tokenizer`` to ``path``."""
    import gguf

    cfg = model.config
    if cfg.model_type != "llama":
        raise ArtifactError(
            f"GGUF export writes the Llama architecture (SmolLM2's); this model is "
            f"{cfg.model_type!r}: use llama.cpp's convert_hf_to_gguf.py on the merged folder"
        )
    if dtype not in TYPES:
        raise ArtifactError(f"GGUF type {dtype!r}: expected one of {TYPES}")
    heads, kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads or cfg.num_attention_heads
    blocks = cfg.num_hidden_layers
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, blocks)
    rows = model.get_input_embeddings().weight.shape[0]
    tokens, types, merges = _vocabulary(tokenizer, rows)

    path = Path(path)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(getattr(cfg, "name_or_path", "") or "peftgov-merged")
    w.add_block_count(blocks)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(getattr(cfg, "head_dim", None) or cfg.hidden_size // heads)
    rope = (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta")
    w.add_rope_freq_base(float(rope or getattr(cfg, "rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(len(tokens))
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    for kind in ("bos", "eos", "pad", "unk"):
        token_id = getattr(tokenizer, f"{kind}_token_id", None)
        if token_id is not None and token_id < rows:
            getattr(w, f"add_{kind}_token_id")(int(token_id))
    if getattr(tokenizer, "chat_template", None):
        w.add_chat_template(tokenizer.chat_template)

    tied = bool(getattr(cfg, "tie_word_embeddings", False))
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight" and tied:
            continue  # llama.cpp reuses token_embd
        target = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise ArtifactError(f"GGUF export: no GGUF name for tensor {name!r}")
        data = tensor.detach().to(torch.float32).cpu().numpy()
        if name.endswith("q_proj.weight"):
            data = _permute(data, heads)
        elif name.endswith("k_proj.weight"):
            data = _permute(data, kv_heads)
        # llama.cpp keeps 1-D tensors (norms) in F32 whatever the file type
        if dtype == "f16" and data.ndim > 1:
            data = data.astype(np.float16)
        w.add_tensor(target, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
