"""The figures table of REPORT.md, from the metrics JSONs in this folder (run from the repo root:
``.venv/bin/python benchmarks/results/dialogue_zh/table.py``). ``<backbone>-before.json``: the
recipe with ``train.epochs=0`` (generation by the untrained backbone); ``<backbone>.json``: the
trained run. Tokens per character: ``tokens_per_char.json``."""

import json
from pathlib import Path

HERE = Path(__file__).parent
TPC = json.loads((HERE / "tokens_per_char.json").read_text())


def row(name: str, path: Path) -> str:
    m = json.loads(path.read_text())
    gen, test = m.get("generation", {}), m.get("test") or {}
    before = m.get("test_before") or {}
    cells = [
        name,
        path.stem.removeprefix(name).strip("-") or "trained",
        str(m.get("steps", "")),
        f"{gen.get('char_f1', float('nan')):.3f}",
        f"{before.get('loss', float('nan')):.3f}",
        f"{test.get('loss', float('nan')):.3f}",
        f"{TPC[name]['tokens_per_char']:.2f}",
        f"{m.get('train_time_s', 0):.0f}",
        f"{m.get('wall_s', 0):.0f}",
        f"{m.get('peak_memory_mb', 0):.0f}",
    ]
    return "| " + " | ".join(cells) + " |"


print("| backbone | run | steps | test char-F1 (14 replies) | test loss before | test loss after "
      "| tokens / char | train s | wall s | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name in ("smollm2-135m", "gemma3-270m"):
    for path in (HERE / f"{name}-before.json", HERE / f"{name}.json"):
        if path.is_file():
            print(row(name, path))
