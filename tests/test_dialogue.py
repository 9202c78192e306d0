"""The dialogue task (peftgov.tasks.dialogue) and generation metrics, on a tiny Llama with a
WordLevel tokenizer carrying a ChatML-style chat template: assistant-only loss masks (chat
template, fallback template, multi-turn, prompt/response rows, packing), bad rows, the collator,
eval metrics, a LoRA and a prompt-tuning run through ``peftgov.train``, reload + predict, chat,
and ROUGE-L / character F1 against hand-computed values."""

from __future__ import annotations

import io
import json
import math
import random
from pathlib import Path

import pytest
import torch
from conftest import save_tiny_llama

import peftgov
from peftgov.errors import DataError, RecipeError
from peftgov.metrics.generation import (
    char_f1,
    generation_metrics,
    is_cjk_text,
    lcs_length,
    rouge_l,
    words,
)
from peftgov.runs import load_run
from peftgov.tasks import get_task
from peftgov.tasks.dialogue import (
    FALLBACK_TEMPLATE,
    DialogueCollator,
    encode_conversation,
    ensure_chat_template,
    pack,
)

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
SYSTEM = "you are a hotline agent ."
OFFICES = {
    "tax": "tax office",
    "water": "water company",
    "road": "road bureau",
    "school": "education bureau",
    "pension": "pension center",
}
QUESTIONS = [
    "where do i pay {t}",
    "who handles my {t} problem",
    "how do i report a {t} issue",
    "i need help with {t}",
]
EXTRA = "system user assistant ### : thanks and what is the fee it free".split()


def answer(topic: str) -> str:
    return f"please contact the {OFFICES[topic]} with your id card ."


def dialogue_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic = list(OFFICES)[i % len(OFFICES)]
        question = rng.choice(QUESTIONS).format(t=topic) + " ?"
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer(topic)},
                ],
                "lang": "en",
            }
        )
    return rows


def vocabulary() -> list[str]:
    text = " ".join([SYSTEM, *QUESTIONS, *OFFICES, *(answer(t) for t in OFFICES), *EXTRA])
    words_ = {w for w in text.replace("{t}", " ").split()} | {"?", "."}
    return SPECIALS + sorted(words_)


def make_tokenizer(template: str | None = CHATML):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(vocabulary())}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.WordPiece(cleanup=False)  # joins words with spaces
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
    )
    tok.chat_template = template
    return tok


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)



@pytest.fixture(scope="module")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A tiny random LlamaForCausalLM (tied embeddings, like SmolLM2) plus the tokenizer."""
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), make_tokenizer())


@pytest.fixture(scope="module")
def dialogue_data(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("dialogue-data")
    return {
        "train": write_jsonl(out / "train.jsonl", dialogue_rows(40, seed=1)),
        "validation": write_jsonl(out / "validation.jsonl", dialogue_rows(10, seed=2)),
        "test": write_jsonl(out / "test.jsonl", dialogue_rows(10, seed=3)),
    }


def make_recipe(model_dir, data, out_dir, **sections) -> dict:
    recipe = {
        "model": {"name": str(model_dir)},
        "data": {"name": "toy-dialogue", **data},
        "task": {"name": "dialogue", "max_length": 64, "max_new_tokens": 12,
                 "generation_samples": 5},
        "method": {"name": "lora", "r": 8, "alpha": 16, "dropout": 0.0,
                   "target_modules": "all-linear"},
        "train": {"seed": 0, "epochs": 8, "batch_size": 8, "eval_batch_size": 16, "lr": 2e-2,
                  "warmup_ratio": 0.0, "log_every": 1},
        "output": {"dir": str(out_dir)},
    }
    for key, value in sections.items():  # a section's keys override; a new method replaces
        same = key != "method" or value.get("name", "lora") == "lora"
        recipe[key] = {**recipe[key], **value} if same else dict(value)
    return recipe


def labelled(ids, labels) -> list[int]:
    return [i for i, lab in zip(ids, labels) if lab != -100]


def decode(tok, ids) -> str:
    return tok.decode(ids, clean_up_tokenization_spaces=False)


def content_ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


# --------------------------------------------------------------------------- masks


@pytest.mark.parametrize("use_offsets", [True, False])
def test_chat_template_mask_keeps_only_assistant_text_and_end_of_turn(use_offsets):
    tok = make_tokenizer()
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "where do i pay tax ?"},
        {"role": "assistant", "content": answer("tax")},
        {"role": "user", "content": "thanks and what is the fee ?"},
        {"role": "assistant", "content": "it is free ."},
    ]
    ids, labels, eot = encode_conversation(tok, messages, use_offsets=use_offsets)
    assert ids == content_ids(tok, tok.apply_chat_template(messages, tokenize=False))
    end = tok.convert_tokens_to_ids("<|im_end|>")
    assert eot == end
    expected = content_ids(tok, answer("tax")) + [end] + content_ids(tok, "it is free .") + [end]
    assert labelled(ids, labels) == expected
    expected_text = f"{answer('tax')} <|im_end|> it is free . <|im_end|>"
    assert decode(tok, labelled(ids, labels)) == expected_text
    # every other position (system, user, role headers, <|im_start|>, newlines) is -100
    for i, lab in enumerate(labels):
        assert lab in (-100, ids[i])
    assert sum(lab != -100 for lab in labels) == len(expected)
    starts = [i for i, t in enumerate(ids) if t == tok.convert_tokens_to_ids("<|im_start|>")]
    assert all(labels[i] == -100 and labels[i + 1] == -100 for i in starts)


def test_offsets_and_pieces_agree_and_fallback_template():
    tok = make_tokenizer(template=None)
    assert ensure_chat_template(tok) == "fallback"
    assert tok.chat_template == FALLBACK_TEMPLATE
    assert ensure_chat_template(tok) == "backbone"  # now it has one
    messages = [{"role": "user", "content": "where do i pay tax ?"},
                {"role": "assistant", "content": answer("tax")}]
    a = encode_conversation(tok, messages, use_offsets=True)
    b = encode_conversation(tok, messages, use_offsets=False)
    assert a == b
    ids, labels, eot = a
    assert eot == tok.eos_token_id
    assert labelled(ids, labels) == content_ids(tok, answer("tax")) + [tok.eos_token_id]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text.startswith("### User:\nwhere do i pay tax ?\n\n### Assistant:\nplease")


def test_fallback_template_starts_with_bos_when_the_tokenizer_adds_one():
    """Gemma's tokenizer puts <bos> before every text and has no chat template in the base
    model's GGUF: the fallback rendering starts with exactly one <bos>, unlabelled; a tokenizer
    that adds none (the one above) gets none."""
    from tokenizers import processors

    tok = make_tokenizer(template=None)
    bos = tok.bos_token_id
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<|im_start|> $A", special_tokens=[("<|im_start|>", bos)]
    )
    assert tok("tax")["input_ids"][0] == bos  # the premise: it adds a BOS
    assert ensure_chat_template(tok) == "fallback"
    messages = [{"role": "user", "content": "where do i pay tax ?"},
                {"role": "assistant", "content": answer("tax")}]
    for use_offsets in (True, False):
        ids, labels, _ = encode_conversation(tok, messages, use_offsets=use_offsets)
        assert ids[0] == bos and ids.count(bos) == 1 and labels[0] == -100
        assert labelled(ids, labels) == content_ids(tok, answer("tax")) + [tok.eos_token_id]
    plain = make_tokenizer(template=None)
    ensure_chat_template(plain)
    assert bos not in encode_conversation(plain, messages)[0]


def prepare(tok, tmp_path, rows=None, val_rows=None, **task):
    data = {"train": write_jsonl(tmp_path / "train.jsonl", rows or dialogue_rows(12, 1)),
            "validation": write_jsonl(tmp_path / "val.jsonl", val_rows or dialogue_rows(4, 2))}
    recipe = peftgov.load_recipe(
        make_recipe("unused", data, tmp_path / "run", task={"name": "dialogue", **task})
    )
    return get_task("dialogue").prepare(recipe, tok), recipe


def test_prompt_response_rows_with_system_prompt(tmp_path):
    tok = make_tokenizer()
    rows = [{"prompt": f"where do i pay {t} ?", "response": answer(t)} for t in OFFICES]
    prepared, _ = prepare(tok, tmp_path, rows=[*rows, *rows], val_rows=rows, prompt_column="prompt",
                          response_column="response", system_prompt=SYSTEM)
    assert prepared.state["system_prompt"] == SYSTEM
    first = prepared.train[0]
    text = decode(tok, first["input_ids"])
    assert text.startswith(f"<|im_start|> system {SYSTEM} <|im_end|> <|im_start|> user where")
    got = decode(tok, labelled(first["input_ids"], first["labels"]))
    assert got in {f"{answer(t)} <|im_end|>" for t in OFFICES}


def test_prompt_and_response_columns_go_together(tmp_path):
    with pytest.raises(RecipeError, match="task.response_column"):
        peftgov.load_recipe(make_recipe("m", {"train": "x.jsonl"}, tmp_path,
                                        task={"name": "dialogue", "prompt_column": "q"}))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"messages": []}, "missing or empty 'messages'"),
        ({"text": "hi"}, "missing or empty 'messages'"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "no assistant message"),
        ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": " "}]},
         "message 2 of 'messages' \\(assistant\\) has missing or empty content"),
        ({"messages": [{"role": "bot", "content": "hi"}]}, "message 1 of 'messages': role"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    rows = dialogue_rows(3, 1)
    rows.insert(2, row)
    with pytest.raises(DataError, match=f"train.jsonl:3: {message}"):
        prepare(make_tokenizer(), tmp_path, rows=rows)


def test_bad_rows_skipped_and_counted(tmp_path):
    tok = make_tokenizer()
    bad = [{"messages": []}, {"messages": [{"role": "user", "content": "x"}]}]
    rows = dialogue_rows(6, 1) + bad
    data = {"train": write_jsonl(tmp_path / "train.jsonl", rows),
            "validation": write_jsonl(tmp_path / "val.jsonl", dialogue_rows(3, 2))}
    recipe = peftgov.load_recipe(make_recipe("m", data, tmp_path / "r"),
                                 overrides={"data.on_bad_row": "skip"})
    prepared = get_task("dialogue").prepare(recipe, tok)
    assert prepared.state["counts"]["skipped_bad_rows"] == 2
    assert len(prepared.train) == 6
    assert any("2 rows skipped" in n for n in prepared.notes)


def test_truncation_is_counted_and_hopeless_rows_dropped(tmp_path):
    tok = make_tokenizer()
    rows = dialogue_rows(12, 1) + dialogue_rows(4, 2)  # what prepare() reads
    shortest = min(len(encode_conversation(tok, r["messages"])[0]) for r in rows)
    prepared, _ = prepare(tok, tmp_path, max_length=shortest - 3)
    assert prepared.state["counts"]["truncated_sequences"] == 16  # every train + val row
    assert "skipped_too_long" not in prepared.state["counts"]
    assert all(len(x) == shortest - 3 for x in prepared.train["input_ids"])
    assert any("were truncated" in n for n in prepared.notes)
    with pytest.raises(DataError, match="no example keeps an assistant token"):
        prepare(tok, tmp_path, max_length=8)  # cut before any assistant token


# --------------------------------------------------------------------------- packing, collator


def test_packing_keeps_masks_and_isolates_examples(tmp_path, tiny_llama_dir):
    tok = make_tokenizer()
    prepared, recipe = prepare(tok, tmp_path, packing=True, max_length=100)
    counts = prepared.state["counts"]
    assert counts["train_examples"] == 12 and counts["packed_sequences"] == len(prepared.train) < 12
    assert any("packed 12 training examples" in n for n in prepared.notes)
    singles = get_task("dialogue")._encode(
        get_task("dialogue")._read(recipe.data.train, recipe, {}), "x", recipe, tok, {}
    )
    # Every example appears whole in some pack, with its labels unchanged.
    pieces = []
    for row in prepared.train:
        assert len(row["input_ids"]) <= 100
        starts = [i for i, p in enumerate(row["position_ids"]) if p == 0] + [len(row["input_ids"])]
        for a, b in zip(starts, starts[1:]):
            pieces.append((row["input_ids"][a:b], row["labels"][a:b]))
    assert sorted(map(str, pieces)) == sorted(map(str, singles))
    assert "attention_mask" not in prepared.train.column_names
    # Packed examples do not attend to each other: logits equal the unpacked ones.
    model = get_task("dialogue").build_model(str(tiny_llama_dir), recipe, {}).eval()
    batch = DialogueCollator(tok.pad_token_id)([prepared.train[0], prepared.train[1]])
    assert "attention_mask" not in batch and "position_ids" in batch
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
        row = prepared.train[0]
        starts = [i for i, p in enumerate(row["position_ids"]) if p == 0]
        a, b = starts[1], starts[2] if len(starts) > 2 else len(row["input_ids"])
        alone = model(input_ids=torch.tensor([row["input_ids"][a:b]])).logits
    torch.testing.assert_close(packed[0, a:b], alone[0], atol=1e-5, rtol=1e-4)


def test_collator_pads_ids_labels_and_mask():
    collate = DialogueCollator(pad_token_id=0)
    batch = collate([
        {"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": [-100, 6, 7]},
        {"input_ids": [8], "attention_mask": [1], "labels": [8]},
    ])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert get_task("dialogue").tokens_in(batch) == 4
    packed = collate([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7], "position_ids": [0, 1, 0]},
                      {"input_ids": [8], "labels": [8], "position_ids": [0]}])
    assert packed["position_ids"].tolist() == [[0, 1, 0], [0, 1, 2]]
    assert "attention_mask" not in packed


def test_eval_step_loss_matches_the_model_and_perplexity(tmp_path, tiny_llama_dir):
    from transformers import LlamaForCausalLM

    tok = make_tokenizer()
    prepared, _ = prepare(tok, tmp_path)
    task = get_task("dialogue")
    model = LlamaForCausalLM.from_pretrained(tiny_llama_dir).eval()
    batch = task.collator(tok)([prepared.validation[i] for i in range(4)])
    with torch.no_grad():
        out = task.eval_step(model, batch)
        reference = model(**batch).loss
    torch.testing.assert_close(out["loss"], reference, atol=1e-5, rtol=1e-5)
    assert out["refs"].tolist() == (batch["labels"][:, 1:] != -100).sum(1).tolist()
    m = task.compute_metrics(out["preds"].tolist(), out["refs"].tolist(), prepared.state)
    assert m["perplexity"] == pytest.approx(math.exp(float(reference)), rel=1e-4)
    assert 0 <= m["token_accuracy"] <= 1 and m["n"] == 4


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, tiny_llama_dir, dialogue_data):
    out = tmp_path_factory.mktemp("lora-run") / "run"
    result = peftgov.train(peftgov.load_recipe(make_recipe(tiny_llama_dir, dialogue_data, out)),
                           progress=False)
    return result


def test_lora_training_lowers_loss_and_reports_generation(lora_run):
    m = lora_run.metrics
    assert m["task"] == "dialogue" and m["metric"] == "loss"
    assert m["test"]["loss"] < 0.3 * m["test_before"]["loss"]
    assert m["test"]["perplexity"] < m["test_before"]["perplexity"]
    assert m["test"]["token_accuracy"] > m["test_before"]["token_accuracy"]
    history = [e["loss"] for e in m["eval_history"]]
    assert history[-1] < 0.5 * history[0]  # validation loss falls epoch after epoch
    assert m["eval"]["loss"] == min(history)
    gen = m["generation"]
    assert gen["n"] == 5 and gen["n_rouge_l"] == 5 and gen["rouge_l"] > 0.6
    assert len(gen["samples"]) == 3 and set(gen["samples"][0]) == {"question", "reference", "reply"}
    saved = json.loads((lora_run.run_dir / "metrics.json").read_text())
    assert saved["generation"]["rouge_l"] == gen["rouge_l"]
    state = json.loads((lora_run.run_dir / "task_state.json").read_text())
    assert state["system_prompt"] == SYSTEM and state["chat_template"] == "backbone"


def test_reloaded_run_predicts_the_same_greedy_reply(lora_run):
    task = get_task("dialogue")
    run = load_run(lora_run.run_dir)
    texts = ["where do i pay tax ?", "i need help with road ?"]
    fresh = task.predict(run.model, run.tokenizer, texts, run.recipe, run.state)
    memory = task.predict(lora_run.model, run.tokenizer, texts, run.recipe, run.state)
    assert fresh == memory
    assert [r["text"] for r in fresh] == texts and all(isinstance(r["reply"], str) for r in fresh)
    assert peftgov.predict(lora_run.run_dir, texts) == fresh
    # batched generation equals one-at-a-time generation
    one = [task.predict(run.model, run.tokenizer, [t], run.recipe, run.state)[0] for t in texts]
    assert one == fresh


def test_evaluate_a_finished_run_on_its_test_split(lora_run):
    m = peftgov.evaluate(lora_run.run_dir, split="test")
    assert m["loss"] == pytest.approx(lora_run.metrics["test"]["loss"], rel=1e-4)
    assert m["perplexity"] == pytest.approx(lora_run.metrics["test"]["perplexity"], rel=1e-4)


def test_chat_command_replies_per_line(lora_run, monkeypatch, capsys):
    from peftgov.cli import main

    lines = "where do i pay tax ?\n\n/reset\nhi\n/exit\nnot read\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["chat", str(lora_run.run_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    single = peftgov.predict(lora_run.run_dir, ["where do i pay tax ?"])[0]["reply"]
    assert lines[0] == single


def test_prompt_tuning_run_trains_and_reloads(tmp_path, tiny_llama_dir, dialogue_data):
    recipe = make_recipe(
        tiny_llama_dir, dialogue_data, tmp_path / "run",
        method={"name": "prompt", "num_virtual_tokens": 4},
        train={"epochs": 2, "lr": 5e-2},
        task={"generation_samples": 2, "max_new_tokens": 6},
    )
    result = peftgov.train(peftgov.load_recipe(recipe), progress=False)
    m = result.metrics
    assert m["test"]["loss"] < m["test_before"]["loss"]
    assert m["generation"]["n"] == 2
    run = load_run(result.run_dir)
    task = get_task("dialogue")
    texts = ["where do i pay water ?"]
    assert task.predict(run.model, run.tokenizer, texts, run.recipe, run.state) == task.predict(
        result.model, run.tokenizer, texts, run.recipe, run.state
    )


# --------------------------------------------------------------------------- metrics


def test_rouge_l_against_hand_computed_values():
    assert words("The cat, sat!  on (the) mat.") == ["the", "cat", "sat", "on", "the", "mat"]
    assert lcs_length("abcbdab", "bdcaba") == 4
    # LCS("the cat sat", "the cat on the mat sat") = 3: P = 3/3, R = 3/6, F = 2/3
    assert rouge_l("the cat sat", "the cat on the mat sat") == pytest.approx(2 / 3)
    # pred: police station at night (4), ref: go to the police station (5): LCS 2
    # P = 2/4, R = 2/5 -> F = 2 * 0.5 * 0.4 / 0.9 = 4/9
    assert rouge_l("Police station at night", "go to the police station.") == pytest.approx(4 / 9)
    assert rouge_l("same words", "Same words.") == 1.0
    assert rouge_l("", "") == 1.0 and rouge_l("x", "") == 0.0 and rouge_l("a b", "c d") == 0.0


def test_char_f1_against_hand_computed_values():
    # pred 社保局办理 (5 chars), ref 到社保中心办理。(7 chars once 。 is dropped)
    # common: 社 保 办 理 = 4 -> P = 4/5, R = 4/7, F = 2 * (4/5) * (4/7) / (4/5 + 4/7) = 2/3
    assert char_f1("社保局办理", "到社保中心办理。") == pytest.approx(2 / 3)
    # pred 请到社保中心 (6), ref 社保中心办理 (6): common 社 保 中 心 = 4 -> P = R = F = 2/3
    assert char_f1("请到社保中心", "社保中心办理") == pytest.approx(2 / 3)
    # pred 办理 (2), ref 到社保中心办理 (7): common 2 -> P = 1, R = 2/7, F = 2 * (2/7) / (9/7) = 4/9
    assert char_f1("办理", "到社保中心办理") == pytest.approx(4 / 9)
    assert char_f1("你好，世界！", "你好 世界") == 1.0  # punctuation and spaces ignored
    assert char_f1("好好", "好") == pytest.approx(2 * 1 * 0.5 / 1.5)  # bag: one 好 in common
    assert char_f1("", "。") == 1.0 and char_f1("甲", "") == 0.0


def test_generation_metrics_pick_the_score_by_language():
    assert is_cjk_text("请到社保中心办理") and not is_cjk_text("go to the office")
    m = generation_metrics(
        ["the cat sat", "社保局办理", "社保局办理"],
        ["the cat on the mat sat", "到社保中心办理。", "到社保中心办理。"],
        ["en", "zh", None],  # None: detected from the reference
    )
    assert m["n"] == 3 and m["n_rouge_l"] == 1 and m["n_char_f1"] == 2
    assert m["rouge_l"] == pytest.approx(2 / 3) and m["char_f1"] == pytest.approx(2 / 3)
    assert m["score"] == pytest.approx(2 / 3)
    m = generation_metrics(
        ["go to the tax office", "办理"], ["go to the office", "到社保中心办理"]
    )
    assert m["rouge_l"] == pytest.approx(8 / 9)  # LCS 4: P = 4/5, R = 4/4
    assert m["char_f1"] == pytest.approx(4 / 9) and m["score"] == pytest.approx((8 / 9 + 4 / 9) / 2)
    # an explicit language wins over detection
    assert "char_f1" not in generation_metrics(["社保"], ["社保"], ["en"])
    with pytest.raises(ValueError):
        generation_metrics(["a"], [])


def test_pack_respects_max_length():
    examples = [([1] * 4, [-100] * 4), ([2] * 3, [2] * 3), ([3] * 5, [3] * 5)]
    packs = pack(examples, max_length=8)
    assert [p["input_ids"] for p in packs] == [[1] * 4 + [2] * 3, [3] * 5]
    assert packs[0]["position_ids"] == [0, 1, 2, 3, 0, 1, 2]
