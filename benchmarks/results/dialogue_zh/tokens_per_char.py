"""Tokens per character of the bundled Chinese hotline FAQ (every distinct message of all
splits), per backbone alias, and whether each text decodes back exactly. Run from the repo root:
``HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/results/dialogue_zh/tokens_per_char.py``."""

import json
import re

from transformers import AutoTokenizer

from peftgov import backbones
from peftgov.config import ModelConfig

folders = {
    "smollm2-135m": backbones.resolve(ModelConfig(name="smollm2-135m")),
    "gemma3-270m": backbones.resolve(ModelConfig(name="gemma3-270m")),
}
texts = []
for split in ("train", "validation", "test"):
    for line in open(f"peftgov/datasets/hotline_faq/zh/{split}.jsonl", encoding="utf-8"):
        texts += [m["content"] for m in json.loads(line)["messages"]]
texts = list(dict.fromkeys(texts))  # the system prompt once
han = sum(len(re.findall(r"[\u4e00-\u9fff]", t)) for t in texts)
chars = sum(len(t) for t in texts)
out = {"texts": len(texts), "chars": chars, "han_chars": han}
for name, folder in folders.items():
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    n = sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)
    rt = all(tok.decode(tok(t, add_special_tokens=False)["input_ids"]) == t for t in texts)
    out[name] = {"tokens": n, "tokens_per_char": round(n / chars, 3), "round_trip_exact": rt,
                 "vocab": len(tok)}
print(json.dumps(out, ensure_ascii=False, indent=1))
