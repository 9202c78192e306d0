"""CPU seconds of one AdamW update, per torch implementation, on MiniLM-L6's trainable shapes:
full fine-tuning (22.4M weights in 135 tensors) and LoRA r=16 on every linear (0.69M in 74).

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/adamw_probe.py

``foreach=False`` is what torch picks by default for CPU tensors; peftgov asks for
``fused=True`` (peftgov/session.py, ``build_optimizer``). Gradients are random: only the time
matters here; tests/test_loop.py checks that the fused steps follow the loop's.
"""

import time

import torch

torch.manual_seed(0)
FULL = ([(30522, 384)] + [(384, 384)] * 24 + [(1536, 384), (384, 1536)] * 6 + [(384,)] * 80
        + [(77, 384)])
LORA = ([(16, 384), (384, 16)] * 24 + [(16, 384), (1536, 16), (16, 1536), (384, 16)] * 6
        + [(77, 384), (77,)])


def seconds_per_step(shapes: list[tuple[int, ...]], steps: int, **kind) -> float:
    params = [torch.nn.Parameter(torch.randn(*s)) for s in shapes]
    for p in params:
        p.grad = torch.randn_like(p)
    half = len(params) // 2
    opt = torch.optim.AdamW([{"params": params[:half], "weight_decay": 0.01},
                             {"params": params[half:], "weight_decay": 0.0}], lr=1e-3, **kind)
    for _ in range(3):
        opt.step()
    tick = time.process_time()
    for _ in range(steps):
        opt.step()
    return (time.process_time() - tick) / steps


for name, shapes, steps in (("full", FULL, 20), ("lora", LORA, 200)):
    n = sum(torch.Size(s).numel() for s in shapes)
    for kind in ({"foreach": False}, {"foreach": True}, {"fused": True}):
        ms = 1000 * seconds_per_step(shapes, steps, **kind)
        print(f"{name:<5} {n:>10,} weights  {str(kind):<18} {ms:7.2f} ms CPU per step")
