"""How much of the real Chinese names and places ``peftgov redact --ner`` catches: the Weibo NER
test sentences (held out from the NER run's training) as plain text, redacted with a finished
Weibo NER run, scored against the gold entities.

    python benchmarks/redact_ner_probe.py RUN_DIR [OUT_JSON]

A gold entity counts as caught when its text is gone from the redacted sentence; every replaced
span of the original is matched against the gold entities of every type (exact, overlapping or
none: a false positive).
"""
import difflib
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = ROOT.parent / "shared" / "datasets" / "weibo_ner" / "test.conll"
REPLACED = ("PER.NAM", "LOC.NAM")  # what the default --ner-types replace (PER, LOC: names only)


def sentences(path: Path):
    chars, tags = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if chars:
                yield "".join(chars), spans(tags)
            chars, tags = [], []
            continue
        token, tag = line.split()
        chars.append(token[0])  # the character; the digit after it is its word position
        tags.append(tag)


def spans(tags):
    out, start, kind = [], None, None
    for i, tag in enumerate(tags + ["O"]):
        if start is not None and not tag.startswith("I-"):
            out.append((start, i, kind))
            start = None
        if tag.startswith("B-"):
            start, kind = i, tag[2:]
    return out


def main(run_dir: str, out_json: str | None = None) -> None:
    data = list(sentences(TEST))
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "weibo_test.jsonl", Path(tmp) / "redacted.jsonl"
        src.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t, _ in data),
                       encoding="utf-8")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "peftgov", "redact", str(src), str(dst),
                               "--ner", run_dir], capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - t0
        redacted = [json.loads(x)["text"] for x in dst.read_text(encoding="utf-8").splitlines()]
    caught, gold, spans_seen = Counter(), Counter(), Counter()
    for (text, ents), new in zip(data, redacted):
        for s, e, kind in ents:
            gold[kind] += 1
            caught[kind] += text[s:e] not in new
        ops = difflib.SequenceMatcher(None, text, new, autojunk=False).get_opcodes()
        for op, i1, i2, _, _ in ops:
            if op in ("replace", "delete"):
                exact = any((s, e) == (i1, i2) for s, e, _ in ents)
                overlap = any(s < i2 and i1 < e for s, e, _ in ents)
                spans_seen["exact entity" if exact else "overlaps an entity" if overlap else
                           "no entity (false positive)"] += 1
    result = {
        "run": run_dir, "sentences": len(data), "characters": sum(len(t) for t, _ in data),
        "seconds": round(seconds, 1), "redacted": json.loads(proc.stdout.strip().splitlines()[-1])["redacted"],
        "caught": {k: f"{caught[k]}/{gold[k]}" for k in sorted(gold)},
        "recall_replaced_types": {k: round(caught[k] / gold[k], 3) for k in REPLACED if gold[k]},
        "replaced_spans": dict(spans_seen),
    }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if out_json:
        Path(out_json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
