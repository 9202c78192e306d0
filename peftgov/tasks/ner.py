"""Named-entity recognition (token classification) with BIO tags.

Data: CoNLL files (``TOKEN ... TAG`` per line, blank line between sentences; see
:mod:`peftgov.conll`, including the Weibo ``strip_position_digit`` variant), or jsonl with one
sentence per line as ``{"tokens": [...], "tags": [...]}`` (column names are task options).

Labels: ``O`` first, then ``B-``/``I-`` of every entity type in the train file, sorted (both
prefixes of a type are kept even when train lacks one; taken before ``max_train_samples``).
A validation or test tag of a type
never seen in train is an error naming file and line, or the sentence is skipped and counted
when ``data.on_bad_row`` is ``skip``.

Alignment: words are tokenised with ``is_split_into_words=True`` (fast tokenizers only); the
first sub-token of each word carries the word's label, the others and special tokens get
-100 (with ``label_all_subtokens``, training sub-tokens get the ``I-`` form of the word's
label instead; validation and test always score one tag per word). Words cut off by
``max_length`` are counted in the notes: they are neither trained on nor scored.

Metrics: entity-level precision / recall / F1 (seqeval, strict IOB2) with a per-type table,
and the token-level report (``O`` included); see :mod:`peftgov.metrics.ner`.

Predict: raw text -> words (whitespace split with edge punctuation split off; one character
per word when the text has CJK characters) -> ``{"text", "entities": [{"text", "type",
"start", "end", "score"}]}`` with character offsets into the original text (BIO decoded
leniently: an ``I-`` after ``O`` or after another type starts an entity).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from datasets import Dataset

from ..config import Recipe, TaskConfig, _require
from ..conll import Sentence, bio_error, is_bio_tag, read_conll, strip_position
from ..data import arrange_splits, detect_format, read_rows, require_columns, resolve_path
from ..errors import DataError, PeftgovError, RecipeError
from ..metrics.ner import ner_metrics
from .base import Prepared, Task, describe_counts, label_head_kwargs
from .registry import register

IGNORE = -100
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class NerOptions(TaskConfig):
    name: str = "ner"
    max_length: int = 128
    """Sub-tokens per sentence (special tokens included); words beyond are cut and counted."""
    label_all_subtokens: bool = False
    """Train every sub-token of a word (the ``I-`` form after the first), not only the first."""
    strip_position_digit: bool = False
    """Tokens end in a word-position number to remove (Weibo NER: ``科0`` is ``科``)."""
    tokens_column: str = "tokens"
    """jsonl input: the list of words."""
    tags_column: str = "tags"
    """jsonl input: the list of BIO tags, one per word."""
    drop_word_markers: bool = False
    """Drop a word's sub-tokens that are only a word-start marker (sentencepiece's ``▁``):
    character-level Chinese on an XLM-R / sentencepiece tokenizer otherwise becomes
    ``▁ 张 ▁ 三 ...``, twice as long, with each character's label on its bare ``▁``."""
    head_bias_prior: bool = False
    """Start the tagger's output bias at the log frequency of each tag over the train split's
    scored positions (add-one smoothed) instead of 0. With a zero bias the first steps' gradient
    is mostly "more ``O``" at every position alike, which the backbone can follow by moving
    every position the same way; where ``O`` dominates (Weibo NER: 93% of tags) that can pull
    all positions onto one vector, a tagger that only answers ``O``
    (benchmarks/results/chinese/collapse.txt)."""

    def __post_init__(self) -> None:
        _require(self.max_length > 2, "max_length", "must be more than 2")
        _require(bool(self.tokens_column), "tokens_column", "must not be empty")
        _require(bool(self.tags_column), "tags_column", "must not be empty")


# --------------------------------------------------------------------------- helpers


def log_prior(label_rows: Sequence[Sequence[int]], n_labels: int) -> list[float]:
    """Log frequency of each label id over the scored positions (``IGNORE`` skipped),
    add-one smoothed so that a tag absent from the sample still gets a finite bias."""
    counts = torch.ones(n_labels, dtype=torch.float64)
    for row in label_rows:
        ids = torch.tensor([i for i in row if i != IGNORE], dtype=torch.long)
        counts += torch.bincount(ids, minlength=n_labels).double()
    return (counts / counts.sum()).log().tolist()


def label_set(sentences: Sequence[Sentence]) -> list[str]:
    """``O``, then ``B-``/``I-`` of every entity type in ``sentences``, sorted."""
    types = sorted({t[2:] for s in sentences for t in s.tags if t != "O"})
    return ["O"] + sorted([f"B-{t}" for t in types] + [f"I-{t}" for t in types])


def inside_ids(labels: Sequence[str]) -> list[int]:
    """For each label id, the id of its ``I-`` form (``O`` stays ``O``)."""
    index = {lab: i for i, lab in enumerate(labels)}
    return [
        index.get("I-" + lab[2:], i) if lab.startswith("B-") else i
        for i, lab in enumerate(labels)
    ]


def align_labels(
    word_ids: Sequence[int | None], word_labels: Sequence[int], inside: Sequence[int] | None = None
) -> list[int]:
    """Sub-token labels from word labels: the first sub-token of a word gets the word's label;
    later sub-tokens get -100, or ``inside[label]`` when ``inside`` is given; special tokens
    (word id None) get -100."""
    out: list[int] = []
    prev = None
    for w in word_ids:
        if w is None:
            out.append(IGNORE)
        elif w != prev:
            out.append(word_labels[w])
        else:
            out.append(inside[word_labels[w]] if inside is not None else IGNORE)
        prev = w
    return out


def first_subtoken_positions(word_ids: Sequence[int | None]) -> dict[int, int]:
    """word index -> position of its first sub-token."""
    out: dict[int, int] = {}
    for pos, w in enumerate(word_ids):
        if w is not None and w not in out:
            out[w] = pos
    return out


def words_from_labels(preds: Sequence[int], refs: Sequence[int]) -> tuple[list[int], list[int]]:
    """Keep the positions whose reference is not -100: one (pred, ref) per word."""
    p_out, r_out = [], []
    for p, r in zip(preds, refs):
        if r != IGNORE:
            p_out.append(p)
            r_out.append(r)
    return p_out, r_out


def bio_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities as (type, first word, last word + 1), decoded leniently: an ``I-`` after
    ``O`` or after an entity of another type starts a new entity (seqeval's ``get_entities``,
    whose end is inclusive; the tags are the model's labels, all BIO-checked when read)."""
    from seqeval.metrics.sequence_labeling import get_entities

    return [(typ, start, end + 1) for typ, start, end in get_entities(list(tags))]


_CJK = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0002fa1f]"
)
_OPEN = set("([{\"'“‘«")
_CLOSE = set(")]}\"'”’».,;:!?")
_ABBREV = re.compile(r"^(?:[A-Za-z]\.)+$")


def _peel(chunk: str, start: int) -> list[tuple[str, int, int]]:
    """Split edge punctuation off a whitespace chunk, CoNLL style: ``(Berlin),`` -> ``(``,
    ``Berlin``, ``)``, ``,``; ``Germany's`` -> ``Germany``, ``'s``; ``U.S.`` stays whole."""
    lead, tail = [], []
    i, j = 0, len(chunk)
    while i < j - 1 and chunk[i] in _OPEN:
        lead.append((chunk[i], start + i, start + i + 1))
        i += 1
    while j - 1 > i:
        core = chunk[i:j]
        if core[-2:] in ("'s", "’s", "'S") and j - 2 > i:
            tail.append((core[-2:], start + j - 2, start + j))
            j -= 2
        elif core[-1] in _CLOSE and not (core[-1] == "." and _ABBREV.match(core)):
            tail.append((core[-1], start + j - 1, start + j))
            j -= 1
        else:
            break
    return lead + [(chunk[i:j], start + i, start + j)] + tail[::-1]


def split_words(text: str) -> list[tuple[str, int, int]]:
    """Words of raw text with character offsets: one character per word when the text has
    CJK characters (as in Weibo NER), else whitespace-separated words with edge punctuation
    split off."""
    if _CJK.search(text):
        return [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S", text)]
    words: list[tuple[str, int, int]] = []
    for m in re.finditer(r"\S+", text):
        words.extend(_peel(m.group(), m.start()))
    return words


def tokenize_words(
    tokenizer: Any, words: list[list[str]], *, drop_markers: bool = False, **kwargs: Any
):
    """``tokenizer(words, is_split_into_words=True)`` with clear errors for tokenizers that
    cannot align sub-tokens to words; ``drop_markers``: see ``NerOptions.drop_word_markers``."""
    if not getattr(tokenizer, "is_fast", False):
        raise PeftgovError(
            f"task 'ner' needs a fast (Rust) tokenizer to align sub-tokens to words; "
            f"{type(tokenizer).__name__} is not one"
        )
    padding, tensors = kwargs.pop("padding", False), kwargs.pop("return_tensors", None)
    limit = None
    if drop_markers:
        # Truncate after the markers are gone: truncating first would keep only about half
        # of max_length characters.
        if kwargs.pop("truncation", False):
            limit = kwargs.pop("max_length", None) or tokenizer.model_max_length
        kwargs.pop("max_length", None)
    else:
        kwargs.update(padding=padding, return_tensors=tensors)
    try:
        enc = tokenizer(words, is_split_into_words=True, **kwargs)
    except (AssertionError, ValueError) as exc:
        raise PeftgovError(
            f"task 'ner': the tokenizer cannot take pre-split words ({str(exc).splitlines()[0]})"
        ) from None
    if not drop_markers:
        return enc
    return _drop_markers(tokenizer, enc, len(words), padding, tensors, limit)


class WordEncoding(dict):
    """Tokenizer output rebuilt by :func:`_drop_markers`, with ``word_ids(row)`` like a
    ``BatchEncoding``."""

    def __init__(
        self, data: dict[str, Any], word_ids: list[list[int | None]], lengths: list[int]
    ) -> None:
        super().__init__(data)
        self._word_ids = word_ids
        self.tokenized_lengths = lengths
        """Each row's length without the markers, before truncation."""

    def word_ids(self, row: int) -> list[int | None]:
        return self._word_ids[row]


def _drop_markers(
    tokenizer: Any, enc: Any, rows: int, padding: Any, tensors: Any, limit: int | None
) -> WordEncoding:
    bare: dict[int, bool] = {}

    def is_bare(token_id: int) -> bool:
        if token_id not in bare:
            text = tokenizer.convert_tokens_to_string([tokenizer.convert_ids_to_tokens(token_id)])
            bare[token_id] = not text.strip()
        return bare[token_id]

    data: dict[str, list] = {k: [] for k in enc.keys()}
    word_ids: list[list[int | None]] = []
    lengths: list[int] = []
    for i in range(rows):
        ids, wids = enc["input_ids"][i], enc.word_ids(i)
        keep = [
            p for p in range(len(ids))
            if not (wids[p] is not None and p + 1 < len(ids) and wids[p + 1] == wids[p]
                    and is_bare(ids[p]))
        ]
        lengths.append(len(keep))
        if limit is not None and len(keep) > limit:
            # Keep the closing special tokens (</s>), like the tokenizer's own truncation.
            tail = 0
            while tail < len(keep) and wids[keep[-1 - tail]] is None:
                tail += 1
            tail = min(tail, limit)
            keep = keep[: limit - tail] + (keep[len(keep) - tail :] if tail else [])
        for k in data:
            data[k].append([enc[k][i][p] for p in keep])
        word_ids.append([wids[p] for p in keep])
    if padding:
        data = dict(tokenizer.pad(data, padding=padding, return_tensors=tensors))
        width = len(data["input_ids"][0])
        for w in word_ids:
            fill = [None] * (width - len(w))
            w[:] = w + fill if tokenizer.padding_side == "right" else fill + w
    return WordEncoding(data, word_ids, lengths)


# --------------------------------------------------------------------------- the task


@register
class Ner(Task):
    name = "ner"
    config_cls = NerOptions
    peft_task_type = "TOKEN_CLS"
    default_metric = "f1"

    # ------------------------------------------------------------------ data
    def read(self, spec: str, recipe: Recipe, counts: dict) -> list[Sentence]:
        """Sentences of one file: CoNLL (.txt / .conll / .bio or data.format=conll) or jsonl."""
        cfg, d = recipe.task, recipe.data
        skip = d.on_bad_row == "skip"
        kind = detect_format(resolve_path(spec), d.format)
        if kind == "conll":
            return read_conll(
                spec, strip_position_digit=cfg.strip_position_digit, skip=skip, counts=counts
            )
        if kind != "jsonl":
            raise DataError(
                spec,
                f"format {kind!r} cannot hold token tags: use a CoNLL file (.txt, .conll, .bio) "
                f"or jsonl with {cfg.tokens_column!r} and {cfg.tags_column!r} lists",
            )
        rows = read_rows(spec, "jsonl")
        require_columns(rows, spec, [cfg.tokens_column, cfg.tags_column])
        out = []
        for row in rows:
            words, tags = row.values.get(cfg.tokens_column), row.values.get(cfg.tags_column)
            problem = None
            if not isinstance(words, list) or not words:
                problem = f"{cfg.tokens_column!r} must be a non-empty list of strings"
            elif not isinstance(tags, list) or len(tags) != len(words):
                problem = (
                    f"{cfg.tags_column!r} must be a list with one tag per token ({len(words)})"
                )
            elif not all(isinstance(w, str) and w for w in words):
                problem = f"{cfg.tokens_column!r} holds an empty or non-string token"
            else:
                bad = next((t for t in tags if not is_bio_tag(t)), None)
                if bad is not None:
                    problem = bio_error(bad)
                elif cfg.strip_position_digit:
                    stripped = [strip_position(w) for w in words]
                    if None in stripped:
                        problem = "a token does not end in a position number (strip_position_digit)"
                    words = stripped
            if problem:
                if skip:
                    counts["skipped_bad_rows"] = counts.get("skipped_bad_rows", 0) + 1
                    continue
                raise DataError(spec, problem, line=row.line)
            out.append(Sentence(list(words), list(tags), row.line))
        if not out:
            raise DataError(spec, "no usable sentences")
        return out

    def _encode(
        self,
        sentences: list[Sentence],
        spec: str,
        recipe: Recipe,
        tokenizer: Any,
        labels: list[str],
        counts: dict,
        *,
        train: bool,
    ) -> Dataset:
        cfg = recipe.task
        index = {lab: i for i, lab in enumerate(labels)}
        kept = []
        for s in sentences:
            unknown = next(((t, ln) for t, ln in zip(s.tags, s.lines) if t not in index), None)
            if unknown is not None:
                if recipe.data.on_bad_row == "skip":
                    counts["skipped_unknown_label"] = counts.get("skipped_unknown_label", 0) + 1
                    continue
                types = sorted({lab[2:] for lab in labels if lab != "O"})
                raise DataError(
                    spec,
                    f"tag {unknown[0]!r} is of a type never seen in train (train has "
                    f"{', '.join(types)}); fix the file or set data.on_bad_row=skip",
                    line=unknown[1],
                )
            kept.append(s)
        if not kept:
            raise DataError(spec, "no usable sentences left")
        words = [list(s.words) for s in kept]
        mark = cfg.drop_word_markers
        enc = tokenize_words(
            tokenizer, words, truncation=True, max_length=cfg.max_length, drop_markers=mark
        )
        # Words the tokenizer turns into nothing (a lone zero-width or control character)
        # would silently lose their tag: replace them by the unknown token and re-encode.
        redo = []
        for i, ws in enumerate(words):
            wids = enc.word_ids(i)
            seen = set(wids) - {None}
            last = max(seen, default=-1)
            length = (
                enc.tokenized_lengths[i] if isinstance(enc, WordEncoding)
                else len(enc["input_ids"][i])
            )
            cut = length >= cfg.max_length
            limit = last if cut else len(ws) - 1
            empty = [w for w in range(limit + 1) if w not in seen]
            if empty:
                for w in empty:
                    ws[w] = tokenizer.unk_token or "?"
                counts["replaced_empty_words"] = counts.get("replaced_empty_words", 0) + len(empty)
                redo.append(i)
        if redo:
            enc = tokenize_words(
                tokenizer, words, truncation=True, max_length=cfg.max_length, drop_markers=mark
            )
        inside = inside_ids(labels) if (train and cfg.label_all_subtokens) else None
        columns: dict[str, list] = {k: [] for k in MODEL_INPUTS if k in enc}
        columns["labels"] = []
        for i, s in enumerate(kept):
            wids = enc.word_ids(i)
            for k in columns:
                if k != "labels":
                    columns[k].append(enc[k][i])
            columns["labels"].append(align_labels(wids, [index[t] for t in s.tags], inside))
            lost = len(s.words) - (max((w for w in wids if w is not None), default=-1) + 1)
            if lost > 0:
                counts["truncated_sequences"] = counts.get("truncated_sequences", 0) + 1
                counts["truncated_words"] = counts.get("truncated_words", 0) + lost
        return Dataset.from_dict(columns)

    @staticmethod
    def _notes(counts: dict, cfg: NerOptions, tokenizer: Any) -> list[str]:
        notes = describe_counts(counts, cfg.max_length)
        if counts.get("truncated_words"):
            notes.append(
                f"{counts['truncated_words']} words past task.max_length={cfg.max_length} "
                "sub-tokens were cut: they are neither trained on nor scored"
            )
        if counts.get("replaced_empty_words"):
            notes.append(
                f"{counts['replaced_empty_words']} words that tokenise to nothing were replaced "
                f"by {tokenizer.unk_token or '?'!r}"
            )
        return notes

    def prepare(self, recipe: Recipe, tokenizer: Any) -> Prepared:
        d, seed = recipe.data, recipe.train.seed
        counts: dict[str, int] = {}
        specs = {"train": d.train, "validation": d.validation, "test": d.test}
        splits = {s: self.read(spec, recipe, counts) for s, spec in specs.items() if spec}
        # Labels from the whole train file, before any carve-out or max_train_samples: a smoke
        # run on a sample must not turn a rare type into an "unknown tag" in validation.
        labels = label_set(splits["train"])
        arrange_splits(splits, specs, d, seed)
        if len(labels) < 3:
            raise DataError(specs["train"], "no entities in train (every tag is O)")
        datasets = {
            split: self._encode(
                rows, specs[split], recipe, tokenizer, labels, counts, train=split == "train"
            )
            for split, rows in splits.items()
        }
        state = {
            "labels": labels,
            "entity_types": sorted({lab[2:] for lab in labels if lab != "O"}),
        }
        if recipe.task.head_bias_prior:
            state["label_log_prior"] = log_prior(datasets["train"]["labels"], len(labels))
        notes = self._notes(counts, recipe.task, tokenizer)
        return Prepared.from_splits(datasets, state, counts, notes)

    def prepare_file(self, spec, recipe, tokenizer, state) -> Dataset:
        counts: dict[str, int] = {}
        sentences = self.read(spec, recipe, counts)
        return self._encode(
            sentences, spec, recipe, tokenizer, state["labels"], counts, train=False
        )

    # ------------------------------------------------------------------ model
    def build_model(self, path, recipe, state):
        from transformers import AutoModelForTokenClassification

        from ..backbones import load_model

        model = load_model(
            AutoModelForTokenClassification,
            path,
            recipe.model,
            **label_head_kwargs(state["labels"]),
        )
        prior = state.get("label_log_prior")
        if recipe.task.head_bias_prior and prior is not None:
            head = model.get_submodule(self.head_modules(model)[0])
            if getattr(head, "bias", None) is None:
                raise RecipeError(recipe.source, "task.head_bias_prior",
                                  f"the {type(model).__name__} head has no bias to start")
            with torch.no_grad():
                head.bias.copy_(torch.tensor(prior, dtype=head.bias.dtype))
        return model

    def collator(self, tokenizer, pad_to_multiple_of=None):
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(
            tokenizer, label_pad_token_id=IGNORE, pad_to_multiple_of=pad_to_multiple_of
        )

    # ------------------------------------------------------------------ eval
    def eval_step(self, model, batch):
        out = model(**batch)
        refs = batch["labels"]
        preds = out.logits.argmax(-1)
        preds = preds.masked_fill(refs == IGNORE, IGNORE)
        return {"loss": out.loss, "preds": preds, "refs": refs}

    def compute_metrics(self, preds, refs, state):
        labels = state["labels"]
        pred_tags, ref_tags = [], []
        for p, r in zip(preds, refs):
            p_ids, r_ids = words_from_labels(p, r)
            ref_tags.append([labels[i] for i in r_ids])
            pred_tags.append([labels[i] if 0 <= i < len(labels) else "O" for i in p_ids])
        return ner_metrics(ref_tags, pred_tags, labels=labels)

    def predict(self, model, tokenizer, texts, recipe, state):
        was_training = model.training
        model.eval()  # dropout off, also for a model fresh from training
        try:
            return self._predict(model, tokenizer, texts, recipe, state)
        finally:
            model.train(was_training)

    def _predict(self, model, tokenizer, texts, recipe, state):
        labels = state["labels"]
        device = next(model.parameters()).device
        out: list[dict[str, Any]] = []
        for start in range(0, len(texts), 32):
            chunk = texts[start : start + 32]
            spans = [split_words(t) for t in chunk]
            rows = [i for i, sp in enumerate(spans) if sp]
            tags = [["O"] * len(sp) for sp in spans]
            scores = [[1.0] * len(sp) for sp in spans]
            cut = [0] * len(chunk)
            if rows:
                enc = tokenize_words(
                    tokenizer,
                    [[w for w, _, _ in spans[i]] for i in rows],
                    truncation=True,
                    max_length=recipe.task.max_length,
                    padding=True,
                    return_tensors="pt",
                    drop_markers=recipe.task.drop_word_markers,
                )
                inputs = {k: v.to(device) for k, v in enc.items() if k in MODEL_INPUTS}
                with torch.no_grad():
                    logits = model(**inputs).logits
                score, idx = logits.float().softmax(-1).max(-1)
                score, idx = score.tolist(), idx.tolist()
                for row, i in enumerate(rows):
                    first = first_subtoken_positions(enc.word_ids(row))
                    for w, pos in first.items():
                        tags[i][w] = labels[idx[row][pos]]
                        scores[i][w] = score[row][pos]
                    cut[i] = len(spans[i]) - (max(first, default=-1) + 1)
            for i, text in enumerate(chunk):
                entities = []
                for typ, a, b in bio_spans(tags[i]):
                    s, e = spans[i][a][1], spans[i][b - 1][2]
                    entities.append(
                        {
                            "text": text[s:e],
                            "type": typ,
                            "start": s,
                            "end": e,
                            "score": round(sum(scores[i][a:b]) / (b - a), 6),
                        }
                    )
                result: dict[str, Any] = {"text": text, "entities": entities}
                if cut[i] > 0:
                    result["words_not_tagged"] = cut[i]
                out.append(result)
        return out
