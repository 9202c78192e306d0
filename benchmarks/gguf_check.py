"""Read a peftgov export --gguf folder back with transformers (safetensors and model.gguf) and
compare: tokenizer ids, logits, greedy replies. Usage: python benchmarks/gguf_check.py OUT"""
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/gguf_demo/merged"
t = time.time()
a = AutoModelForCausalLM.from_pretrained(d).eval()
b = AutoModelForCausalLM.from_pretrained(d, gguf_file="model.gguf").eval()
tok = AutoTokenizer.from_pretrained(d); tb = AutoTokenizer.from_pretrained(d, gguf_file="model.gguf")
msgs = [{"role": "user", "content": "My pension has not been paid this month, who do I call?"}]
text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
ids = tok(text, return_tensors="pt").input_ids
print("same ids:", tb(text, return_tensors="pt").input_ids.tolist() == ids.tolist(), "n tokens", ids.shape[1])
with torch.no_grad():
    la, lb = a(ids).logits, b(ids).logits
print("max abs logit diff (f16 GGUF vs merged fp32):", float((la - lb).abs().max()), "logit range", float(la.abs().max()))
print("same greedy next tokens:", bool((la.argmax(-1) == lb.argmax(-1)).all()))
ga = a.generate(ids, max_new_tokens=20, do_sample=False); gb = b.generate(ids, max_new_tokens=20, do_sample=False)
print("same greedy 20-token reply:", ga.tolist() == gb.tolist())
print("seconds", round(time.time() - t, 1))
