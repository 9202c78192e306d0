#!/usr/bin/env python3
"""Generate the bundled bilingual hotline datasets shipped in ``peftgov/datasets/``.

Two datasets are written, both authored by the peftgov project (CC-BY-4.0):

* ``hotline``     -- citizen-service hotline requests (EN + ZH) labelled with one of 14
                     intents, for intent classification.  Rows are composed from
                     hand-written templates with inline alternatives (``[a|b|c]``) and slot
                     values (``{district}``, ``{amount}``...).  Templates are assigned to
                     exactly one split, so validation/test rows never come from a template
                     seen in training (honest accuracy, not slot-swap memorisation).
* ``hotline_faq`` -- hand-written question -> agent answer pairs (EN + ZH) in chat
                     ``messages`` format, for instruction tuning a small causal LM.

Everything is synthetic: no personal data, no text copied from external datasets.
The hand-written text (intents, slot values, templates, FAQ pairs, licence) lives in
``scripts/datasets_src/``; this script holds only the logic.
The output is deterministic (fixed seeds, string-seeded ``random.Random``), so running

    python scripts/make_datasets.py

twice produces byte-identical files.  ``--check`` regenerates in memory and fails if the
files on disk differ.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from difflib import SequenceMatcher
from pathlib import Path

SEED = 12345
ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "peftgov" / "datasets"
LANGS = ("en", "zh")
SPLITS = ("train", "validation", "test")

# Rows per intent per language in each split of ``hotline`` (template-disjoint splits).
HOTLINE_TARGET = {"train": 50, "validation": 10, "test": 10}
# Word limits (en) and character limits (zh) for one hotline request.
LENGTH_LIMITS = {"en": (5, 60), "zh": (8, 80)}
# Rows drawn from the same template must be less similar than this (difflib ratio on the
# normalised text), so a template cannot contribute near-identical rows.
NEAR_DUP_RATIO = 0.9

# --------------------------------------------------------------------------------------
# Hand-written data, kept beside this script in ``datasets_src/`` (UTF-8 JSON):
#
# * ``intents.json``           -- intent id -> description (README table), in label order.
# * ``slots.json``             -- slot values per language.  ``{name2}`` draws from the same
#                                 pool as ``{name}`` but a different value.
# * ``hotline_templates.json`` -- request templates per language and intent.  ``[a|b|c]``
#                                 picks one alternative (an empty one is allowed), ``{slot}``
#                                 draws a slot value.  Each template belongs to one split.
# * ``decorations.json``       -- greetings, thanks and intent-neutral context (where callers
#                                 live, that it is urgent...) added to some requests.
# * ``hotline_faq.json``       -- the FAQ system prompt per language and the question -> agent
#                                 answer pairs per language and intent (generic; no real
#                                 phone numbers but 12345).
# * ``license_template.txt``   -- the LICENSE of each dataset (``{title}``, ``{name}``).
# --------------------------------------------------------------------------------------
SRC_DIR = Path(__file__).resolve().parent / "datasets_src"


def _load(name: str):
    return json.loads((SRC_DIR / name).read_text(encoding="utf-8"))


DESCRIPTIONS: dict[str, str] = _load("intents.json")
INTENTS = list(DESCRIPTIONS)
SLOTS: dict[str, dict[str, list[str]]] = _load("slots.json")
TEMPLATES: dict[str, dict[str, list[str]]] = _load("hotline_templates.json")
_DECORATIONS = _load("decorations.json")
OPENERS: dict[str, list[str]] = _DECORATIONS["openers"]
CLOSERS: dict[str, list[str]] = _DECORATIONS["closers"]
# Context prefixes are only used for templates that name no place themselves; context is
# never part of the de-duplication key.
CONTEXT_PREFIX: dict[str, list[str]] = _DECORATIONS["context_prefix"]
CONTEXT_SUFFIX: dict[str, list[str]] = _DECORATIONS["context_suffix"]
_FAQ = _load("hotline_faq.json")
FAQ_SYSTEM_PROMPT: dict[str, str] = _FAQ["system_prompt"]
FAQ: dict[str, dict[str, list[tuple[str, str]]]] = {
    lang: {intent: [(p["question"], p["answer"]) for p in pairs] for intent, pairs in per.items()}
    for lang, per in _FAQ["pairs"].items()
}
LICENSE_TEXT = (SRC_DIR / "license_template.txt").read_text(encoding="utf-8")

# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------
ALT_RE = re.compile(r"\[([^\[\]]*)\]")
SLOT_RE = re.compile(r"\{(\w+)\}")

PLACE_SLOTS = ("{district}", "{city}", "{community}", "{road}", "{street}", "{station}")
ZH_END_PUNCT = "。！？!?…"


def _pool(name: str) -> str:
    """``city2`` -> ``city``: numbered slots share the pool of the base slot."""
    return name.rstrip("0123456789")


def render(template: str, lang: str, rng: random.Random) -> str:
    """Expand ``[a|b]`` alternatives and ``{slot}`` values of one template."""
    text = ALT_RE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    chosen: dict[str, str] = {}

    def fill(m: re.Match) -> str:
        name = m.group(1)
        if name not in chosen:
            used = {v for k, v in chosen.items() if _pool(k) == _pool(name)}
            pool = SLOTS[lang][_pool(name)]
            chosen[name] = rng.choice([v for v in pool if v not in used])
        return chosen[name]

    text = SLOT_RE.sub(fill, text)
    if lang == "en":
        text = re.sub(r"\s+", " ", text)
        text = re.sub(r" ([,.?!])", r"\1", text)
    else:
        text = re.sub(r"\s+", "", text)
        text = text.replace("，，", "，").replace("，？", "？")
    return text.strip()


def norm_key(text: str) -> str:
    """Key used for de-duplication: case- and punctuation-insensitive."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def length_ok(text: str, lang: str) -> bool:
    lo, hi = LENGTH_LIMITS[lang]
    n = len(text.split()) if lang == "en" else len(text)
    return lo <= n <= hi


def decorate(core: str, template: str, lang: str, rng: random.Random) -> str:
    """Add the context, greetings, thanks and casual styling real hotline messages have."""
    text = core
    if rng.random() < 0.14:
        if rng.random() < 0.5 and not any(p in template for p in PLACE_SLOTS):
            prefix = render(rng.choice(CONTEXT_PREFIX[lang]), lang, rng)
            text = prefix + (" " if lang == "en" else "") + text
        else:
            suffix = rng.choice(CONTEXT_SUFFIX[lang])
            if lang == "en":
                text = text + suffix if text[-1] in ".?!" else text
            else:
                if text[-1] in "？！?!":
                    text = text + suffix[1:]
                else:
                    text = (text[:-1] if text[-1] == "。" else text) + suffix
        if not length_ok(text, lang):
            text = core
    if lang == "en" and rng.random() < 0.08:
        # Casual, all-lowercase chat message without the final full stop.
        return text.lower().rstrip(".")
    if rng.random() < 0.22:
        opener = rng.choice(OPENERS[lang])
        if lang == "en" and opener.endswith(", ") and not re.match(r"I\b", text):
            text = opener + text[0].lower() + text[1:]
        else:
            text = opener + text
    if rng.random() < 0.22:
        closer = rng.choice(CLOSERS[lang])
        if lang == "en":
            if text[-1] in ".?!":
                text = text + closer
        else:
            text = text + ("" if text[-1] in ZH_END_PUNCT else "，") + closer
    return text if length_ok(text, lang) else core


def split_templates(lang: str, intent: str, n: int) -> dict[str, list[int]]:
    """Assign each template index to exactly one split (~70/15/15 of templates)."""
    idx = list(range(n))
    random.Random(f"{SEED}:{lang}:{intent}:templates").shuffle(idx)
    n_test = max(3, round(n * 0.15))
    n_val = max(3, round(n * 0.15))
    return {
        "test": sorted(idx[:n_test]),
        "validation": sorted(idx[n_test:n_test + n_val]),
        "train": sorted(idx[n_test + n_val:]),
    }


def generate_rows(lang: str, intent: str, templates: list[str], idxs: list[int], target: int,
                  seen: set[str], rng: random.Random) -> list[dict]:
    """Round-robin over the split's templates until ``target`` unique rows exist."""
    rows: list[dict] = []
    active = list(idxs)
    accepted: dict[int, list[str]] = {i: [] for i in idxs}
    while len(rows) < target and active:
        for i in list(active):
            if len(rows) >= target:
                break
            for _ in range(40):
                core = render(templates[i], lang, rng)
                key = norm_key(core)
                if key in seen or not length_ok(core, lang):
                    continue
                # Near-duplicate guard: a row must differ clearly from the rows already drawn
                # from the same template (not just one short optional phrase).
                if any(SequenceMatcher(None, key, k).ratio() >= NEAR_DUP_RATIO
                       for k in accepted[i]):
                    continue
                seen.add(key)
                accepted[i].append(key)
                rows.append({"text": decorate(core, templates[i], lang, rng), "label": intent,
                             "lang": lang})
                break
            else:
                active.remove(i)  # template exhausted: no new unique variant found
    return rows


def build_hotline() -> dict[str, dict[str, list[dict]]]:
    data: dict[str, dict[str, list[dict]]] = {}
    for lang in LANGS:
        seen: set[str] = set()
        data[lang] = {s: [] for s in SPLITS}
        for intent in INTENTS:
            templates = TEMPLATES[lang][intent]
            assignment = split_templates(lang, intent, len(templates))
            for split in SPLITS:
                rng = random.Random(f"{SEED}:{lang}:{intent}:{split}:rows")
                data[lang][split].extend(generate_rows(
                    lang, intent, templates, assignment[split], HOTLINE_TARGET[split], seen, rng))
        for split in SPLITS:
            random.Random(f"{SEED}:{lang}:{split}:shuffle").shuffle(data[lang][split])
    return data


def build_faq() -> dict[str, dict[str, list[dict]]]:
    data: dict[str, dict[str, list[dict]]] = {}
    for lang in LANGS:
        data[lang] = {s: [] for s in SPLITS}
        for intent in INTENTS:
            pairs = FAQ[lang][intent]
            idx = list(range(len(pairs)))
            random.Random(f"{SEED}:{lang}:{intent}:faq").shuffle(idx)
            n_test = max(1, round(len(idx) * 0.1))
            n_val = max(1, round(len(idx) * 0.1))
            parts = {"test": idx[:n_test], "validation": idx[n_test:n_test + n_val],
                     "train": idx[n_test + n_val:]}
            for split, ids in parts.items():
                for i in sorted(ids):
                    q, a = pairs[i]
                    data[lang][split].append({
                        "messages": [
                            {"role": "system", "content": FAQ_SYSTEM_PROMPT[lang]},
                            {"role": "user", "content": q},
                            {"role": "assistant", "content": a},
                        ],
                        "lang": lang,
                        "intent": intent,
                    })
        for split in SPLITS:
            random.Random(f"{SEED}:{lang}:{split}:faq-shuffle").shuffle(data[lang][split])
    return data


def to_jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


# --------------------------------------------------------------------------------------
# README / LICENSE
# --------------------------------------------------------------------------------------
def _is_plain(text: str, lang: str) -> bool:
    """True for rows without added greeting/thanks/context and not in casual lowercase."""
    starts = tuple(o.strip() for o in OPENERS[lang]) + tuple(
        p.split("{")[0] for p in CONTEXT_PREFIX[lang])
    ends = tuple(c.strip() for c in CLOSERS[lang]) + tuple(
        c.strip().lstrip("，") for c in CONTEXT_SUFFIX[lang])
    cased_ok = lang == "zh" or text[:1].isupper()
    return cased_ok and not text.startswith(starts) and not text.endswith(ends)


def _example(rows: list[dict], intent: str, lang: str) -> str:
    """A typical (median-length, undecorated) training row of ``intent``."""
    cands = sorted((len(r["text"]), r["text"]) for r in rows
                   if r["label"] == intent and _is_plain(r["text"], lang))
    return cands[len(cands) // 2][1]


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def hotline_readme(data: dict[str, dict[str, list[dict]]]) -> str:
    counts = {(lang, split, intent): 0 for lang in LANGS for split in SPLITS for intent in INTENTS}
    for lang in LANGS:
        for split in SPLITS:
            for r in data[lang][split]:
                counts[(lang, split, r["label"])] += 1
    n_templates = {lang: sum(len(TEMPLATES[lang][i]) for i in INTENTS) for lang in LANGS}
    per_intent = sorted({len(TEMPLATES[lang][i]) for lang in LANGS for i in INTENTS})
    tgt = HOTLINE_TARGET
    lines = [
        "# hotline: bilingual citizen-service hotline intents (EN / ZH)",
        "",
        "Short requests that citizens phone or message to a government service hotline (like China's",
        "12345 citizen service hotline), each labelled with one of 14 intents. English and Chinese halves",
        "share the same label set; the Chinese half was written directly in Chinese, not translated.",
        "Use it for intent classification / routing (one label per request).",
        "",
        "## Files and format",
        "",
        "```",
        "hotline/en/{train,validation,test}.jsonl",
        "hotline/zh/{train,validation,test}.jsonl",
        "```",
        "",
        "UTF-8 JSON Lines, one object per line:",
        "",
        "```json",
        json.dumps(data["zh"]["train"][0], ensure_ascii=False),
        json.dumps(data["en"]["train"][0], ensure_ascii=False),
        "```",
        "",
        "`text` is the request, `label` the intent id, `lang` is `en` or `zh`.",
        "",
        "## Intents",
        "",
        "| label | description | example (en) | example (zh) |",
        "|---|---|---|---|",
    ]
    for intent in INTENTS:
        lines.append(f"| `{intent}` | {DESCRIPTIONS[intent]} | {_md(_example(data['en']['train'], intent, 'en'))} "
                     f"| {_md(_example(data['zh']['train'], intent, 'zh'))} |")
    lines += [
        "",
        "## Counts",
        "",
        "| label | en train | en validation | en test | zh train | zh validation | zh test |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for intent in INTENTS:
        cells = [str(counts[(lang, split, intent)]) for lang in LANGS for split in SPLITS]
        lines.append(f"| `{intent}` | " + " | ".join(cells) + " |")
    totals = [str(len(data[lang][split])) for lang in LANGS for split in SPLITS]
    lines.append("| **total** | " + " | ".join(totals) + " |")
    grand = sum(len(data[lang][split]) for lang in LANGS for split in SPLITS)
    lines += [
        "",
        f"{grand} rows in all ({sum(len(data['en'][s]) for s in SPLITS)} English, "
        f"{sum(len(data['zh'][s]) for s in SPLITS)} Chinese).",
        "",
        "## How it was made",
        "",
        f"* Generated by `scripts/make_datasets.py` from hand-written templates ({n_templates['en']} English,",
        f"  {n_templates['zh']} Chinese; {'-'.join(map(str, per_intent))} per intent per language), all authored",
        "  by the peftgov project.",
        "  Templates contain inline alternatives and slots (district, road, amount, date, bus route...)",
        "  filled from hand-written value lists, and cover several sub-topics per intent (e.g. pension",
        "  payments, contribution transfers, unemployment and work-injury insurance for `social_insurance`).",
        "  Some rows get a greeting, a thank-you or intent-neutral context (\"I live in ...\", \"it's",
        "  urgent\"), and a few English ones are typed in casual lowercase.",
        "* **Template-disjoint splits.** Every template belongs to exactly one split (per intent: about",
        "  70% of templates train, 15% validation, 15% test), so validation and test rows are never slot",
        "  swaps of a training row. Rows per intent and language: "
        f"{tgt['train']} train, {tgt['validation']} validation, {tgt['test']} test.",
        "* Duplicates are removed within each language across all splits (case- and",
        "  punctuation-insensitive, ignoring greetings and added context), and rows drawn from the",
        f"  same template must differ clearly (difflib ratio < {NEAR_DUP_RATIO}). Lengths: "
        f"{LENGTH_LIMITS['en'][0]}-{LENGTH_LIMITS['en'][1]} words (en), "
        f"{LENGTH_LIMITS['zh'][0]}-{LENGTH_LIMITS['zh'][1]} characters (zh).",
        "* Deterministic: fixed seed; re-running the script gives byte-identical files",
        "  (`python scripts/make_datasets.py --check` verifies the files on disk).",
        "* Some requests are deliberately near an intent boundary (an employer not paying social",
        "  insurance, a school sponsorship fee, an employer keeping an ID card...). The label is the",
        "  office that should handle the caller's main request.",
        "",
        "**Synthetic data, no personal data.** Place names are common Chinese city, district and street",
        "names used as generic slot values; amounts, dates and situations are invented. Because it is",
        "template-generated, the data is cleaner and less varied than real hotline traffic: treat",
        "scores on it as a smoke test, not as an estimate of production accuracy.",
        "",
        "## Licence",
        "",
        "CC-BY-4.0, authored by the peftgov project; see `LICENSE`",
        "(https://creativecommons.org/licenses/by/4.0/).",
        "",
    ]
    return "\n".join(lines)


def faq_readme(data: dict[str, dict[str, list[dict]]]) -> str:
    counts = {(lang, split): len(data[lang][split]) for lang in LANGS for split in SPLITS}
    per_intent = {lang: len(FAQ[lang][INTENTS[0]]) for lang in LANGS}
    ex = {lang: next(r for r in data[lang]["train"] if r["intent"] == "id_documents") for lang in LANGS}
    lines = [
        "# hotline_faq: bilingual hotline agent FAQ dialogues (EN / ZH)",
        "",
        "Single-turn chat examples for instruction-tuning a small causal LM to act as a citizen-service",
        "hotline agent (like China's 12345 hotline): a citizen's question and the answer a service agent",
        "would give: polite, concrete, 1-3 sentences, pointing to the right office, documents or online",
        "channel. Answers stay generic (\"the district market regulation bureau\", \"the provident fund",
        "app\") and give no phone number other than 12345. The Chinese pairs were written in Chinese,",
        "not translated. The intents are the same 14 as in the sibling `hotline` dataset.",
        "",
        "## Files and format",
        "",
        "```",
        "hotline_faq/en/{train,validation,test}.jsonl",
        "hotline_faq/zh/{train,validation,test}.jsonl",
        "```",
        "",
        "UTF-8 JSON Lines; each row has `messages` (system, user, assistant), `lang`, and `intent`",
        "(the hotline intent the question belongs to, useful for stratified evaluation):",
        "",
        "```json",
        json.dumps(ex["en"], ensure_ascii=False),
        json.dumps(ex["zh"], ensure_ascii=False),
        "```",
        "",
        "The system prompt is identical for every row of a language:",
        "",
        f"* en: \"{FAQ_SYSTEM_PROMPT['en']}\"",
        f"* zh: \"{FAQ_SYSTEM_PROMPT['zh']}\"",
        "",
        "## Counts",
        "",
        "| lang | train | validation | test | total |",
        "|---|---:|---:|---:|---:|",
    ]
    for lang in LANGS:
        c = [counts[(lang, s)] for s in SPLITS]
        lines.append(f"| {lang} | {c[0]} | {c[1]} | {c[2]} | {sum(c)} |")
    lines += [
        "",
        f"{per_intent['en']} pairs per intent per language, split per intent 8/1/1 with a fixed seed.",
        "Intents: " + ", ".join(f"`{i}`" for i in INTENTS) + ".",
        "",
        "## How it was made",
        "",
        "* Every question and answer was hand-written for this project and is stored in",
        "  `scripts/make_datasets.py`, which writes these files deterministically",
        "  (`python scripts/make_datasets.py`; `--check` verifies the files on disk).",
        "* Answers describe typical procedures in China in general terms (\"usually\", \"in most",
        "  cities\", \"check the local rules\"). They are training material for tone and routing, **not**",
        "  authoritative policy: local rules differ and change.",
        "* Synthetic, no personal data.",
        "",
        "## Licence",
        "",
        "CC-BY-4.0, authored by the peftgov project; see `LICENSE`",
        "(https://creativecommons.org/licenses/by/4.0/).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------
def build_files() -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    hotline = build_hotline()
    faq = build_faq()
    for name, data in (("hotline", hotline), ("hotline_faq", faq)):
        for lang in LANGS:
            for split in SPLITS:
                files[OUT_DIR / name / lang / f"{split}.jsonl"] = to_jsonl(data[lang][split])
    files[OUT_DIR / "hotline" / "README.md"] = hotline_readme(hotline).encode("utf-8")
    files[OUT_DIR / "hotline_faq" / "README.md"] = faq_readme(faq).encode("utf-8")
    files[OUT_DIR / "hotline" / "LICENSE"] = LICENSE_TEXT.format(
        title="peftgov hotline", name="hotline").encode("utf-8")
    files[OUT_DIR / "hotline_faq" / "LICENSE"] = LICENSE_TEXT.format(
        title="peftgov hotline_faq", name="hotline_faq").encode("utf-8")
    return files


def template_report() -> None:
    """Print templates that yield few distinct variants (authoring aid)."""
    for lang in LANGS:
        for intent in INTENTS:
            for i, t in enumerate(TEMPLATES[lang][intent]):
                rng = random.Random(f"report:{lang}:{intent}:{i}")
                keys = {norm_key(render(t, lang, rng)) for _ in range(300)}
                bad = [render(t, lang, rng) for _ in range(20)]
                bad = [b for b in bad if not length_ok(b, lang)]
                if len(keys) < 4 or bad:
                    print(f"{lang} {intent} #{i}: {len(keys)} variants"
                          f"{' LENGTH: ' + bad[0] if bad else ''} | {t}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory and fail if the files on disk differ")
    ap.add_argument("--report", action="store_true",
                    help="list templates with few distinct variants (authoring aid)")
    args = ap.parse_args(argv)
    for lang in LANGS:
        assert set(TEMPLATES[lang]) == set(INTENTS), lang
        assert set(FAQ[lang]) == set(INTENTS), lang
    if args.report:
        template_report()
        return 0
    files = build_files()
    if args.check:
        stale = [p for p, b in files.items() if not p.exists() or p.read_bytes() != b]
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    total = sum(len(b) for b in files.values())
    print(f"wrote {len(files)} files, {total / 1024:.0f} KiB under {OUT_DIR.relative_to(ROOT)}/")
    for name in ("hotline", "hotline_faq"):
        for lang in LANGS:
            n = [files[OUT_DIR / name / lang / f"{s}.jsonl"].count(b"\n") for s in SPLITS]
            print(f"  {name}/{lang}: train={n[0]} validation={n[1]} test={n[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
