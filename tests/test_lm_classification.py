"""The lm_classification task (peftgov.tasks.lm_classification) on a tiny Llama with a
word-level tokenizer and the toy 3-intent data: verbaliser scores against a hand computation
from full forwards, multi-token verbalisers, sum / mean, prediction = argmax; in-context
demonstrations (k per class, seeded, never the query itself); zero-shot runs (train.epochs=0)
and ``peftgov eval`` on them; prompt-based fine-tuning with LoRA (loss falls, only LoRA weights
move); bad recipes as one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import LABELS, WORDS, save_tiny_llama, toy_rows
from safetensors.torch import load_file

import peftgov
from peftgov.errors import RecipeError
from peftgov.runs import evaluate_run
from peftgov.tasks import get_task
from peftgov.tasks.lm_classification import demonstrations_for, pick_demonstrations

TEMPLATE = "request : {text} department :"
VERBALIZERS = {"tax": "tax office", "road": "road bureau"}  # water: its own name, one token
EXTRA = ["<pad>", "<unk>", "<s>", "</s>", "request", ":", "department", "office", "bureau", "|"]


def make_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(EXTRA + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.decoder = decoders.WordPiece(cleanup=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
        eos_token="</s>",
    )


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama-cls"), make_tokenizer(), 256)


def recipe_dict(model_dir, data, out_dir, **task) -> dict:
    return {
        "model": {"name": str(model_dir)},
        "data": {"name": "toy", **{k: str(v) for k, v in data.items()}},
        "task": {"name": "lm_classification", "template": TEMPLATE, "verbalizers": VERBALIZERS,
                 "max_length": 200, **task},
        "method": {"name": "lora", "r": 4, "alpha": 8, "dropout": 0.0,
                   "target_modules": "all-linear"},
        "train": {"seed": 0, "epochs": 4, "batch_size": 8, "eval_batch_size": 16, "lr": 1e-2,
                  "warmup_ratio": 0.0, "log_every": 1},
        "output": {"dir": str(out_dir)},
    }


def prepared(llama_dir, toy_data, tmp_path, **task):
    recipe = peftgov.load_recipe(recipe_dict(llama_dir, toy_data, tmp_path / "run", **task))
    tok = make_tokenizer()
    return recipe, tok, get_task("lm_classification").prepare(recipe, tok)


def tiny_model(llama_dir, recipe):
    return get_task("lm_classification").build_model(str(llama_dir), recipe, {}).eval()


# --------------------------------------------------------------------------- scoring


@pytest.mark.parametrize("score, demonstrations, split", [
    ("sum", 0, "test"), ("mean", 0, "test"),
    ("sum", 1, "test"),  # one shared prefix: run once, its key/value cache reused by every row
    ("mean", 1, "train"),  # rows that are demonstrations have their own prefix, in the row
])
def test_scores_equal_a_hand_computation_from_full_forwards(llama_dir, toy_data, tmp_path, score,
                                                           demonstrations, split):
    from peftgov.tasks.lm_classification import verbalizer_scores

    recipe, tok, prep = prepared(llama_dir, toy_data, tmp_path, score=score,
                                 demonstrations=demonstrations)
    task = get_task("lm_classification")
    assert prep.state["verbalizers"] == ["road bureau", "tax office", "water"]  # sorted labels
    data = getattr(prep, split)
    chosen = pick_demonstrations([r["label"] for r in toy_rows(60, seed=1)], demonstrations, 0)[0]
    picks = (chosen + [i for i in range(12) if i not in chosen])[:12] if split == "train" else range(12)
    rows = [data[i] for i in picks]
    batch = task.collator(tok)(rows)
    shared = demonstrations and split == "test"
    assert batch["prefix_ids"].shape[1] == (len(rows[0]["prefix"]) if shared else 0)
    assert len({tuple(r["prefix"]) for r in rows}) == (1 if split == "test" else 4)
    model = tiny_model(llama_dir, recipe)
    with torch.no_grad():
        out = task.eval_step(model, batch)
        scores = verbalizer_scores(model, batch)
        expected = torch.zeros(len(rows), 3)
        for i, row in enumerate(rows):
            prompt = row["prefix"] + row["input_ids"]
            for j, phrase in enumerate(prep.state["verbalizers"]):
                ids = tok(" " + phrase, add_special_tokens=False)["input_ids"]
                # one full forward of prompt + verbaliser; log-softmax; token t from position t-1
                logp = model(input_ids=torch.tensor([prompt + ids])).logits[0].log_softmax(-1)
                lps = [float(logp[len(prompt) - 1 + k, t]) for k, t in enumerate(ids)]
                expected[i, j] = sum(lps) / (len(lps) if score == "mean" else 1)
    assert [len(c) for c in rows[0]["choices"]] == [2, 2, 1]  # multi-token verbalisers
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-5)
    assert out["preds"].tolist() == expected.argmax(-1).tolist()
    loss = torch.nn.functional.cross_entropy(expected, torch.tensor([r["labels"] for r in rows]))
    assert float(out["loss"]) == pytest.approx(float(loss), abs=1e-5)


def test_shared_prefix_runs_once_per_evaluation_and_again_after_a_weight_update(
        llama_dir, toy_data, tmp_path):
    """The demonstrations' key/value cache is computed once for all the batches of an
    evaluation, and again once a weight changes in place (an optimizer step) or while
    training (dropout, gradients); the scores equal a fresh computation each time."""
    from peftgov.tasks import lm_classification as lmc

    recipe, tok, prep = prepared(llama_dir, toy_data, tmp_path, demonstrations=1)
    task, model = get_task("lm_classification"), tiny_model(llama_dir, recipe)
    batches = [task.collator(tok)([prep.test[i] for i in range(a, a + 6)]) for a in (0, 6)]
    width = batches[0]["prefix_ids"].shape[1]
    assert width and batches[1]["prefix_ids"].shape[1] == width  # the premise: one prefix
    prefix_runs = []
    model.register_forward_pre_hook(
        lambda m, args, kw: prefix_runs.append(1) if kw["input_ids"].shape[1] == width else None,
        with_kwargs=True,
    )

    def fresh(batch):
        lmc._LAST_PREFIX[0] = None
        return lmc.verbalizer_scores(model, batch)

    with torch.inference_mode():
        cached = [lmc.verbalizer_scores(model, b) for b in batches]
        assert len(prefix_runs) == 1
        for b, c in zip(batches, cached):
            torch.testing.assert_close(c, fresh(b), atol=0, rtol=0)
    prefix_runs.clear()
    with torch.no_grad():
        lmc.verbalizer_scores(model, batches[0])
        next(model.parameters()).add_(0.5)  # in place, as an optimizer step
        moved = lmc.verbalizer_scores(model, batches[0])
    assert len(prefix_runs) == 1 and not torch.allclose(moved, cached[0])  # only after it
    model.train()  # training: the prefix carries gradients, and is never reused
    for q in model.parameters():
        q.requires_grad_(True)
    lmc.verbalizer_scores(model, batches[0]).sum().backward()
    lmc.verbalizer_scores(model, batches[0]).sum().backward()
    assert len(prefix_runs) == 3 and next(model.parameters()).grad is not None


def test_prompt_is_the_instruction_then_the_template_with_the_text(llama_dir, toy_data, tmp_path):
    _, tok, prep = prepared(llama_dir, toy_data, tmp_path, instruction="help : ")
    text = toy_rows(15, seed=3)  # the test file's rows, in order
    decoded = [tok.decode(prep.test[i]["prefix"] + prep.test[i]["input_ids"])
               for i in range(len(prep.test))]
    assert [f"help : request : {r['text']} department :" for r in text] == decoded


# --------------------------------------------------------------------------- demonstrations


def test_pick_demonstrations_k_per_class_seeded():
    labels = ["a", "b", "c"] * 6
    chosen, reserves = pick_demonstrations(labels, 2, seed=7)
    assert sorted(labels[i] for i in chosen) == ["a", "a", "b", "b", "c", "c"]
    assert pick_demonstrations(labels, 2, seed=7) == (chosen, reserves)
    assert pick_demonstrations(labels, 2, seed=8)[0] != chosen
    assert all(len(r) == 4 and not set(r) & set(chosen) for r in reserves.values())
    assert pick_demonstrations(labels, 0, seed=7)[0] == []


def test_a_query_never_demonstrates_itself():
    labels = ["a", "b", "a", "b", "a"]
    chosen, reserves = pick_demonstrations(labels, 2, seed=0)
    for query in range(len(labels)):
        shown = demonstrations_for(query, chosen, reserves, labels)
        assert query not in shown
        if labels[query] == "a" or query not in chosen:  # "a" has a 3rd row to stand in
            assert len(shown) == 4 and sorted(labels[i] for i in shown) == ["a", "a", "b", "b"]
        else:  # "b" has only 2 rows: the slot is left out
            assert sorted(labels[i] for i in shown) == ["a", "a", "b"]
    assert demonstrations_for(None, chosen, reserves, labels) == chosen


def test_in_context_prompts_hold_exactly_k_per_class(llama_dir, toy_data, tmp_path):
    _, tok, prep = prepared(llama_dir, toy_data, tmp_path, demonstrations=2,
                            demonstration_separator=" | ")
    demos = prep.state["demonstrations"]
    by_label = {"water": "water", "tax office": "tax", "road bureau": "road"}
    assert sorted(by_label[d["verbalizer"]] for d in demos) == sorted(LABELS * 2)
    prefix = "".join(f"request : {d['text']} department : {d['verbalizer']} | " for d in demos)
    test_prompt = tok.decode(prep.test[0]["prefix"] + prep.test[0]["input_ids"])
    assert test_prompt.startswith(prefix.strip())  # the same demonstrations before every query
    assert test_prompt.count("department :") == 7  # 6 demonstrations + the query
    # train rows (file order): the same draw, each row's own slot taken by a stand-in
    train = toy_rows(60, seed=1)
    labels = [r["label"] for r in train]
    chosen, reserves = pick_demonstrations(labels, 2, seed=0)
    assert [train[i]["text"] for i in chosen] == [d["text"] for d in demos]
    phrase = {"water": "water", **VERBALIZERS}
    for i in range(len(prep.train)):
        shown = demonstrations_for(i, chosen, reserves, labels)
        assert len(shown) == 6 and i not in shown
        expected = "".join(
            f"request : {train[j]['text']} department : {phrase[labels[j]]} | " for j in shown
        ) + f"request : {train[i]['text']} department :"
        assert tok.decode(prep.train[i]["prefix"] + prep.train[i]["input_ids"]) == expected
    assert any(i in chosen for i in range(len(prep.train)))  # the stand-in case is exercised


def test_a_prompt_over_max_length_loses_its_start_and_says_so(llama_dir, toy_data, tmp_path):
    _, _, fits = prepared(llama_dir, toy_data, tmp_path, demonstrations=2)
    longest = max(len(r["prefix"]) + len(r["input_ids"]) for r in fits.test)
    assert not any("longer than task.max_length" in n for n in fits.notes)
    _, _, cut = prepared(llama_dir, toy_data, tmp_path, demonstrations=2, max_length=longest - 5)
    assert all(len(r["prefix"]) + len(r["input_ids"]) <= longest - 5 for r in cut.test)
    note = next(n for n in cut.notes if "longer than task.max_length" in n)
    assert "first demonstrations" in note and "raise task.max_length" in note
    # the query itself is whole: the prefix lost its first tokens
    assert [r["input_ids"] for r in cut.test] == [r["input_ids"] for r in fits.test]


# --------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def zero_shot_run(tmp_path_factory, llama_dir, toy_data):
    out = tmp_path_factory.mktemp("zero") / "run"
    recipe = recipe_dict(llama_dir, toy_data, out)
    recipe["train"]["epochs"] = 0
    return peftgov.train(peftgov.load_recipe(recipe), progress=False)


def test_zero_shot_run_evaluates_and_writes_metrics(zero_shot_run, llama_dir, toy_data, tmp_path):
    import json

    metrics = json.loads((zero_shot_run.run_dir / "metrics.json").read_text())
    assert metrics["steps"] == 0 and metrics["task"] == "lm_classification"
    assert metrics["test"] == metrics["test_before"]
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0 and "accuracy" in metrics["eval"]
    # the untouched backbone's own verbaliser scores give the same test accuracy
    recipe, tok, prep = prepared(llama_dir, toy_data, tmp_path)
    model = tiny_model(llama_dir, recipe)
    task = get_task("lm_classification")
    with torch.no_grad():
        out = task.eval_step(model, task.collator(tok)([prep.test[i] for i in range(15)]))
    acc = (out["preds"] == out["refs"]).float().mean().item()
    assert metrics["test"]["accuracy"] == pytest.approx(acc)
    again = evaluate_run(zero_shot_run.run_dir)  # peftgov eval on the run
    assert again["accuracy"] == pytest.approx(acc)


def test_prompt_based_lora_lowers_the_loss_and_trains_only_lora(tmp_path, llama_dir, toy_data):
    from transformers import LlamaForCausalLM

    # the instruction is a prefix shared by every row: trained through its key/value cache
    recipe = recipe_dict(llama_dir, toy_data, tmp_path / "run", instruction="help :")
    result = peftgov.train(peftgov.load_recipe(recipe), progress=False)
    m = result.metrics
    assert m["steps"] == 4 * 8  # 60 rows / 8 per batch = 8 steps per epoch
    assert m["eval"]["loss"] < m["test_before"]["loss"] - 0.2
    assert m["test"]["loss"] < m["test_before"]["loss"] - 0.2
    assert m["test"]["accuracy"] > m["test_before"]["accuracy"]
    model = result.model
    base = LlamaForCausalLM.from_pretrained(llama_dir)
    frozen = {n.replace("base_model.model.", "").replace(".base_layer", ""): p
              for n, p in model.named_parameters() if "lora_" not in n}
    for name, p in base.named_parameters():
        assert torch.equal(frozen[name], p), name  # the backbone bit-identical
    assert all("lora_" in n for n, p in model.named_parameters() if p.requires_grad)
    saved = load_file(str(result.run_dir / "adapter" / "adapter_model.safetensors"))
    assert saved and all("lora_" in k for k in saved)
    assert any(v.abs().sum() > 0 for k, v in saved.items() if "lora_B" in k)  # B moved off 0
    preds = peftgov.predict(result.run_dir, ["leak pipe water", "tax refund income"])
    assert {p["label"] for p in preds} <= set(LABELS)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "task, key, words",
    [
        ({"template": "request : department :"}, "task.template", "{text}"),
        ({"template": "{text} {label} :"}, "task.template", "placeholder"),
        ({"verbalizers": {"tax": ""}}, "task.verbalizers", "non-empty"),
        ({"demonstrations": -1}, "task.demonstrations", ">= 0"),
    ],
)
def test_bad_task_options_are_one_line_errors_naming_the_key(tmp_path, llama_dir, toy_data,
                                                            task, key, words):
    with pytest.raises(RecipeError) as err:
        peftgov.load_recipe(recipe_dict(llama_dir, toy_data, tmp_path / "run", **task))
    assert key in str(err.value) and words in str(err.value) and "\n" not in str(err.value)


def test_bad_template_from_the_command_line_exits_2_without_traceback(tmp_path, capsys):
    from peftgov.cli import main

    path = tmp_path / "r.yaml"
    path.write_text("data: {train: x.jsonl}\ntask: {name: lm_classification, template: 'no text'}\n")
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "task.template" in err and str(path) in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_unknown_verbaliser_label_and_prompt_tuning_are_refused(tmp_path, llama_dir, toy_data):
    with pytest.raises(RecipeError, match=r"task\.verbalizers.*\['parks'\]"):
        prepared(llama_dir, toy_data, tmp_path, verbalizers={"parks": "parks office"})
    recipe = recipe_dict(llama_dir, toy_data, tmp_path / "run")
    recipe["method"] = {"name": "prompt", "num_virtual_tokens": 4}
    with pytest.raises(RecipeError, match=r"method\.name.*virtual tokens"):
        peftgov.train(peftgov.load_recipe(recipe), progress=False)
