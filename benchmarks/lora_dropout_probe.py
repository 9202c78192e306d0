"""LoRA's dropout, peft's nn.Dropout against peftgov's fused one and no dropout, and the fused
dropout with peftgov's one-GEMM scaled add (``ScaledAddLinear``; both are what
``method.fused_dropout: true`` does): time per training step and bytes saved for backward,
MiniLM-L6 (all-linear, r 16) on a fixed random batch of 32 x T tokens. The models train in
turns, a step each, so a machine whose load drifts slows all alike:

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 python benchmarks/lora_dropout_probe.py 64 8   # T, rounds

Behind the fused-dropout figures in benchmarks/results/memory/README.md.
"""
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForSequenceClassification

from peftgov import backbones
from peftgov.config import ModelConfig
from peftgov.methods.lora import fuse_dropout, fuse_scaled_add

path = backbones.resolve(ModelConfig(name="minilm-l6"))
T = int(sys.argv[1]) if len(sys.argv) > 1 else 64
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
ids = torch.randint(1000, 2000, (32, T))
y = torch.randint(0, 77, (32,))
configs = {}
for name, p, fuse in (("peft dropout 0.1", 0.1, ""), ("fused dropout 0.1", 0.1, "dropout"),
                      ("fused dropout 0.1 + scaled add", 0.1, "dropout+add"),
                      ("no dropout", 0.0, "")):
    torch.manual_seed(0)
    m = AutoModelForSequenceClassification.from_pretrained(path, num_labels=77)
    m = get_peft_model(m, LoraConfig(r=16, lora_alpha=32, lora_dropout=p,
                                     target_modules="all-linear", task_type="SEQ_CLS"))
    if fuse:
        fuse_dropout(m)
    if fuse == "dropout+add":
        fuse_scaled_add(m)
    m.train()
    configs[name] = (m, torch.optim.AdamW([q for q in m.parameters() if q.requires_grad], lr=1e-4))


def step(m, opt, hook=None):
    with torch.autograd.graph.saved_tensors_hooks(hook or (lambda t: t), lambda t: t):
        out = m(input_ids=ids, attention_mask=torch.ones_like(ids), labels=y)
    out.loss.backward()
    opt.step()
    opt.zero_grad()


saved, seconds = {}, dict.fromkeys(configs, 0.0)
for name, (m, opt) in configs.items():  # warm-up step, counting what it saves for backward
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    step(m, opt, pack)
    saved[name] = sum(storages.values()) / 2**20
for _ in range(ROUNDS):
    for name, (m, opt) in configs.items():
        t = time.perf_counter()
        step(m, opt)
        seconds[name] += time.perf_counter() - t
for name in configs:
    print(f"{name}: {seconds[name] / ROUNDS * 1e3:.1f} ms/step, saved for backward "
          f"{saved[name]:.1f} MB (batch 32 x {T}, {ROUNDS} rounds)", flush=True)
