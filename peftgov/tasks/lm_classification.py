"""Classification with a causal LM's own next-token head: zero-shot, in-context (k-shot) and
prompt-based fine-tuning (LM-BFF, Gao et al. 2021) through one scoring function.

Each label has a verbaliser: a phrase (``task.verbalizers: {label: phrase}``; default the
label name itself). An example is put into ``task.template`` (``"Request: {text}\\nDepartment:"``)
and every verbaliser, preceded by ``task.separator`` (a space for English, ``""`` for
Chinese), is scored as the continuation of that prompt: the sum of its tokens' log-probs, or
their mean (``task.score: mean``, for verbalisers of unequal length). The predicted label is
the argmax; the loss (prompt-based fine-tuning, and the validation loss) is the cross-entropy
of the label over those scores, so LoRA & co. train the LM to prefer the right verbaliser.

Efficiency: one row per example, whatever the number of labels. The prompt comes once and
every verbaliser follows it in the same row; a 4D attention mask lets each verbaliser see the
prompt and its own earlier tokens only, and its position ids restart where the prompt ends, so
each is scored exactly as if it alone followed the prompt (SDPA attention takes the custom
mask; methods that add virtual tokens cannot extend it: ``limits`` refuses them). A prefix
shared by the whole batch (instruction + demonstrations) runs once and the rows continue from
its key/value cache; logits are computed only where a verbaliser token is predicted. That cache
is copied per row (SmolLM2-135M: 46 KB per prefix token per row, so ~93 MB a row behind 2,000
tokens of demonstrations): ``train.eval_batch_size`` bounds the memory.

``task.instruction`` opens every prompt, once. ``task.demonstrations: k`` then puts k training
examples *per class* (all of a class's, if fewer) before the query (GPT-3's in-context
learning), each in the template followed by its verbaliser, joined by
``task.demonstration_separator``. They are drawn once from the train split (after the
validation carve and ``data.max_train_samples``) in one seeded shuffle and saved in
``task_state.json``, so evaluation and prediction of a saved run use the same prompt. A
training example never sees itself: where it is one of the demonstrations, the next example of
its class in the same shuffle takes its place (or the slot is left out when the class has no
other). A prompt longer than ``task.max_length`` tokens keeps its last ``max_length`` tokens
(counted): the query and the nearest demonstrations survive.

Data reading, labels and metrics are the classification task's (accuracy, macro-F1).
"""

from __future__ import annotations

import copy
import random
import weakref
from dataclasses import dataclass
from typing import Any, Literal

import torch
from datasets import Dataset

from ..config import Recipe, _require
from ..data import Row
from ..errors import DataError, RecipeError
from .base import Prepared, describe_counts, padded_width
from .classification import Classification, ClassificationOptions
from .registry import register


@dataclass(frozen=True)
class LmClassificationOptions(ClassificationOptions):
    name: str = "lm_classification"
    max_length: int = 256
    """Longest prompt (demonstrations + template + text) in tokens; the verbalisers follow."""
    template: str = "{text}\nLabel:"
    """The prompt: ``{text}`` is replaced by the example's text (``{{`` / ``}}`` for braces)."""
    instruction: str = ""
    """Put once at the very start of every prompt, before any demonstration (e.g. the task
    and its label names in words)."""
    verbalizers: dict[str, str] | None = None
    """Phrase per label (``{label: phrase}``); a label not listed is its own name."""
    separator: str = " "
    """Put between the prompt and a verbaliser (``""`` for Chinese)."""
    score: Literal["sum", "mean"] = "sum"
    """A verbaliser's score: the sum of its tokens' log-probs, or their mean (length-normalised)."""
    demonstrations: int = 0
    """Training examples per class put before every query (in-context learning), or all of a
    class's examples when it has fewer; 0 = none."""
    demonstration_separator: str = "\n\n"
    """Put after each demonstration."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _require("{text}" in self.template, "template",
                 f"must contain {{text}} (where the example goes), got {self.template!r}")
        try:
            self.template.format(text="")
        except (KeyError, IndexError, ValueError) as exc:
            _require(False, "template", f"has a placeholder other than {{text}} ({exc!r}); "
                     "write literal braces as {{ and }}")
        _require(
            self.verbalizers is None or all(
                isinstance(k, str) and isinstance(v, str) and v.strip()
                for k, v in self.verbalizers.items()
            ),
            "verbalizers", "expected a mapping of label: non-empty phrase (both strings)",
        )
        _require(self.demonstrations >= 0, "demonstrations", "must be >= 0")
        _require(self.text_pair_column is None, "text_pair_column",
                 "not supported by lm_classification (the template takes one {text})")


# --------------------------------------------------------------------------- demonstrations


def pick_demonstrations(labels: list[str], k: int, seed: int) -> tuple[list[int], dict[str, list[int]]]:
    """(chosen, reserves): ``k`` row indices per label from one seeded shuffle of ``labels``
    (one per training row), in a seeded prompt order; and, per label, the rows after its first
    ``k`` in that shuffle, in order (the stand-ins when a chosen row is itself the query)."""
    order = list(range(len(labels)))
    random.Random(seed).shuffle(order)
    taken: dict[str, list[int]] = {}
    for i in order:
        taken.setdefault(labels[i], []).append(i)
    chosen = [i for rows in taken.values() for i in rows[:k]]
    random.Random(seed + 1).shuffle(chosen)  # classes interleaved, not in blocks
    return chosen, {lab: rows[k:] for lab, rows in taken.items()}


def demonstrations_for(query: int | None, chosen: list[int], reserves: dict[str, list[int]],
                       labels: list[str]) -> list[int]:
    """The demonstrations of training row ``query`` (``None``: a row outside train): the chosen
    ones, the query's own slot taken by the next row of its class, or dropped if none."""
    if query is None or query not in chosen:
        return chosen
    stand_in = reserves.get(labels[query], [])
    return [
        (stand_in[0] if i == query else i) for i in chosen if i != query or stand_in
    ]


# --------------------------------------------------------------------------- scoring


class ChoiceCollator:
    """Rows of ``query + verbaliser_1 + ... + verbaliser_L`` (right-padded) with the 4D
    attention mask and position ids that score each verbaliser as the prompt's continuation,
    and the gather indices :func:`verbalizer_scores` reads the log-probs with. The prefix
    (instruction + demonstrations) goes once in ``prefix_ids`` when every row of the batch
    has the same one (evaluation); otherwise each row carries its own in front."""

    def __init__(self, pad_id: int, pad_to_multiple_of: int | None = None) -> None:
        self.pad, self.multiple = pad_id, pad_to_multiple_of

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        choices = features[0]["choices"]
        prefixes = [list(f["prefix"]) for f in features]
        shared = prefixes[0] if all(p == prefixes[0] for p in prefixes) else []
        rows, positions, segments, score_pos = [], [], [], []
        for f, prefix in zip(features, prefixes):
            prompt = (prefix if not shared else []) + list(f["input_ids"])
            n = len(prompt)
            ids, pos, seg, at = list(prompt), list(range(n)), [0] * n, []
            for j, choice in enumerate(choices, start=1):
                start = len(ids)
                # token 0 is predicted at the prompt's last position, token m at the choice's m-1
                at += [n - 1] + list(range(start, start + len(choice) - 1))
                ids += choice
                pos += range(n, n + len(choice))
                seg += [j] * len(choice)
            rows.append(ids), positions.append(pos), segments.append(seg), score_pos.append(at)
        width = padded_width((len(r) for r in rows), self.multiple)
        real = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], dtype=torch.bool)
        seg = torch.tensor([s + [-1] * (width - len(s)) for s in segments])
        causal = torch.ones(width, width, dtype=torch.bool).tril()
        same = (seg[:, :, None] == seg[:, None, :]) | (seg[:, None, :] == 0)
        mask = causal & same & real[:, None, :]
        mask |= torch.eye(width, dtype=torch.bool)  # padding rows see themselves: no NaN
        flat = [t for c in choices for t in c]
        owner = [j for j, c in enumerate(choices) for _ in c]
        mean = features[0].get("mean_score", False)
        weight = [1.0 / len(c) if mean else 1.0 for c in choices for _ in c]
        n = len(rows)
        return {
            "input_ids": torch.tensor([r + [self.pad] * (width - len(r)) for r in rows]),
            "attention_mask": mask[:, None],
            "position_ids": torch.tensor([p + [0] * (width - len(p)) for p in positions]),
            # one copy per row (so Accelerate can split the batch), read from the first row
            "prefix_ids": torch.tensor([shared] * n, dtype=torch.long).reshape(n, len(shared)),
            "score_pos": torch.tensor(score_pos),
            "score_tok": torch.tensor([flat] * n),
            "score_choice": torch.tensor([owner] * n),
            "score_weight": torch.tensor([weight] * n),
            "real_tokens": real.sum(1) + len(shared),
            "labels": torch.tensor([f["labels"] for f in features]),
        }


_LAST_PREFIX: list[Any] = [None]  # (model weakref, key, key/value cache): the last prefix


def _prefix_cache(model: torch.nn.Module, prefix: torch.Tensor) -> Any:
    """The key/value cache of ``prefix`` (1-D ids), computed once for every batch of an
    evaluation: reused while the model (the same object), its mode and its weights are the
    same (every in-place update, as an optimizer step, bumps a parameter's version counter).
    The entry is replaced whole, so concurrent callers never mix two entries' parts."""
    if model.training or torch.is_grad_enabled():  # training: dropout, gradients
        return model(input_ids=prefix[None], use_cache=True).past_key_values
    key = (tuple(q._version for q in model.parameters()), prefix.device, tuple(prefix.tolist()))
    entry = _LAST_PREFIX[0]
    if entry is None or entry[0]() is not model or entry[1] != key:
        _LAST_PREFIX[0] = None  # free the old cache before computing the new one
        cache = model(input_ids=prefix[None], use_cache=True).past_key_values
        entry = _LAST_PREFIX[0] = (weakref.ref(model), key, cache)
    return copy.deepcopy(entry[2])  # the caller grows its copy in place


def verbalizer_scores(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """(batch, labels): each verbaliser's token log-probs after the prompt, weighted by
    ``score_weight`` (1: their sum; 1 / length: their mean) and summed. A shared prefix runs
    once and every row continues from its key/value cache; logits are computed only where a
    verbaliser token is predicted."""
    n, p = batch["prefix_ids"].shape
    mask, extra = batch["attention_mask"], {}
    if p:
        cache = _prefix_cache(model, batch["prefix_ids"][0])
        cache.batch_repeat_interleave(n)
        mask = torch.cat([mask.new_ones(*mask.shape[:3], p), mask], dim=-1)
        extra = {"past_key_values": cache, "use_cache": True}
    logits = model(
        input_ids=batch["input_ids"],
        attention_mask=mask,
        position_ids=batch["position_ids"] + p,
        logits_to_keep=batch["score_pos"],
        **extra,
    ).logits.float()  # (batch, verbaliser tokens, vocab)
    token_lp = logits.gather(-1, batch["score_tok"][..., None])[..., 0] - logits.logsumexp(-1)
    n_labels = int(batch["score_choice"].max()) + 1
    scores = token_lp.new_zeros(token_lp.shape[0], n_labels)
    return scores.scatter_add(1, batch["score_choice"], token_lp * batch["score_weight"])


# --------------------------------------------------------------------------- the task


@register
class LmClassification(Classification):
    name = "lm_classification"
    config_cls = LmClassificationOptions
    peft_task_type = "CAUSAL_LM"
    default_metric = "accuracy"
    one_label_per_example = True
    builds_attention_mask = True

    # ------------------------------------------------------------------ data
    @staticmethod
    def _verbalizers(recipe: Recipe, labels: list[str]) -> list[str]:
        given = recipe.task.verbalizers or {}
        unknown = sorted(set(given) - set(labels))
        if unknown:
            raise RecipeError(recipe.source, "task.verbalizers",
                              f"{unknown} are not labels of train ({', '.join(labels)})")
        return [given.get(lab, lab) for lab in labels]

    @staticmethod
    def _choices(tokenizer: Any, state: dict, separator: str) -> list[list[int]]:
        out = []
        for label, phrase in zip(state["labels"], state["verbalizers"]):
            ids = list(tokenizer(separator + phrase, add_special_tokens=False)["input_ids"])
            if not ids:
                raise DataError("task.verbalizers", f"the verbaliser of {label!r} has no tokens")
            out.append(ids)
        if len({tuple(c) for c in out}) < len(out):
            raise DataError("task.verbalizers", "two labels have the same verbaliser tokens")
        return out

    @staticmethod
    def _prefix(cfg: LmClassificationOptions, demos: list[dict[str, str]]) -> str:
        """The instruction and the demonstrations: everything before the query's template."""
        return cfg.instruction + "".join(
            cfg.template.format(text=d["text"]) + cfg.separator + d["verbalizer"]
            + cfg.demonstration_separator
            for d in demos
        )

    def _known(self, rows: list[Row], spec: str, recipe: Recipe, labels: list[str],
               counts: dict) -> tuple[list[Row], list[int]]:
        """Rows with a train label and their label ids; another label is an error naming file
        and line, or skipped and counted (``data.on_bad_row: skip``), as in classification."""
        index = {lab: i for i, lab in enumerate(labels)}
        kept, ids = [], []
        for row in rows:
            lab = self._label(row, recipe.task.label_column)
            if lab in index:
                kept.append(row)
                ids.append(index[lab])
            elif recipe.data.on_bad_row == "skip":
                counts["skipped_unknown_label"] = counts.get("skipped_unknown_label", 0) + 1
            else:
                raise DataError(spec, f"label {lab!r} never appears in train (train has "
                                f"{len(labels)} labels); fix the row or set data.on_bad_row=skip",
                                line=row.line)
        if not kept:
            raise DataError(spec, "no usable rows left")
        return kept, ids

    def _encode_rows(self, rows: list[Row], spec: str, recipe: Recipe, tokenizer: Any,
                     state: dict, counts: dict, *, train_demos: tuple | None = None) -> Dataset:
        """Prompt ids per row (demonstrations + template); ``train_demos`` = (chosen, reserves,
        labels) when ``rows`` are the train split itself (a row never demonstrates itself)."""
        cfg = recipe.task
        kept, label_ids = self._known(rows, spec, recipe, state["labels"], counts)
        demos = state["demonstrations"]
        prefixes, queries = [], []
        for i, row in enumerate(kept):
            shown = demos
            if train_demos is not None:
                chosen, reserves, labels = train_demos
                order = demonstrations_for(i, chosen, reserves, labels)
                shown = [{"text": kept[j].values[cfg.text_column],
                          "verbalizer": state["verbalizers"][state["labels"].index(labels[j])]}
                         for j in order]
            prefixes.append(self._prefix(cfg, shown))
            queries.append(cfg.template.format(text=row.values[cfg.text_column]))
        prefix_ids, query_ids = self._tokenize(tokenizer, prefixes, queries, cfg.max_length, counts)
        choices = self._choices(tokenizer, state, cfg.separator)
        return Dataset.from_dict({
            "input_ids": query_ids, "prefix": prefix_ids, "labels": label_ids,
            "choices": [choices] * len(kept), "mean_score": [cfg.score == "mean"] * len(kept),
        })

    @staticmethod
    def _tokenize(tokenizer: Any, prefixes: list[str], queries: list[str], max_length: int,
                  counts: dict) -> tuple[list[list[int]], list[list[int]]]:
        """(prefix ids, query ids) per row; the tokenizer's special tokens (a BOS) open the
        prefix, or the query when there is no prefix. A prompt over ``max_length`` tokens
        loses its first ones: the prefix's, then the query's."""
        cache: dict[str, list[int]] = {}
        for text in set(prefixes):
            cache[text] = list(tokenizer(text)["input_ids"]) if text else []
        pre = [cache[t] for t in prefixes]
        plain = tokenizer(queries, add_special_tokens=False)["input_ids"]
        special = tokenizer(queries)["input_ids"]
        query = [list(q if p else s) for p, q, s in zip(pre, plain, special)]
        for i, (p, q) in enumerate(zip(pre, query)):
            cut = len(p) + len(q) - max_length
            if cut > 0:
                counts["truncated_prompts"] = counts.get("truncated_prompts", 0) + 1
                pre[i], query[i] = p[cut:], q[max(0, cut - len(p)):]
        return pre, query

    def prepare(self, recipe: Recipe, tokenizer: Any) -> Prepared:
        cfg = recipe.task
        splits, specs, counts, labels = self._read_splits(recipe)
        if len(labels) < 2:
            raise DataError(specs["train"], f"need at least 2 labels in train, found {labels}")
        phrases = self._verbalizers(recipe, labels)
        state: dict[str, Any] = {"labels": labels, "verbalizers": phrases, "demonstrations": []}
        train_rows = [r for r in splits["train"] if self._label(r, cfg.label_column) in labels]
        train_labels = [self._label(r, cfg.label_column) for r in train_rows]
        chosen, reserves = pick_demonstrations(train_labels, cfg.demonstrations, recipe.train.seed)
        state["demonstrations"] = [
            {"text": train_rows[i].values[cfg.text_column],
             "verbalizer": phrases[labels.index(train_labels[i])]}
            for i in chosen
        ]
        datasets = {}
        for split, rows in splits.items():
            own = (chosen, reserves, train_labels) if split == "train" else None
            datasets[split] = self._encode_rows(
                train_rows if split == "train" else rows, specs[split], recipe, tokenizer,
                state, counts, train_demos=own,
            )
        notes = describe_counts(counts, cfg.max_length)
        if counts.get("truncated_prompts"):
            cut = ("their instruction / first demonstrations cut, and no prefix cache shared"
                   if cfg.instruction or cfg.demonstrations else "their start cut")
            notes.append(f"{counts['truncated_prompts']} prompts longer than task.max_length="
                         f"{cfg.max_length} kept their last {cfg.max_length} tokens ({cut}): "
                         "raise task.max_length")
        if cfg.demonstrations:
            notes.append(f"{len(chosen)} demonstrations (up to {cfg.demonstrations} per class) "
                         "before every prompt")
        return Prepared.from_splits(datasets, state, counts, notes)

    def _encode_file(self, rows, spec, recipe, tokenizer, state, counts) -> Dataset:
        return self._encode_rows(rows, spec, recipe, tokenizer, state, counts)

    # ------------------------------------------------------------------ model
    def build_model(self, path, recipe, state):
        from transformers import AutoModelForCausalLM

        from ..backbones import load_model

        # SDPA takes the custom 4D mask as it is (flash attention would not).
        model = load_model(AutoModelForCausalLM, path, recipe.model, attn_implementation="sdpa")
        if model.config.pad_token_id is None:
            model.config.pad_token_id = model.config.eos_token_id
        model.config.use_cache = False
        return model

    def head_modules(self, model):
        return []  # the LM head is the backbone's own

    def collator(self, tokenizer, pad_to_multiple_of=None):
        pad = tokenizer.pad_token_id
        return ChoiceCollator(
            pad if pad is not None else (tokenizer.eos_token_id or 0), pad_to_multiple_of
        )

    def tokens_in(self, batch):
        return int(batch["real_tokens"].sum())

    # ------------------------------------------------------------------ train / eval
    def loss(self, model, batch):
        scores = verbalizer_scores(model, batch)
        return torch.nn.functional.cross_entropy(scores, batch["labels"])

    def eval_step(self, model, batch):
        scores = verbalizer_scores(model, batch)
        loss = torch.nn.functional.cross_entropy(scores, batch["labels"])
        return {"loss": loss, "preds": scores.argmax(-1), "refs": batch["labels"]}

    def predict(self, model, tokenizer, texts, recipe, state):
        cfg = recipe.task
        prefix = self._prefix(cfg, state["demonstrations"])
        choices = self._choices(tokenizer, state, cfg.separator)
        collate = self.collator(tokenizer)
        device = next(model.parameters()).device
        out: list[dict[str, Any]] = []
        for start in range(0, len(texts), 16):
            chunk = texts[start : start + 16]
            pre, query = self._tokenize(
                tokenizer, [prefix] * len(chunk), [cfg.template.format(text=t) for t in chunk],
                cfg.max_length, {},
            )
            batch = collate([
                {"input_ids": q, "prefix": p, "choices": choices, "labels": 0,
                 "mean_score": cfg.score == "mean"} for p, q in zip(pre, query)
            ])
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.no_grad():
                probs = verbalizer_scores(model, batch).softmax(-1)
            score, idx = probs.max(-1)
            for text, s, i in zip(chunk, score.tolist(), idx.tolist()):
                out.append({"text": text, "label": state["labels"][i], "score": round(s, 6)})
        return out
