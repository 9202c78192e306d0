"""One training step's memory of a shipped recipe on a fixed worst-case batch (batch_size x
max_length): bytes saved for backward (unique storages, torch saved_tensors_hooks) and the
resident high-water (VmHWM) over N steps after a warm-up step. Exploration behind
benchmarks/results/memory/README.md:

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 python benchmarks/memory_step_probe.py \
        recipes/banking77/lora.yaml 3 method.dropout=0.0
"""
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
def st(key):
    for l in open('/proc/self/status'):
        if l.startswith(key): return int(l.split()[1]) / 1024
def reset(): open('/proc/self/clear_refs', 'w').write('5')
from peftgov import session
from peftgov.recipe import load_recipe
from peftgov.memory import release_free_memory
recipe_path, steps, *ov = sys.argv[1:]
r = load_recipe(recipe_path, ["data.max_train_samples=64", "data.max_eval_samples=64",
                              "output.overwrite=true", *ov])
s = session.build(r, progress=False)
model, opt = s.model, s.optimizer
B, L = r.train.batch_size, r.task.max_length
g = torch.Generator().manual_seed(0)
if r.task.name == "ner":
    labels = torch.randint(0, 3, (B, L), generator=g)
else:
    labels = torch.randint(0, 3, (B,), generator=g)
batch = {"input_ids": torch.randint(1000, 20000, (B, L), generator=g),
         "attention_mask": torch.ones(B, L, dtype=torch.long), "labels": labels}
model.train()
# bytes saved for backward (unique storages)
seen = {}
def pack(t):
    try:
        sto = t.untyped_storage(); seen[sto.data_ptr()] = sto.nbytes()
    except Exception: pass
    return t
with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
    loss = model(**batch).loss
saved = sum(seen.values()) / 2**20
loss.backward(); opt.zero_grad(set_to_none=True); del loss
release_free_memory()
rss0 = st('VmRSS'); reset()
t = time.time()
for i in range(int(steps)):
    loss = model(**batch).loss
    loss.backward()
    opt.step(); opt.zero_grad(set_to_none=True)
dt = (time.time() - t) / int(steps)
out = dict(recipe=recipe_path, ov=ov, rss_before_steps=round(rss0), hwm_steps=round(st('VmHWM')),
           rss_after_steps=round(st('VmRSS')), saved_mb=round(saved, 1), s_per_step=round(dt, 2),
           trainable=s.trainable, loss=round(float(loss), 4))
print("RESULT", json.dumps(out), flush=True)
