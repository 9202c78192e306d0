"""Dialogue: instruction-tune a causal LM on chat conversations (hotline agents, FAQ assistants).

Data: a ``messages`` column holding a list of ``{"role", "content"}`` turns (roles ``system``,
``user``, ``assistant``; jsonl), or a prompt column and a response column (``prompt_column`` /
``response_column``; jsonl, csv or tsv) made into a user turn and an assistant turn.
``system_prompt`` is put first in every conversation that has no system message of its own. A
row with no messages, an empty turn, an unknown role or no assistant turn is an error naming
file and line (or is skipped and counted when ``data.on_bad_row`` is ``skip``).

Tokenisation: each conversation is rendered with the backbone's chat template
(``tokenizer.apply_chat_template``); a tokenizer without one gets :data:`FALLBACK_TEMPLATE`
(``### System:`` / ``### User:`` / ``### Assistant:`` blocks, the assistant's text followed by
the EOS token). Only assistant turns are learnt: the labels are the input ids on each assistant
message's text and on the end-of-turn token right after it, and -100 on everything else
(system and user turns, template scaffolding such as ``<|im_start|>assistant``, padding). The
assistant text is located by rendering the conversation up to each assistant message (with the
generation prompt) and finding the message in the full rendering after that prefix, then mapped
to tokens through the fast tokenizer's offsets, so it works with any template, with or without
``{% generation %}`` markers. A sequence longer than ``max_length`` is cut at the end (counted);
one left with no assistant token is dropped (counted).

``packing: true`` concatenates whole training examples into sequences of at most ``max_length``
tokens, with ``position_ids`` restarting at each example and no attention mask: transformers
then builds a block-diagonal causal mask, so packed examples do not attend to each other (for
models using transformers' mask utilities, e.g. Llama / SmolLM2; prompt-learning methods drop
position ids, and there packed examples see the ones before them). Validation and test are
never packed.

Metrics: ``loss`` (the default; lower is better), ``perplexity`` = exp(mean NLL per assistant
token) and ``token_accuracy`` (greedy next-token accuracy on assistant tokens). After training,
:meth:`Dialogue.final_metrics` generates greedy replies for up to ``generation_samples``
held-out conversations (the test split, else validation) and scores them with ROUGE-L
(English) or character F1 (Chinese): ``metrics.json`` -> ``generation``.
"""

from __future__ import annotations

import random
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import torch
from datasets import Dataset

from ..config import Recipe, TaskConfig, _require
from ..data import arrange_splits, read_rows, subsample
from ..errors import DataError, PeftgovError
from ..metrics.generation import generation_metrics
from .base import Prepared, Task, describe_counts, padded_width
from .registry import register

ROLES = ("system", "user", "assistant")

FALLBACK_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}### System:\n{{ message['content'] }}\n\n"
    "{% elif message['role'] == 'user' %}### User:\n{{ message['content'] }}\n\n"
    "{% else %}### Assistant:\n{{ message['content'] }}"
    "{% if eos_token %}{{ eos_token }}{% endif %}\n\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}### Assistant:\n{% endif %}"
)
"""Chat template for backbones whose tokenizer has none (plain causal LMs)."""


@dataclass(frozen=True)
class DialogueOptions(TaskConfig):
    name: str = "dialogue"
    max_length: int = 512
    messages_column: str = "messages"
    """Column with the conversation: a list of ``{"role", "content"}`` messages."""
    prompt_column: str | None = None
    """Instead of messages: the user's text (set together with ``response_column``)."""
    response_column: str | None = None
    """Instead of messages: the assistant's reply to learn."""
    system_prompt: str | None = None
    """System message put first in every conversation that has none (prompt/response rows
    have none); predictions use the most common system message of train."""
    packing: bool = False
    """Pack whole training examples into sequences of up to ``max_length`` tokens."""
    max_new_tokens: int = 96
    """Longest generated reply (prediction, chat and the generation metric)."""
    generation_samples: int = 32
    """Held-out conversations to generate replies for after training (0 = none)."""

    def __post_init__(self) -> None:
        _require(self.max_length > 0, "max_length", "must be positive")
        _require(bool(self.messages_column), "messages_column", "must not be empty")
        _require(
            (self.prompt_column is None) == (self.response_column is None),
            "response_column" if self.prompt_column else "prompt_column",
            "prompt_column and response_column go together (or use messages_column)",
        )
        _require(self.max_new_tokens > 0, "max_new_tokens", "must be positive")
        _require(self.generation_samples >= 0, "generation_samples", "must be >= 0")


@dataclass(frozen=True)
class Conversation:
    line: int
    messages: list[dict[str, str]]
    lang: str | None


# --------------------------------------------------------------------------- chat template


def ensure_chat_template(tokenizer: Any) -> str:
    """Give a tokenizer without a chat template :data:`FALLBACK_TEMPLATE`; say which is used.
    A backbone whose tokenizer starts every text with its BOS token (Gemma, Llama) was trained
    that way, so its fallback rendering starts with it too, as the models' own templates do
    (conversations are tokenised without special tokens added)."""
    if getattr(tokenizer, "chat_template", None):
        return "backbone"
    bos = tokenizer.bos_token_id
    adds_bos = bos is not None and list(tokenizer("x")["input_ids"][:1]) == [bos]
    tokenizer.chat_template = ("{{ bos_token }}" if adds_bos else "") + FALLBACK_TEMPLATE
    return "fallback"


def render(tokenizer: Any, messages: list[dict], *, add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def assistant_spans(tokenizer: Any, messages: list[dict]) -> tuple[str, list[tuple[int, int, int]]]:
    """The rendered conversation and, per assistant message, character offsets
    ``(text_start, text_end, turn_end)``: the message's text, and the end of its whole turn
    (its end-of-turn marker included)."""
    full = render(tokenizer, messages)
    spans: list[tuple[int, int, int]] = []
    cursor = 0
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        start = cursor
        try:
            before = render(tokenizer, messages[:i], add_generation_prompt=True)
            if full.startswith(before) and len(before) >= cursor:
                start = len(before)
        except Exception:  # noqa: BLE001 - some templates refuse a prefix; search from cursor
            pass
        text = message["content"].strip()
        text_start = full.find(text, start)
        if text_start < 0:
            raise PeftgovError(
                "the chat template does not reproduce an assistant message verbatim, so its "
                f"tokens cannot be found: {text[:60]!r}"
            )
        text_end = text_start + len(text)
        turn_end = text_end
        try:
            after = render(tokenizer, messages[: i + 1])
            if full.startswith(after) and len(after) > text_end:
                turn_end = len(after)
        except Exception:  # noqa: BLE001
            pass
        spans.append((text_start, text_end, turn_end))
        cursor = text_end
    return full, spans


def encode_conversation(
    tokenizer: Any, messages: list[dict], *, use_offsets: bool | None = None
) -> tuple[list[int], list[int], int | None]:
    """``(input_ids, labels, end_of_turn_id)``: labels are the ids on assistant text and the
    token right after it (end of turn), -100 elsewhere. ``end_of_turn_id`` is that token's id
    for the first assistant turn (None when the template adds nothing after the text).

    With a fast tokenizer the whole rendering is tokenised once and labelled through character
    offsets; otherwise (or with ``use_offsets=False``) the rendering is tokenised in pieces cut
    at the assistant spans."""
    full, spans = assistant_spans(tokenizer, messages)
    if use_offsets is None:
        use_offsets = bool(getattr(tokenizer, "is_fast", False))
    eot: int | None = None
    if use_offsets:
        enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = list(enc["input_ids"]), enc["offset_mapping"]
        labels = [-100] * len(ids)
        j = 0
        for text_start, text_end, turn_end in spans:
            while j < len(ids) and offsets[j][1] <= text_start:
                j += 1
            while j < len(ids) and offsets[j][0] < text_end:
                labels[j] = ids[j]
                j += 1
            if j < len(ids) and offsets[j][0] < turn_end:  # the end-of-turn token
                labels[j] = ids[j]
                eot = ids[j] if eot is None else eot
                j += 1
        return ids, labels, eot
    ids, labels, pos = [], [], 0

    def piece(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

    for text_start, text_end, turn_end in spans:
        before, said, rest = piece(full[pos:text_start]), piece(full[text_start:text_end]), piece(
            full[text_end:turn_end]
        )
        ids += before + said + rest
        labels += [-100] * len(before) + said + rest[:1] + [-100] * max(0, len(rest) - 1)
        if rest and eot is None:
            eot = rest[0]
        pos = turn_end
    tail = piece(full[pos:])
    return ids + tail, labels + [-100] * len(tail), eot


# Not DataCollatorWithFlattening: it flattens each batch into one uncapped row when collating.
def pack(examples: list[tuple[list[int], list[int]]], max_length: int) -> list[dict[str, list]]:
    """Greedily concatenate whole examples (in the given order) into sequences of at most
    ``max_length`` tokens; ``position_ids`` restart at 0 for each example."""
    packs: list[dict[str, list]] = []
    cur: dict[str, list] = {"input_ids": [], "labels": [], "position_ids": []}
    for ids, labels in examples:
        if cur["input_ids"] and len(cur["input_ids"]) + len(ids) > max_length:
            packs.append(cur)
            cur = {"input_ids": [], "labels": [], "position_ids": []}
        cur["input_ids"] += ids
        cur["labels"] += labels
        cur["position_ids"] += list(range(len(ids)))
    if cur["input_ids"]:
        packs.append(cur)
    return packs


# Not DataCollatorForSeq2Seq: it pads on tokenizer.padding_side and cannot pad position_ids.
class DialogueCollator:
    """Right-pads ``input_ids`` with the pad id, ``labels`` with -100 and ``attention_mask``
    with 0. Packed examples (with ``position_ids``) get no attention mask, and their padding
    continues the last example's positions: right padding is never attended by real tokens
    of a causal LM."""

    def __init__(self, pad_token_id: int, pad_to_multiple_of: int | None = None) -> None:
        self.pad, self.multiple = pad_token_id, pad_to_multiple_of

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = padded_width((len(f["input_ids"]) for f in features), self.multiple)
        packed = "position_ids" in features[0]
        out: dict[str, list] = {"input_ids": [], "labels": []}
        out["position_ids" if packed else "attention_mask"] = []
        for f in features:
            n, gap = len(f["input_ids"]), width - len(f["input_ids"])
            out["input_ids"].append(list(f["input_ids"]) + [self.pad] * gap)
            out["labels"].append(list(f["labels"]) + [-100] * gap)
            if packed:
                last = f["position_ids"][-1] if n else -1
                tail = range(last + 1, last + 1 + gap)
                out["position_ids"].append(list(f["position_ids"]) + list(tail))
            else:
                out["attention_mask"].append([1] * n + [0] * gap)
        return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}


# --------------------------------------------------------------------------- the task


@register
class Dialogue(Task):
    name = "dialogue"
    config_cls = DialogueOptions
    peft_task_type = "CAUSAL_LM"
    default_metric = "loss"
    greater_is_better = False
    can_chat = True

    # ------------------------------------------------------------------ data
    @staticmethod
    def _messages(values: dict, cfg: DialogueOptions) -> tuple[list[dict] | None, str | None]:
        """The conversation of a row, or ``(None, problem)``."""
        if cfg.prompt_column:
            prompt, response = values.get(cfg.prompt_column), values.get(cfg.response_column)
            if not isinstance(prompt, str) or not prompt.strip():
                return None, f"missing or empty prompt in column {cfg.prompt_column!r}"
            if not isinstance(response, str) or not response.strip():
                return None, f"missing or empty response in column {cfg.response_column!r}"
            messages = [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": response},
            ]
        else:
            col = cfg.messages_column
            raw = values.get(col)
            if not isinstance(raw, list) or not raw:
                return None, (
                    f"missing or empty {col!r}: expected a list of "
                    '{"role": "system|user|assistant", "content": "..."} messages'
                )
            messages = []
            for i, m in enumerate(raw, start=1):
                role = m.get("role") if isinstance(m, dict) else None
                if role not in ROLES:
                    return None, f"message {i} of {col!r}: role must be one of {', '.join(ROLES)}"
                content = m.get("content")
                if not isinstance(content, str) or not content.strip():
                    return None, f"message {i} of {col!r} ({role}) has missing or empty content"
                messages.append({"role": role, "content": content})
            if not any(m["role"] == "assistant" for m in messages):
                return None, f"no assistant message in {col!r}: nothing to learn"
        if cfg.system_prompt and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": cfg.system_prompt})
        return messages, None

    def _read(self, spec: str, recipe: Recipe, counts: dict) -> list[Conversation]:
        cfg, skip = recipe.task, recipe.data.on_bad_row == "skip"
        out = []
        prose = {"content"} | {c for c in (cfg.prompt_column, cfg.response_column) if c}
        for row in read_rows(spec, recipe.data.format, text_keys=prose):
            messages, problem = self._messages(row.values, cfg)
            if problem:
                if skip:
                    counts["skipped_bad_rows"] = counts.get("skipped_bad_rows", 0) + 1
                    continue
                raise DataError(spec, problem, line=row.line)
            lang = row.values.get("lang")
            out.append(Conversation(row.line, messages, lang if isinstance(lang, str) else None))
        if not out:
            raise DataError(spec, "no usable rows")
        return out

    def _read_splits(self, recipe: Recipe) -> tuple[dict[str, list[Conversation]], dict, dict]:
        d, seed = recipe.data, recipe.train.seed
        counts: dict[str, int] = {}
        specs = {"train": d.train, "validation": d.validation, "test": d.test}
        splits = {split: self._read(spec, recipe, counts) for split, spec in specs.items() if spec}
        arrange_splits(splits, specs, d, seed)
        return splits, specs, counts

    def _encode(
        self, convs: list[Conversation], spec: str, recipe: Recipe, tokenizer, counts: dict,
        eots: Counter | None = None,
    ) -> list[tuple[list[int], list[int]]]:
        max_length = recipe.task.max_length
        out = []
        for conv in convs:
            try:
                ids, labels, eot = encode_conversation(tokenizer, conv.messages)
            except PeftgovError as exc:
                raise DataError(spec, str(exc), line=conv.line) from None
            if eots is not None and eot is not None:
                eots[eot] += 1
            if len(ids) > max_length:
                counts["truncated_sequences"] = counts.get("truncated_sequences", 0) + 1
                ids, labels = ids[:max_length], labels[:max_length]
            if all(x == -100 for x in labels[1:]):  # nothing left to predict
                counts["skipped_too_long"] = counts.get("skipped_too_long", 0) + 1
                continue
            out.append((ids, labels))
        if not out:
            raise DataError(
                spec, f"no example keeps an assistant token within task.max_length={max_length}"
            )
        return out

    @staticmethod
    def _dataset(examples: list[tuple[list[int], list[int]]]) -> Dataset:
        return Dataset.from_dict(
            {
                "input_ids": [ids for ids, _ in examples],
                "attention_mask": [[1] * len(ids) for ids, _ in examples],
                "labels": [labels for _, labels in examples],
            }
        )

    @staticmethod
    def _notes(counts: dict, cfg: DialogueOptions) -> list[str]:
        notes = describe_counts(counts, cfg.max_length)
        if counts.get("skipped_too_long"):
            notes.append(
                f"{counts['skipped_too_long']} examples dropped: no assistant token left within "
                f"task.max_length={cfg.max_length}"
            )
        if counts.get("packed_sequences"):
            notes.append(
                f"packed {counts['train_examples']} training examples into "
                f"{counts['packed_sequences']} sequences of at most {cfg.max_length} tokens"
            )
        return notes

    def prepare(self, recipe: Recipe, tokenizer: Any) -> Prepared:
        cfg = recipe.task
        template = ensure_chat_template(tokenizer)
        splits, specs, counts = self._read_splits(recipe)
        eots: Counter = Counter()
        encoded = {
            split: self._encode(convs, specs[split], recipe, tokenizer, counts, eots)
            for split, convs in splits.items()
        }
        datasets = {split: self._dataset(ex) for split, ex in encoded.items()}
        if cfg.packing:
            train = list(encoded["train"])
            random.Random(recipe.train.seed).shuffle(train)
            packs = pack(train, cfg.max_length)
            counts["train_examples"] = len(train)
            counts["packed_sequences"] = len(packs)
            datasets["train"] = Dataset.from_list(packs)
        systems = Counter(
            c.messages[0]["content"] for c in splits["train"] if c.messages[0]["role"] == "system"
        )
        state = {
            "system_prompt": systems.most_common(1)[0][0] if systems else cfg.system_prompt,
            "end_of_turn_id": eots.most_common(1)[0][0] if eots else None,
            "chat_template": template,
        }
        return Prepared.from_splits(datasets, state, counts, self._notes(counts, cfg))

    def prepare_file(self, spec, recipe, tokenizer, state) -> Dataset:
        ensure_chat_template(tokenizer)
        counts: dict[str, int] = {}
        convs = self._read(spec, recipe, counts)
        return self._dataset(self._encode(convs, spec, recipe, tokenizer, counts))

    # ------------------------------------------------------------------ model
    def build_model(self, path, recipe, state):
        from transformers import AutoModelForCausalLM

        from ..backbones import load_model

        model = load_model(AutoModelForCausalLM, path, recipe.model)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = model.config.eos_token_id
        # No KV cache in forward passes: training and evaluation never reuse it, and with a cache
        # transformers ignores packed position_ids (no block-diagonal mask). generate() turns
        # it back on through its GenerationConfig.
        model.config.use_cache = False
        return model

    def head_modules(self, model):
        # No new head: the LM head is the backbone's own (tied to the embeddings in SmolLM2).
        return []

    def collator(self, tokenizer, pad_to_multiple_of=None):
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        return DialogueCollator(pad, pad_to_multiple_of)

    def tokens_in(self, batch):
        if "attention_mask" in batch:
            return int(batch["attention_mask"].sum())
        return int(batch["input_ids"].numel())  # packed: padding counted (packs are ~full)

    # ------------------------------------------------------------------ eval
    def eval_step(self, model, batch):
        """Loss plus, per example, ``preds = [summed NLL, correct next tokens]`` and
        ``refs = number of assistant tokens`` (for perplexity and token accuracy)."""
        labels = batch["labels"]
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = model(**inputs).logits
        targets = labels[:, 1:]
        nll_rows, correct_rows = [], []
        for row_logits, row_targets in zip(logits[:, :-1], targets):  # one row at a time: memory
            mask = row_targets != -100
            row_logits = row_logits[mask].float()
            row_targets = row_targets[mask]
            nll_rows.append(
                torch.nn.functional.cross_entropy(row_logits, row_targets, reduction="sum")
                if row_targets.numel()
                else row_logits.new_zeros(())
            )
            correct_rows.append((row_logits.argmax(-1) == row_targets).sum().float())
        nll = torch.stack(nll_rows)
        correct = torch.stack(correct_rows).to(nll.device)
        count = (targets != -100).sum(1)
        loss = nll.sum() / count.sum().clamp(min=1)
        return {"loss": loss, "preds": torch.stack([nll, correct], 1), "refs": count}

    def compute_metrics(self, preds, refs, state):
        import math

        tokens = sum(refs)
        nll = sum(p[0] for p in preds)
        correct = sum(p[1] for p in preds)
        mean = nll / tokens if tokens else float("nan")
        return {
            "perplexity": math.exp(min(mean, 50.0)) if tokens else float("nan"),
            "token_accuracy": correct / tokens if tokens else 0.0,
            "label_tokens": int(tokens),
            "n": len(refs),
        }

    # ------------------------------------------------------------------ generation
    def generate(
        self, model, tokenizer, conversations: list[list[dict]], recipe: Recipe, state: dict,
        *, batch_size: int = 8,
    ) -> list[str]:
        """Greedy replies (up to ``max_new_tokens``) to conversations ending with a user turn."""
        from transformers import GenerationConfig

        ensure_chat_template(tokenizer)
        prompts = [
            list(tokenizer(render(tokenizer, c, add_generation_prompt=True),
                           add_special_tokens=False)["input_ids"])
            for c in conversations
        ]
        pad = self.collator(tokenizer).pad
        stop = [t for t in (state.get("end_of_turn_id"), tokenizer.eos_token_id) if t is not None]
        stop = list(dict.fromkeys(stop))
        config = GenerationConfig(
            max_new_tokens=recipe.task.max_new_tokens,
            do_sample=False,
            num_beams=1,
            use_cache=True,
            eos_token_id=stop or None,
            pad_token_id=pad,
        )
        device = next(model.parameters()).device
        replies: list[str] = [""] * len(prompts)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        was_training = model.training
        model.eval()
        try:
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                width = max(len(prompts[i]) for i in chunk)
                ids = torch.tensor(
                    [[pad] * (width - len(prompts[i])) + prompts[i] for i in chunk], device=device
                )
                mask = torch.tensor(
                    [[0] * (width - len(prompts[i])) + [1] * len(prompts[i]) for i in chunk],
                    device=device,
                )
                with torch.no_grad(), warnings.catch_warnings():
                    # peft's prompt learning drops generate()'s position ids, and says so
                    warnings.filterwarnings("ignore", "Position ids are not supported")
                    out = model.generate(
                        input_ids=ids, attention_mask=mask, generation_config=config
                    )
                if out.shape[1] >= width and torch.equal(out[:, :width], ids):
                    out = out[:, width:]  # drop the prompt (absent when generated from embeddings)
                for i, row in zip(chunk, out.tolist()):
                    for j, tok in enumerate(row):
                        if tok in stop:
                            row = row[:j]
                            break
                    replies[i] = tokenizer.decode(row, skip_special_tokens=True).strip()
        finally:
            model.train(was_training)
        return replies

    def _with_system(self, messages: list[dict], state: dict) -> list[dict]:
        system = state.get("system_prompt")
        if system and (not messages or messages[0]["role"] != "system"):
            return [{"role": "system", "content": system}, *messages]
        return list(messages)

    def predict(self, model, tokenizer, texts, recipe, state):
        convs = [self._with_system([{"role": "user", "content": t}], state) for t in texts]
        replies = self.generate(model, tokenizer, convs, recipe, state)
        return [{"text": t, "reply": r} for t, r in zip(texts, replies)]

    def reply(self, model, tokenizer, history: list[dict], recipe: Recipe, state: dict) -> str:
        """The next assistant turn after ``history`` (user / assistant messages, ending with a
        user turn); the oldest turns are dropped while the prompt exceeds ``max_length``."""
        ensure_chat_template(tokenizer)
        history = list(history)
        while len(history) > 1:
            conv = self._with_system(history, state)
            text = render(tokenizer, conv, add_generation_prompt=True)
            length = len(tokenizer(text, add_special_tokens=False)["input_ids"])
            if length <= recipe.task.max_length:
                break
            history = history[2:] if len(history) > 2 else history[1:]
        conv = self._with_system(history, state)
        return self.generate(model, tokenizer, [conv], recipe, state)[0]

    def final_metrics(self, model, tokenizer, recipe, state, split_file):
        """Greedy replies for up to ``generation_samples`` conversations of ``split_file``
        (each cut before its last assistant turn), scored against that turn."""
        cfg = recipe.task
        if not split_file or cfg.generation_samples == 0:
            return {}
        convs = self._read(split_file, recipe, {})
        convs = subsample(convs, recipe.data.max_eval_samples, recipe.train.seed)
        convs = subsample(convs, cfg.generation_samples, recipe.train.seed)
        prompts, refs, langs, questions = [], [], [], []
        for c in convs:
            last = max(i for i, m in enumerate(c.messages) if m["role"] == "assistant")
            prompts.append(c.messages[:last])
            refs.append(c.messages[last]["content"])
            langs.append(c.lang)
            users = [m["content"] for m in c.messages[:last] if m["role"] == "user"]
            questions.append(users[-1] if users else "")
        replies = self.generate(model, tokenizer, prompts, recipe, state)
        scores = generation_metrics(replies, refs, langs)
        samples = [
            {"question": q, "reference": r, "reply": p}
            for q, r, p in list(zip(questions, refs, replies))[:3]
        ]
        return {
            "generation": {
                **scores,
                "data": split_file,
                "max_new_tokens": cfg.max_new_tokens,
                "samples": samples,
            }
        }


__all__ = [
    "FALLBACK_TEMPLATE",
    "Dialogue",
    "DialogueCollator",
    "DialogueOptions",
    "assistant_spans",
    "encode_conversation",
    "ensure_chat_template",
    "pack",
]
