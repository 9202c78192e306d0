"""Shared fixtures: a tiny local BERT + WordPiece tokenizer, a tiny learnable 3-label dataset,
an offline guard, and ``make_recipe`` building dict recipes that train in seconds on a CPU.

Nothing here touches the network: ``HF_HUB_OFFLINE`` is set before any Hugging Face library is
imported (they read it at import time) and again for every test.
"""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path
from typing import Any

# Before huggingface_hub / transformers / datasets are imported anywhere.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs 2 workers: one thread each, and
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # for the commands they start
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

# --------------------------------------------------------------------------- toy data

LABELS = ("water", "tax", "road")
"""Three intents, each recognisable by its own keywords."""

KEYWORDS = {
    "water": ["pipe", "leak", "water", "flood"],
    "tax": ["tax", "refund", "income", "payment"],
    "road": ["road", "pothole", "street", "traffic"],
}
FILLER = [
    "my", "the", "is", "broken", "please", "help", "need", "a", "there", "on", "our", "with",
    "about", "i", "have", "problem", "urgent", "today", "again", "near", "house",
]
WORDS = sorted({w for ws in KEYWORDS.values() for w in ws} | set(FILLER))
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def toy_rows(n: int, seed: int) -> list[dict[str, str]]:
    """``n`` rows cycling through the labels: 3 of the label's 4 keywords plus 0-2 filler words
    (e.g. ``"leak my pipe flood"`` -> water), shuffled."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = LABELS[i % len(LABELS)]
        words = rng.sample(FILLER, rng.randint(0, 2)) + rng.sample(KEYWORDS[label], 3)
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tiny models are fastest on one thread on this contended machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test may reach the hub."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(var, "1")


class NetworkBlocked(RuntimeError):
    pass


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127."))


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Proof, not trust: any connection to a non-loopback address fails the test that made it.
    (HF_HUB_OFFLINE alone only asks the libraries to behave.) Name resolution is blocked too."""
    import socket

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(address: Any) -> None:
        family_ok = not isinstance(address, tuple)  # AF_UNIX paths are local
        if not (family_ok or _is_loopback(address)):
            raise NetworkBlocked(f"test tried to open a network connection to {address!r}")

    def connect(self, address):
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback((host,)):
            raise NetworkBlocked(f"test tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


TINY_BERT = dict(
    vocab_size=len(SPECIAL) + len(WORDS),
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=64,
    # A wider init than BERT's 0.02 so the random backbone's [CLS] already carries the bag of
    # words (peaky attention, larger value projections): then even the PEFT methods that train
    # a handful of parameters learn the toy task in a few dozen steps.
    initializer_range=0.2,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A tiny random BERT (``BertModel`` weights) plus a WordPiece tokenizer, in a local dir."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = tmp_path_factory.mktemp("tiny-bert")
    vocab = out / "vocab.txt"
    vocab.write_text("\n".join(SPECIAL + WORDS) + "\n", encoding="utf-8")
    # transformers 5 takes the vocab file as ``vocab`` (``vocab_file=`` is silently ignored,
    # leaving a 5-token vocabulary where every word is [UNK]).
    tokenizer = BertTokenizerFast(vocab=str(vocab), do_lower_case=True)
    assert tokenizer.vocab_size == TINY_BERT["vocab_size"]
    assert "[UNK]" not in tokenizer.tokenize(" ".join(WORDS))
    torch.manual_seed(0)
    model = BertModel(BertConfig(**TINY_BERT))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def save_tiny_llama(out: Path, tok, max_positions: int = 128) -> Path:
    """Save a tiny random ``LlamaForCausalLM`` (tied embeddings, like SmolLM2) sized to ``tok``,
    plus ``tok`` itself, into ``out``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_positions,
        # Wider than Llama's 0.02: with tied, frozen embeddings the logits' scale is set by
        # their norm, and LoRA alone could not make the toy replies confident.
        initializer_range=0.2, tie_word_embeddings=True, pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory) -> dict[str, Path]:
    """60 train / 15 validation / 15 test rows, 3 balanced labels, as jsonl."""
    out = tmp_path_factory.mktemp("toy-data") / "toy"
    return {
        "train": write_jsonl(out / "train.jsonl", toy_rows(60, seed=1)),
        "validation": write_jsonl(out / "validation.jsonl", toy_rows(15, seed=2)),
        "test": write_jsonl(out / "test.jsonl", toy_rows(15, seed=3)),
    }


def _set_dotted(recipe: dict, dotted: str, value: Any) -> None:
    section, _, key = dotted.partition(".")
    if not key:
        recipe[section] = value
        return
    recipe.setdefault(section, {})[key] = value


@pytest.fixture(scope="session")
def make_recipe(tiny_bert_dir, toy_data):
    """``make_recipe(tmp_path, **overrides)`` -> a dict recipe on the tiny BERT and toy data,
    writing its run to ``tmp_path/run``.

    Overrides are dotted keys (``**{"train.lr": 1e-2}``, or ``train__lr=1e-2``) or a section as
    a dict (``train={"lr": 1e-2}``) whose keys update that section; ``method=`` replaces the
    method section (the options of one method do not belong to another).
    """

    def make(tmp_path: Path, **overrides: Any) -> dict:
        recipe: dict[str, Any] = {
            "model": {"name": str(tiny_bert_dir)},
            "data": {
                "name": "toy",
                "train": str(toy_data["train"]),
                "validation": str(toy_data["validation"]),
                "test": str(toy_data["test"]),
            },
            "task": {"name": "classification", "max_length": 32},
            "method": {"name": "lora"},
            "train": {
                "seed": 0,
                "epochs": 3,
                "batch_size": 8,
                "eval_batch_size": 32,
                "lr": 1e-2,
                "warmup_ratio": 0.0,
                "log_every": 1,
            },
            "output": {"dir": str(Path(tmp_path) / "run")},
        }
        recipe = copy.deepcopy(recipe)
        for key, value in overrides.items():
            if key == "method":
                recipe["method"] = copy.deepcopy(value)
            elif isinstance(value, dict) and "__" not in key and "." not in key:
                recipe.setdefault(key, {}).update(copy.deepcopy(value))
            else:
                _set_dotted(recipe, key.replace("__", "."), value)
        return recipe

    return make
