"""NER task (peftgov.tasks.ner), CoNLL reader (peftgov.conll) and NER metrics
(peftgov.metrics.ner): sub-token alignment both ways, seqeval figures checked by hand, the
token-level report, reader formats and errors, and short training runs on tiny models (a BERT
with a WordPiece tokenizer, a Llama with a byte-level BPE tokenizer) through ``peftgov.train``,
reloaded with ``peftgov.runs.load_run`` for ``predict`` and ``evaluate``."""

from __future__ import annotations

import json
import math
import random
import re

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizer, LlamaConfig, LlamaModel

import peftgov
from peftgov import load_recipe
from peftgov.backbones import load_tokenizer
from peftgov.config import ModelConfig
from peftgov.conll import read_conll, strip_position
from peftgov.cli import main as cli_main
from peftgov.errors import DataError, PeftgovError, RecipeError
from peftgov.metrics import ner_metrics
from peftgov.runs import load_run
from peftgov.tasks import get_task
from peftgov.tasks.ner import (
    IGNORE,
    NerOptions,
    align_labels,
    bio_spans,
    inside_ids,
    label_set,
    split_words,
    words_from_labels,
)



TASK = get_task("ner")

# --------------------------------------------------------------------------- tiny BERT

PER = ["alice", "bob", "carol", "dave", "erin", "frank"]
LOC = [["paris"], ["london"], ["berlin"], ["rome"], ["washington"], ["new", "york"]]
VOCAB = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + PER
    + ["paris", "london", "berlin", "rome", "new", "york", "wash", "##ing", "##ton"]
    + ["the", "visited", "met", "in", "and", "said", "today", "office", "went", "to", "."]
)


def bert_tokenizer() -> BertTokenizer:
    return BertTokenizer(vocab={w: i for i, w in enumerate(VOCAB)})


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    """A tiny random BERT backbone plus its tokenizer, saved as a local model folder."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    BertModel(
        BertConfig(
            vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64, max_position_embeddings=64,
        )
    ).save_pretrained(folder)
    bert_tokenizer().save_pretrained(folder)
    return folder


def toy_sentence(rng: random.Random) -> list[tuple[str, str]]:
    def loc():
        words = rng.choice(LOC)
        return [(w, ("B-" if i == 0 else "I-") + "LOC") for i, w in enumerate(words)]

    def per():
        return [(rng.choice(PER), "B-PER")]

    o = lambda *ws: [(w, "O") for w in ws]  # noqa: E731
    template = rng.randrange(3)
    if template == 0:
        return per() + o("visited") + loc() + o(".")
    if template == 1:
        return per() + o("met") + per() + o("in") + loc() + o("today", ".")
    return o("the") + loc() + o("office", "said") + per() + o("went", "to") + loc() + o(".")


def write_conll(path, sentences, sep=" ") -> str:
    path.write_text("\n\n".join("\n".join(f"{w}{sep}{t}" for w, t in s) for s in sentences) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy-ner")
    rng = random.Random(0)
    return {
        split: write_conll(folder / f"{split}.txt", [toy_sentence(rng) for _ in range(n)])
        for split, n in (("train", 192), ("dev", 32), ("test", 32))
    }


def bert_recipe(bert_dir, toy_data, out, **task):
    return load_recipe(
        {
            "model": {"name": str(bert_dir)},
            "data": {
                "train": toy_data["train"],
                "validation": toy_data["dev"],
                "test": toy_data["test"],
            },
            "task": {"name": "ner", "max_length": 32, **task},
            "method": {"name": "lora", "r": 8, "alpha": 16, "target_modules": "all-linear"},
            "train": {
                "epochs": 5, "batch_size": 16, "lr": 0.01, "warmup_ratio": 0.0, "log_every": 100,
            },
            "output": {"dir": str(out)},
        }
    )


# --------------------------------------------------------------------------- alignment


def test_word_split_into_three_subtokens_is_labelled_on_its_first_only():
    tok = bert_tokenizer()
    words = ["Alice", "visited", "Washington", "."]
    labels = ["O", "B-LOC", "B-PER", "I-LOC", "I-PER"]
    enc = tok([words], is_split_into_words=True)
    assert enc.tokens(0) == ["[CLS]", "alice", "visited", "wash", "##ing", "##ton", ".", "[SEP]"]
    word_labels = [labels.index(t) for t in ("B-PER", "O", "B-LOC", "O")]
    aligned = align_labels(enc.word_ids(0), word_labels)
    assert aligned == [IGNORE, 2, 0, 1, IGNORE, IGNORE, 0, IGNORE]
    # label_all_subtokens: later sub-tokens carry the I- form of the word's label.
    aligned_all = align_labels(enc.word_ids(0), word_labels, inside_ids(labels))
    assert aligned_all == [IGNORE, 2, 0, 1, 3, 3, 0, IGNORE]


def test_predictions_map_back_to_exactly_one_tag_per_word():
    tok = bert_tokenizer()
    words = ["Bob", "met", "Washington", "and", "New", "York", "."]
    enc = tok([words], is_split_into_words=True)
    refs = align_labels(enc.word_ids(0), [1] * len(words))
    preds = list(range(len(refs)))  # a different "prediction" at every position
    # As the loop hands them over: padded with -100 to a longer length.
    p_words, r_words = words_from_labels(preds + [IGNORE] * 5, refs + [IGNORE] * 5)
    assert len(p_words) == len(r_words) == len(words)
    ids = enc.word_ids(0)
    first = [i for i, w in enumerate(ids) if w is not None and w != ids[i - 1]]
    assert p_words == first  # each word's prediction is read at its first sub-token


def test_prepare_aligns_counts_truncation_and_keeps_label_set(bert_dir, toy_data, tmp_path):
    recipe = bert_recipe(bert_dir, toy_data, tmp_path / "r")
    prepared = TASK.prepare(recipe, load_tokenizer(str(bert_dir), recipe.model))
    assert prepared.state["labels"] == ["O", "B-LOC", "B-PER", "I-LOC", "I-PER"]
    assert prepared.state["counts"]["train_rows"] == 192
    for ex in prepared.train:
        assert len(ex["labels"]) == len(ex["input_ids"])
        assert ex["labels"][0] == ex["labels"][-1] == IGNORE
    # A tiny max_length cuts words: counted, and said in the notes.
    short = bert_recipe(bert_dir, toy_data, tmp_path / "s")
    short = load_recipe({**short.to_dict(), "task": {"name": "ner", "max_length": 5}})
    cut = TASK.prepare(short, load_tokenizer(str(bert_dir), short.model))
    assert cut.state["counts"]["truncated_sequences"] > 0
    assert cut.state["counts"]["truncated_words"] >= cut.state["counts"]["truncated_sequences"]
    assert any("were truncated" in n for n in cut.notes)
    assert any("neither trained on nor scored" in n for n in cut.notes)


def test_head_bias_prior_starts_the_tagger_at_the_train_tag_frequencies(bert_dir, toy_data,
                                                                        tmp_path):
    """``task.head_bias_prior``: the head's bias starts at the log of each tag's add-one-smoothed
    count over the train split's scored positions (counted here by hand), so the untrained
    tagger already predicts the prior: its mean loss on train is the prior's cross-entropy
    (lower than a zero bias gives); other weights are untouched, and the default leaves 0."""
    tok_recipe = bert_recipe(bert_dir, toy_data, tmp_path / "p", head_bias_prior=True)
    tokenizer = load_tokenizer(str(bert_dir), tok_recipe.model)
    prepared = TASK.prepare(tok_recipe, tokenizer)
    n = len(prepared.state["labels"])
    counts = [1] * n
    for ex in prepared.train:
        for i in ex["labels"]:
            if i != IGNORE:
                counts[i] += 1
    expected = [math.log(c / sum(counts)) for c in counts]
    assert prepared.state["label_log_prior"] == pytest.approx(expected, abs=1e-12)
    torch.manual_seed(0)
    model = TASK.build_model(str(bert_dir), tok_recipe, prepared.state)
    assert model.classifier.bias.tolist() == pytest.approx(expected, abs=1e-6)
    plain_recipe = bert_recipe(bert_dir, toy_data, tmp_path / "z")
    plain_state = TASK.prepare(plain_recipe, tokenizer).state
    assert "label_log_prior" not in plain_state
    torch.manual_seed(0)
    plain = TASK.build_model(str(bert_dir), plain_recipe, plain_state)
    assert torch.count_nonzero(plain.classifier.bias) == 0
    assert torch.equal(plain.classifier.weight, model.classifier.weight)
    batch = TASK.collator(tokenizer)([prepared.train[i] for i in range(64)])
    model.eval(), plain.eval()
    with torch.no_grad():
        prior_loss, zero_loss = model(**batch).loss.item(), plain(**batch).loss.item()
    scored = batch["labels"][batch["labels"] != IGNORE]
    prior_xent = -sum(expected[i] for i in scored.tolist()) / len(scored)
    assert prior_loss == pytest.approx(prior_xent, abs=0.1)  # the random head adds a little
    assert prior_loss < zero_loss - 0.3


def test_head_bias_prior_on_a_head_without_bias_is_a_recipe_error(bert_dir, toy_data, tmp_path,
                                                                    monkeypatch):
    import peftgov.backbones as backbones
    from peftgov.errors import RecipeError

    real = backbones.load_model

    def biasless(*args, **kwargs):
        model = real(*args, **kwargs)
        model.classifier = torch.nn.Linear(model.classifier.in_features,
                                           model.classifier.out_features, bias=False)
        return model

    monkeypatch.setattr(backbones, "load_model", biasless)
    recipe = bert_recipe(bert_dir, toy_data, tmp_path / "p", head_bias_prior=True)
    state = TASK.prepare(recipe, load_tokenizer(str(bert_dir), recipe.model)).state
    with pytest.raises(RecipeError, match="task.head_bias_prior: .*has no bias"):
        TASK.build_model(str(bert_dir), recipe, state)


def test_label_all_subtokens_only_changes_training_labels(bert_dir, tmp_path):
    sentence = [("bob", "B-PER"), ("visited", "O"), ("washington", "B-LOC")]
    path = write_conll(tmp_path / "d.txt", [sentence])
    rec = load_recipe(
        {
            "model": {"name": str(bert_dir)},
            "data": {"train": path, "validation": path},
            "task": {"name": "ner", "label_all_subtokens": True},
        }
    )
    prepared = TASK.prepare(rec, load_tokenizer(str(bert_dir), rec.model))
    # labels: O, B-LOC, B-PER, I-LOC, I-PER
    assert prepared.train[0]["labels"] == [IGNORE, 2, 0, 1, 3, 3, IGNORE]
    assert prepared.validation[0]["labels"] == [IGNORE, 2, 0, 1, IGNORE, IGNORE, IGNORE]


def test_word_that_tokenises_to_nothing_keeps_its_tag(bert_dir, tmp_path):
    path = tmp_path / "z.conll"
    path.write_text("bob\tB-PER\n\u200b\tO\nparis\tB-LOC\n")
    rec = load_recipe(
        {"model": {"name": str(bert_dir)}, "data": {"train": str(path), "validation": str(path)},
         "task": {"name": "ner"}}
    )
    prepared = TASK.prepare(rec, load_tokenizer(str(bert_dir), rec.model))
    assert [x for x in prepared.train[0]["labels"] if x != IGNORE] == [2, 0, 1]
    assert prepared.state["counts"]["replaced_empty_words"] == 2  # train and validation


def test_unknown_tag_in_validation_names_file_and_line_or_is_skipped(bert_dir, tmp_path):
    train = write_conll(tmp_path / "train.txt", [[("bob", "B-PER"), ("paris", "B-LOC")]])
    dev = write_conll(
        tmp_path / "dev.txt", [[("bob", "B-PER")], [("acme", "B-ORG"), ("paris", "I-LOC")]]
    )
    raw = {
        "model": {"name": str(bert_dir)},
        "data": {"train": train, "validation": dev},
        "task": {"name": "ner"},
    }
    tok = load_tokenizer(str(bert_dir), load_recipe(raw).model)
    with pytest.raises(DataError, match=r"dev\.txt:3: tag 'B-ORG' is of a type never seen"):
        TASK.prepare(load_recipe(raw), tok)
    prepared = TASK.prepare(load_recipe(raw, {"data.on_bad_row": "skip"}), tok)
    assert prepared.state["counts"]["skipped_unknown_label"] == 1
    assert prepared.state["counts"]["validation_rows"] == 1
    assert any("unknown label" in n for n in prepared.notes)


def test_label_set_comes_from_the_whole_train_file_not_the_sample(bert_dir, tmp_path):
    rare = [("bob", "B-PER"), ("in", "O"), ("washington", "B-LOC")]
    train = write_conll(tmp_path / "train.txt", [[("bob", "B-PER")]] * 20 + [rare])
    raw = {
        "model": {"name": str(bert_dir)},
        "data": {"train": train, "validation": write_conll(tmp_path / "dev.txt", [rare]),
                 "max_train_samples": 2},
        "task": {"name": "ner"},
    }
    rec = load_recipe(raw)
    prepared = TASK.prepare(rec, load_tokenizer(str(bert_dir), rec.model))
    assert len(prepared.train) == 2
    assert prepared.state["labels"] == ["O", "B-LOC", "B-PER", "I-LOC", "I-PER"]


def test_jsonl_input_with_token_and_tag_columns(bert_dir, tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"words": ["bob", "visited", "paris"], "ner": ["B-PER", "O", "B-LOC"]}] * 3
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = {
        "model": {"name": str(bert_dir)},
        "data": {"train": str(path), "validation": str(path)},
        "task": {"name": "ner", "tokens_column": "words", "tags_column": "ner"},
    }
    rec = load_recipe(raw)
    prepared = TASK.prepare(rec, load_tokenizer(str(bert_dir), rec.model))
    assert prepared.train[0]["labels"] == [IGNORE, 2, 0, 1, IGNORE]
    bad = tmp_path / "bad.jsonl"
    bad_row = {"words": ["x"], "ner": ["X-FOO"]}
    bad.write_text(json.dumps(rows[0]) + "\n" + json.dumps(bad_row) + "\n")
    with pytest.raises(DataError, match=r"bad\.jsonl:2: tag 'X-FOO' is not BIO"):
        TASK.read(str(bad), load_recipe({**raw, "data": {"train": str(bad)}}), {})


def test_options_are_typed_and_checked():
    assert NerOptions().max_length == 128 and NerOptions().name == "ner"
    with pytest.raises(RecipeError, match="task.max_length"):
        load_recipe({"data": {"train": "x.txt"}, "task": {"name": "ner", "max_length": 0}})
    with pytest.raises(RecipeError, match="task.label_all_subtokens"):
        load_recipe(
            {"data": {"train": "x.txt"}, "task": {"name": "ner", "label_all_subtokens": "y"}}
        )


# --------------------------------------------------------------------------- metrics


def test_two_gold_two_predicted_one_exact_match_is_half_everywhere():
    refs = [["B-PER", "I-PER", "O", "B-LOC"]]
    preds = [["B-PER", "I-PER", "O", "B-ORG"]]  # second entity: right span, wrong type
    m = ner_metrics(refs, preds)
    assert (m["precision"], m["recall"], m["f1"]) == (0.5, 0.5, 0.5)
    assert m["gold_entities"] == 2 and m["predicted_entities"] == 2
    assert m["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert m["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["per_type"]["ORG"]["support"] == 0 and m["per_type"]["ORG"]["precision"] == 0.0
    assert m["accuracy"] == 0.75
    json.dumps(m)  # everything JSON-serialisable


def test_span_mismatch_and_type_mismatch_are_both_wrong():
    refs = [["B-PER", "I-PER", "O"], ["B-LOC", "O", "O"]]
    preds = [["B-PER", "O", "O"], ["B-PER", "O", "O"]]
    m = ner_metrics(refs, preds)
    assert m["f1"] == 0.0 and m["precision"] == 0.0 and m["recall"] == 0.0


def test_strict_mode_an_i_without_b_is_not_an_entity():
    refs = [["B-PER", "I-PER", "O", "B-LOC"]]
    preds = [["I-PER", "I-PER", "O", "B-LOC"]]
    m = ner_metrics(refs, preds)
    assert m["predicted_entities"] == 1  # only B-LOC: the I-PER run is no entity
    assert m["precision"] == 1.0 and m["recall"] == 0.5
    assert m["f1"] == pytest.approx(2 / 3)


def test_token_report_includes_o_and_the_three_average_rows():
    refs = [["B-PER", "I-PER", "O", "O", "B-LOC"]]
    preds = [["B-PER", "O", "O", "O", "B-LOC"]]
    m = ner_metrics(refs, preds, labels=["O", "B-LOC", "B-PER", "I-LOC", "I-PER"])
    rep = m["token_report"]
    assert list(rep) == ["O", "B-LOC", "B-PER", "I-PER", "micro avg", "macro avg", "weighted avg"]
    assert rep["O"] == {"precision": round(2 / 3, 6), "recall": 1.0, "f1": 0.8, "support": 2}
    assert rep["I-PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert rep["micro avg"]["f1"] == m["accuracy"] == m["token_micro_f1"] == 0.8
    assert rep["macro avg"]["f1"] == pytest.approx((0.8 + 1 + 1 + 0) / 4, abs=1e-6)
    assert rep["weighted avg"]["support"] == 5


def test_compute_metrics_reads_one_tag_per_word_through_the_mask():
    state = {"labels": ["O", "B-LOC", "B-PER", "I-LOC", "I-PER"]}
    # [CLS] bob visited wash ##ing ##ton [SEP] (pad)
    refs = [[IGNORE, 2, 0, 1, IGNORE, IGNORE, IGNORE, IGNORE]]
    preds = [[0, 2, 0, 1, 4, 4, 0, IGNORE]]  # sub-token predictions are ignored
    m = TASK.compute_metrics(preds, refs, state)
    assert m["f1"] == 1.0 and m["words"] == 3 and m["n"] == 1


def test_empty_evaluation_is_all_zero():
    m = ner_metrics([], [])
    assert m["f1"] == 0.0 and m["words"] == 0


# --------------------------------------------------------------------------- reader


def test_reader_skips_docstart_reads_tabs_and_extra_columns(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
        "Peter\tB-PER\nBlackburn\tI-PER\n \t\n\t\nBRUSSELS B-LOC\n"
    )
    sents = read_conll(str(path))
    assert [s.words for s in sents] == [["EU", "rejects"], ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert [s.tags for s in sents] == [["B-ORG", "O"], ["B-PER", "I-PER"], ["B-LOC"]]
    assert [s.line for s in sents] == [3, 6, 10]


def test_reader_strips_weibo_position_digits(tmp_path):
    path = tmp_path / "w.conll"
    path.write_text("科0\tB-ORG.NAM\n技1\tI-ORG.NAM\ne12\tO\n510\tO\n\ufffd\ufffd0\tO\n")
    (sent,) = read_conll(str(path), strip_position_digit=True)
    assert sent.words == ["科", "技", "e", "5", "\ufffd\ufffd"]
    assert strip_position("科0") == "科" and strip_position("科") is None
    with pytest.raises(DataError, match=r"w2\.conll:1: token '科' does not end in a position"):
        (tmp_path / "w2.conll").write_text("科\tO\n")
        read_conll(str(tmp_path / "w2.conll"), strip_position_digit=True)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("EU B-ORG\nrejects\n", 2, "found one column"),
        ("EU B-ORG\n\nrejects X-FOO\n", 3, "tag 'X-FOO' is not BIO"),
        ("EU B-ORG\nrejects B-\n", 2, "tag 'B-' is not BIO"),
        ("EU B-ORG\nrejects per\n", 2, "tag 'per' is not BIO"),
    ],
)
def test_bad_lines_raise_naming_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"bad\.txt:{line}: {message}"):
        read_conll(str(path))


def test_bad_sentences_are_skipped_and_counted_on_request(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("EU B-ORG\nrejects\n\nPeter B-PER\n\nI X-FOO\n")
    counts: dict = {}
    sents = read_conll(str(path), skip=True, counts=counts)
    assert [s.words for s in sents] == [["Peter"]] and counts["skipped_bad_rows"] == 2


def test_i_tag_without_b_is_valid_input(tmp_path):
    path = tmp_path / "i.txt"
    path.write_text("Peter I-PER\n")
    assert read_conll(str(path))[0].tags == ["I-PER"]


def test_empty_non_utf8_and_docstart_only_files_are_clear_errors(tmp_path):
    (tmp_path / "e.txt").write_text("\n\n")
    with pytest.raises(DataError, match=r"e\.txt: file is empty"):
        read_conll(str(tmp_path / "e.txt"))
    (tmp_path / "l.txt").write_bytes("EU B-ORG\n".encode() + "Köln B-LOC\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"l\.txt:2: not UTF-8"):
        read_conll(str(tmp_path / "l.txt"))
    (tmp_path / "d.txt").write_text("-DOCSTART- O\n\n")
    with pytest.raises(DataError, match=r"d\.txt: no sentences"):
        read_conll(str(tmp_path / "d.txt"))


def test_label_set_is_o_then_sorted_with_both_prefixes(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("a B-PER\nb I-PER\nc O\n\nd B-LOC\n")
    assert label_set(read_conll(str(path))) == ["O", "B-LOC", "B-PER", "I-LOC", "I-PER"]


# --------------------------------------------------------------------------- predict helpers


def test_split_words_keeps_character_offsets():
    text = "Alice met (Bob) in New York, Germany's U.S. office."
    words = split_words(text)
    assert [w for w, _, _ in words] == [
        "Alice", "met", "(", "Bob", ")", "in", "New", "York", ",", "Germany", "'s", "U.S.",
        "office", ".",
    ]
    assert all(text[s:e] == w for w, s, e in words)
    zh = "我在 北京。"
    assert [w for w, _, _ in split_words(zh)] == ["我", "在", "北", "京", "。"]
    assert all(zh[s:e] == w for w, s, e in split_words(zh))


def test_bio_decoding_for_predict_is_lenient():
    tags = ["I-PER", "I-PER", "O", "B-LOC", "I-ORG", "B-LOC", "I-LOC", "I-LOC"]
    assert bio_spans(tags) == [("PER", 0, 2), ("LOC", 3, 4), ("ORG", 4, 5), ("LOC", 5, 8)]


# --------------------------------------------------------------------------- training runs


@pytest.fixture(scope="module")
def trained(bert_dir, toy_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "toy-lora"
    result = peftgov.train(bert_recipe(bert_dir, toy_data, out), progress=False)
    return result


def test_lora_training_learns_the_toy_problem(trained):
    m = trained.metrics
    print("toy NER entity F1: before", m["test_before"]["f1"], "after", m["test"]["f1"])
    assert m["task"] == "ner" and m["metric"] == "f1"
    assert m["test_before"]["f1"] < 0.3
    assert m["test"]["f1"] > 0.9, m["test"]
    assert m["test"]["f1"] > m["test_before"]["f1"] + 0.5
    assert set(m["test"]["per_type"]) == {"LOC", "PER"}
    assert "O" in m["test"]["token_report"]
    saved = json.loads((trained.run_dir / "metrics.json").read_text())
    assert saved["test"]["f1"] == m["test"]["f1"]


def test_reloaded_run_predicts_the_same_entities_with_exact_offsets(trained, bert_dir):
    texts = [
        "Alice visited New York.",
        "the Washington office said Bob went to Rome .",
        "",
        "Carol met Dave in Berlin today.",
    ]
    run = load_run(trained.run_dir)
    reloaded = run.task.predict(run.model, run.tokenizer, texts, run.recipe, run.state)
    tok = load_tokenizer(str(bert_dir), run.recipe.model)
    in_memory = TASK.predict(trained.model, tok, texts, run.recipe, run.state)
    def strip(r):
        return [(e["text"], e["type"], e["start"], e["end"]) for e in r["entities"]]

    assert [strip(r) for r in reloaded] == [strip(r) for r in in_memory]
    for a, b in zip(reloaded, in_memory):
        for ea, eb in zip(a["entities"], b["entities"]):
            assert ea["score"] == pytest.approx(eb["score"], abs=1e-5)
    assert strip(reloaded[0]) == [("Alice", "PER", 0, 5), ("New York", "LOC", 14, 22)]
    assert {("Washington", "LOC"), ("Bob", "PER"), ("Rome", "LOC")} <= {
        (t, ty) for t, ty, _, _ in strip(reloaded[1])
    }
    assert reloaded[2] == {"text": "", "entities": []}
    for r in reloaded:
        for e in r["entities"]:
            assert r["text"][e["start"] : e["end"]] == e["text"]
    assert peftgov.predict(trained.run_dir, texts[:1])[0]["entities"] == reloaded[0]["entities"]


def test_evaluate_on_a_file_reproduces_the_test_figures(trained):
    test_file = load_run(trained.run_dir).recipe.data.test
    m = peftgov.evaluate(trained.run_dir, data=test_file)
    assert m["f1"] == pytest.approx(trained.metrics["test"]["f1"])
    assert m["words"] == trained.metrics["test"]["words"]


# --------------------------------------------------------------------------- tiny Llama


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    """A tiny random Llama with a byte-level BPE tokenizer (as SmolLM2), no pad token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(["我爱北京天安门", "科技公司在上海", "hello world"], trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>")
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    LlamaModel(
        LlamaConfig(
            vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
        )
    ).save_pretrained(folder)
    return folder


def test_byte_level_tokenizer_aligns_one_character_words(llama_dir):
    tok = load_tokenizer(str(llama_dir), ModelConfig())  # sets the missing pad token
    chars = list("我爱北京a")
    enc = tok([chars], is_split_into_words=True)
    ids = enc.word_ids(0)
    assert sorted(set(ids) - {None}) == [0, 1, 2, 3, 4]
    assert len(ids) > len(chars)  # Chinese characters are several byte-level tokens each
    aligned = align_labels(ids, [1, 0, 2, 3, 0])
    assert [x for x in aligned if x != IGNORE] == [1, 0, 2, 3, 0]


def test_llama_backbone_trains_on_weibo_style_data_and_predicts_char_offsets(llama_dir, tmp_path):
    lines = [
        "北0\tB-GPE.NAM\n京1\tI-GPE.NAM\n很0\tO\n好1\tO\n",
        "我0\tO\n爱1\tO\n上0\tB-GPE.NAM\n海1\tI-GPE.NAM\n",
    ]
    path = tmp_path / "weibo.conll"
    path.write_text("\n".join(lines * 4))
    rec = load_recipe(
        {
            "model": {"name": str(llama_dir)},
            "data": {"train": str(path), "validation": str(path)},
            "task": {"name": "ner", "strip_position_digit": True, "max_length": 64},
            "method": {"name": "lora", "r": 4, "target_modules": "all-linear"},
            "train": {"max_steps": 3, "batch_size": 4, "lr": 0.01},
            "output": {"dir": str(tmp_path / "run")},
        }
    )
    result = peftgov.train(rec, progress=False)
    assert result.metrics["steps"] == 3 and result.metrics["eval"]["words"] == 32
    run = load_run(result.run_dir)
    assert run.state["labels"] == ["O", "B-GPE.NAM", "I-GPE.NAM"]
    (pred,) = run.task.predict(run.model, run.tokenizer, ["我爱 北京"], run.recipe, run.state)
    for e in pred["entities"]:
        assert pred["text"][e["start"] : e["end"]] == e["text"]
        assert e["type"] == "GPE.NAM"


def _sentencepiece_like_tokenizer(specials: bool = False):
    """A tiny Unigram tokenizer with sentencepiece's word-start marker, like XLM-R's
    (``specials``: with XLM-R's ``<s> ... </s>`` around each row)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    pieces = ["<unk>", "<pad>", "▁", "张", "三", "北", "京", "▁三", "<s>", "</s>"]
    tk = Tokenizer(models.Unigram([(p, -1.0 if p.startswith("▁") else -2.0) for p in pieces], unk_id=0))
    tk.pre_tokenizer = pre_tokenizers.Metaspace()
    tk.decoder = decoders.Metaspace()
    if specials:
        tk.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", special_tokens=[("<s>", 8), ("</s>", 9)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
        eos_token="</s>",
    )


def test_drop_word_markers_truncates_after_the_markers_are_gone():
    """max_length counts the tokens the model sees: 10 positions hold 8 characters plus <s>
    and </s>, not the 4 a truncation before dropping the bare markers would leave."""
    from peftgov.tasks.ner import tokenize_words

    tok = _sentencepiece_like_tokenizer(specials=True)
    words = [["张", "北", "京"] * 10, ["北", "京"]]
    enc = tokenize_words(tok, words, truncation=True, max_length=10, drop_markers=True)
    toks = tok.convert_ids_to_tokens(enc["input_ids"][0])
    assert toks == ["<s>"] + ["张", "北", "京"] * 2 + ["张", "北"] + ["</s>"]
    assert enc.word_ids(0) == [None, 0, 1, 2, 3, 4, 5, 6, 7, None]
    assert enc.tokenized_lengths == [32, 4]
    assert tok.convert_ids_to_tokens(enc["input_ids"][1]) == ["<s>", "北", "京", "</s>"]


@pytest.mark.parametrize("padded", [False, True])
def test_drop_word_markers_puts_each_characters_label_on_the_character(padded):
    from peftgov.tasks.ner import align_labels, tokenize_words

    tok = _sentencepiece_like_tokenizer()
    words = [["张", "三", "北", "京"], ["北"]]
    kw = {"padding": True, "return_tensors": "pt"} if padded else {}
    plain = tokenize_words(tok, words, truncation=True, max_length=32, **kw)
    assert tok.convert_ids_to_tokens(list(plain["input_ids"][0]))[:7] == [
        "▁", "张", "▁三", "▁", "北", "▁", "京"]
    enc = tokenize_words(tok, words, truncation=True, max_length=32, drop_markers=True, **kw)
    ids = [int(i) for i in enc["input_ids"][0]]
    assert tok.convert_ids_to_tokens(ids) == ["张", "▁三", "北", "京"]
    assert enc.word_ids(0) == [0, 1, 2, 3]
    assert align_labels(enc.word_ids(0), [1, 2, 0, 3]) == [1, 2, 0, 3]
    row1 = enc.word_ids(1)
    assert row1[0] == 0 and all(w is None for w in row1[1:])
    if padded:
        assert enc["attention_mask"][1].tolist() == [1, 0, 0, 0]


# --------------------------------------------------------------------------- data.redact_ner


def _redaction_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = [w for w, _ in toy_sentence(rng)]
        rows.append({"text": " ".join(words), "label": "office" if "office" in words else "visit"})
    return rows


def _expected(run_dir, texts):
    """What data.redact_ner must make of ``texts``: the NER run's own predictions, every PER
    and LOC span replaced right to left, counted."""
    from collections import Counter

    from peftgov.runs import predict_run

    counts, out = Counter(), []
    for text, pred in zip(texts, predict_run(run_dir, texts)):
        for e in sorted(pred["entities"], key=lambda e: -e["start"]):
            kind = {"PER": "PERSON", "LOC": "ADDRESS"}[e["type"]]
            text = f"{text[:e['start']]}<{kind}>{text[e['end']:]}"
            counts[kind] += 1
        out.append(text)
    return out, counts


def test_data_redact_ner_replaces_the_names_a_ner_run_finds_before_training(
    trained, bert_dir, tmp_path, capsys
):
    """A classification run with data.redact_ner: the names and places the NER run predicts
    are replaced (counted per type, equal to applying its predictions by hand), and no file
    of the run directory holds a planted name (the tokenizer's vocabulary aside)."""
    from collections import Counter

    splits = {s: _redaction_rows(n, seed) for s, n, seed in
              (("train", 24, 5), ("validation", 8, 6), ("test", 8, 7))}
    paths = {}
    for split, rows in splits.items():
        paths[split] = tmp_path / f"{split}.jsonl"
        paths[split].write_text("".join(json.dumps(r) + "\n" for r in rows))
    expected, counts = [], Counter()
    for rows in splits.values():
        texts, c = _expected(trained.run_dir, [r["text"] for r in rows])
        expected += texts
        counts += c
    assert counts["PERSON"] >= 40 and counts["ADDRESS"] >= 40  # the NER run does find them

    recipe = load_recipe({
        "model": {"name": str(bert_dir)},
        "data": {**{s: str(p) for s, p in paths.items()}, "redact": True,
                 "redact_ner": str(trained.run_dir)},
        "task": {"name": "classification", "max_length": 32},
        "method": {"name": "lora", "r": 4, "target_modules": "all-linear"},
        "train": {"epochs": 1, "batch_size": 8, "log_every": 100},
        "output": {"dir": str(tmp_path / "clf")},
    })
    result = peftgov.train(recipe, progress=False)
    assert result.metrics["redaction"] == dict(counts)
    planted = set(PER) | {w for loc in LOC for w in loc}
    for f in (tmp_path / "clf").rglob("*"):
        if f.is_file() and "tokenizer" not in f.parts:
            words = set(re.findall(r"[a-z]+", f.read_bytes().decode("utf-8", "replace")))
            assert not words & planted, (f, words & planted)

    # the same from the command line, on a file: valid jsonl out, the same texts
    out = tmp_path / "redacted.jsonl"
    assert cli_main(["redact", str(paths["train"]), str(out), "--ner", str(trained.run_dir)]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    got = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert got == expected[: len(got)] and len(got) == 24
    assert sum(printed["redacted"].values()) == sum(t.count("<") for t in got)


def test_redact_ner_line_keeps_placeholders_and_unchosen_types():
    from collections import Counter
    from types import SimpleNamespace

    from peftgov.redact_ner import NerRedactor

    run = SimpleNamespace(run_dir="r", recipe=SimpleNamespace(task=SimpleNamespace(name="ner")),
                          state={"labels": ["O", "B-PER.NAM", "I-PER.NAM", "B-PER.NOM",
                                            "I-PER.NOM", "B-GPE.NAM", "I-GPE.NAM"]})
    red = NerRedactor(run)
    assert red.types == {"PER.NAM"}  # nominal mentions and place names are kept by default
    line = "张三老师在北京打<MOBILE>"
    ents = [{"start": 0, "end": 2, "type": "PER.NAM"}, {"start": 2, "end": 4, "type": "PER.NOM"},
            {"start": 5, "end": 7, "type": "GPE.NAM"}, {"start": 8, "end": 12, "type": "PER.NAM"}]
    counts = Counter()
    assert red.redact_line(line, ents, counts) == "<PERSON>老师在北京打<MOBILE>"
    assert counts == {"PERSON": 1}
    with pytest.raises(PeftgovError, match="not types of this run"):
        NerRedactor(run, ["PER"])


def test_redact_ner_recipe_errors(trained, bert_dir, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _redaction_rows(8, 1)))

    def recipe(**d):
        return {"model": {"name": str(bert_dir)}, "data": {"train": str(data), **d},
                "task": {"name": "classification", "max_length": 32},
                "method": {"name": "lora"}, "output": {"dir": str(tmp_path / "run")}}

    with pytest.raises(RecipeError, match="data.redact_ner.*needs data.redact"):
        load_recipe(recipe(redact_ner=str(trained.run_dir)))
    with pytest.raises(RecipeError, match="data.redact_ner_types.*needs data.redact_ner"):
        load_recipe(recipe(redact=True, redact_ner_types=["PER"]))
    with pytest.raises(RecipeError, match="data.redact_ner.*(not found|finished)"):
        peftgov.train(load_recipe(recipe(redact=True, redact_ner=str(tmp_path / "nowhere"))),
                      progress=False)
    with pytest.raises(RecipeError, match="data.redact_ner.*not types of this run"):
        peftgov.train(load_recipe(recipe(redact=True, redact_ner=str(trained.run_dir),
                                         redact_ner_types=["ORG"])), progress=False)
    assert not (tmp_path / "run").exists()  # refused before anything was written


# --------------------------------------------------------------------------- Trainer baseline


def _baseline():
    """benchmarks/baselines/hf_trainer.py as a module (it is a script, not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks/baselines/hf_trainer.py"
    spec = importlib.util.spec_from_file_location("hf_trainer_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_trainer_baseline_labels_aligns_and_scores_ner_as_peftgov_does(toy_data):
    """The side-by-side NER figure is one figure: the baseline's label set, sub-token labels and
    entity F1 (strict IOB2) equal peftgov's on the same input."""
    base = _baseline()
    sentences = read_conll(toy_data["train"])
    labels = label_set(sentences)
    assert base.ner_labels([s.tags for s in sentences]) == labels
    word_ids = [None, 0, 1, 2, 2, 2, 3, None]
    assert base.align(word_ids, [2, 0, 1, 0]) == align_labels(word_ids, [2, 0, 1, 0])
    rng = random.Random(0)
    refs, preds = [], []
    for _ in range(40):
        n = rng.randrange(3, 12)
        row = [IGNORE] + [rng.randrange(len(labels)) for _ in range(n)] + [IGNORE] * (12 - n)
        refs.append(row)
        preds.append([rng.randrange(len(labels)) if r != IGNORE or rng.random() < 0.5 else 0
                      for r in row])
    ours = TASK.compute_metrics(preds, refs, {"labels": labels})
    theirs = base.ner_scores(refs, preds, labels)
    assert 0 < ours["f1"] < 1
    for key in ("f1", "precision", "recall", "accuracy"):
        assert theirs[key] == pytest.approx(ours[key], abs=1e-6), key


def test_the_trainer_baseline_runs_a_ner_recipe(bert_dir, toy_data, tmp_path):
    """The baseline script trains the same LoRA (same trainable parameters) on a CoNLL recipe and
    writes peftgov's metrics keys, entity F1 included."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    recipe = bert_recipe(bert_dir, toy_data, tmp_path / "ours")
    ours = peftgov.train(load_recipe({**recipe.to_dict(), "train": {
        **recipe.to_dict()["train"], "max_steps": 4}}), progress=False)
    path = tmp_path / "ner.yaml"
    path.write_text(recipe.to_yaml())
    script = Path(__file__).resolve().parents[1] / "benchmarks/baselines/hf_trainer.py"
    out = tmp_path / "theirs"
    done = subprocess.run(
        [sys.executable, str(script), str(path), "--max-steps", "4", f"output.dir={out}",
         "train.eval_every=2", "train.target_metric=0.0"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads((out / "metrics.json").read_text())
    assert theirs["method"] == "hf_trainer_lora" and theirs["task"] == "ner"
    assert theirs["metric"] == "f1" and theirs["steps"] == 4
    assert theirs["trainable_params"] == ours.metrics["trainable_params"]
    assert theirs["test"]["n"] == 32 and 0 <= theirs["test"]["f1"] <= 1
    assert [e["step"] for e in theirs["eval_history"]] == [2, 4]
    assert theirs["target"]["step"] == 2 and "f1" in theirs["target"]["test"]
