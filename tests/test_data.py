"""Data files: csv / tsv / jsonl read with the right line numbers; every bad input is a DataError
naming the file (and line where there is one); ``on_bad_row=skip`` drops and counts; the
validation carve-out is seeded and disjoint from train."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import peftgov
from peftgov.data import Row, carve_validation, read_rows
from peftgov.errors import DataError
from peftgov.recipe import load_recipe
from peftgov.tasks import get_task

from conftest import toy_rows, write_jsonl


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- readers


def test_csv_quoted_commas_and_multiline_fields_keep_line_numbers(tmp_path):
    path = _write(
        tmp_path / "d.csv",
        "text,label\n"
        '"pipe leak, water everywhere",water\n'  # line 2: quoted comma
        '"two\nlines",tax\n'  # lines 3-4: a quoted newline
        "\n"  # line 5: blank, skipped
        'road pothole,"road"\n'  # line 6
        '"she said ""hi""",road\n',  # line 7: escaped quotes
    )
    rows = read_rows(str(path))
    assert [r.line for r in rows] == [2, 3, 6, 7]
    assert rows[0].values == {"text": "pipe leak, water everywhere", "label": "water"}
    assert rows[1].values["text"] == "two\nlines"
    assert rows[2].values == {"text": "road pothole", "label": "road"}
    assert rows[3].values["text"] == 'she said "hi"'


def test_tsv_keeps_bare_quotes_and_commas(tmp_path):
    path = _write(tmp_path / "d.tsv", 'text\tlabel\nhe said "hi, there\ttax\n\nroad ok\troad\n')
    rows = read_rows(str(path))
    assert rows == [
        Row(2, {"text": 'he said "hi, there', "label": "tax"}),
        Row(4, {"text": "road ok", "label": "road"}),
    ]


def test_jsonl_rows_and_line_numbers(tmp_path):
    path = _write(
        tmp_path / "d.jsonl",
        '{"text": "pipe leak", "label": "water"}\n\n{"text": "tax, refund", "label": 3}\n',
    )
    rows = read_rows(str(path))
    assert rows == [
        Row(1, {"text": "pipe leak", "label": "water"}),
        Row(3, {"text": "tax, refund", "label": 3}),
    ]


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85"])
def test_jsonl_strings_may_contain_unicode_line_separators(tmp_path, sep):
    rows = [{"text": f"pipe{sep}leak", "label": "water"}, {"text": "tax", "label": "tax"}]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    assert read_rows(str(path)) == [Row(1, rows[0]), Row(2, rows[1])]


def test_crlf_csv_line_numbers(tmp_path):
    path = _write(tmp_path / "d.csv", b'text,label\r\na b,x\r\n"c\r\nd",y\r\ne,z\r\n')
    rows = read_rows(str(path))
    assert [r.line for r in rows] == [2, 3, 5]
    assert rows[1].values == {"text": "c\r\nd", "label": "y"}


def test_utf8_bom_is_accepted(tmp_path):
    path = _write(tmp_path / "d.csv", "\ufefftext,label\nok,water\n".encode("utf-8"))
    assert read_rows(str(path))[0].values == {"text": "ok", "label": "water"}


def test_bundled_prefix_resolves_to_packaged_data():
    rows = read_rows("bundled:hotline/en/train.jsonl")
    assert len(rows) == 700 and rows[0].line == 1


@pytest.mark.parametrize(
    "name, content, line, words",
    [
        ("missing.csv", None, None, "not found"),
        ("empty.csv", "", None, "empty"),
        ("blank.jsonl", "\n  \n", None, "empty"),
        ("latin1.csv", b"text,label\nok,water\ncaf\xe9 bill,tax\n", 3, "UTF-8"),
        ("bad.jsonl", '{"text": "a", "label": "b"}\n{"text": \n', 2, "invalid JSON"),
        ("list.jsonl", '{"text": "a", "label": "b"}\n[1, 2]\n', 2, "JSON object"),
        ("ragged.csv", "text,label\na,b\nc,d,e\n", 3, "columns"),
        ("header-only.csv", "text,label\n", None, "no data rows"),
        ("dup.csv", "text,text\na,b\n", 1, "duplicate"),
    ],
)
def test_unreadable_files_are_data_errors_naming_file_and_line(
    tmp_path, name, content, line, words
):
    path = tmp_path / name
    if content is not None:
        _write(path, content)
    with pytest.raises(DataError) as info:
        read_rows(str(path))
    err = info.value
    assert err.line == line
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(err).startswith(where), str(err)
    assert words in str(err)


# --------------------------------------------------------------------------- through the task


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_bert_dir)


def _prepare(make_recipe, tmp_path, tokenizer, **data):
    recipe = load_recipe(make_recipe(tmp_path, data=data))
    return get_task("classification").prepare(recipe, tokenizer)


def _good(tmp_path: Path, name: str, n: int = 12, seed: int = 5) -> Path:
    return write_jsonl(tmp_path / name, toy_rows(n, seed))


def _with_bad_rows(tmp_path: Path, name: str, bad: dict[int, dict]) -> Path:
    """toy rows with the rows at the given (0-based) positions replaced."""
    rows = toy_rows(12, seed=7)
    for i, row in bad.items():
        rows[i] = row
    return write_jsonl(tmp_path / name, rows)


def test_missing_column_names_the_column(make_recipe, tmp_path, tokenizer):
    rows = [{"txt": "a", "label": "x"}, {"txt": "b", "label": "y"}]
    train = write_jsonl(tmp_path / "t.jsonl", rows)
    with pytest.raises(DataError, match=r"missing column 'text'") as info:
        _prepare(make_recipe, tmp_path, tokenizer, train=str(train))
    assert str(info.value).startswith(f"{train}:1: ")


@pytest.mark.parametrize(
    "row, words",
    [
        ({"text": "", "label": "water"}, "empty text"),
        ({"text": "   ", "label": "water"}, "empty text"),
        ({"text": None, "label": "water"}, "empty text"),
        ({"text": "pipe", "label": ""}, "missing label"),
    ],
)
def test_bad_row_names_file_and_line(make_recipe, tmp_path, tokenizer, row, words):
    train = _with_bad_rows(tmp_path, "train.jsonl", {4: row})
    with pytest.raises(DataError, match=words) as info:
        _prepare(make_recipe, tmp_path, tokenizer, train=str(train))
    assert info.value.line == 5
    assert str(info.value).startswith(f"{train}:5: ")


def test_validation_label_unseen_in_train_names_file_and_line(make_recipe, tmp_path, tokenizer):
    train = _good(tmp_path, "train.jsonl")
    val = _with_bad_rows(tmp_path, "val.jsonl", {2: {"text": "pipe leak", "label": "parks"}})
    with pytest.raises(DataError, match="'parks' never appears in train") as info:
        _prepare(make_recipe, tmp_path, tokenizer, train=str(train), validation=str(val))
    assert str(info.value).startswith(f"{val}:3: ")


def test_skip_drops_and_counts_bad_rows_in_metrics(make_recipe, tmp_path):
    train = _with_bad_rows(
        tmp_path, "train.jsonl", {0: {"text": "", "label": "tax"}, 5: {"text": "x", "label": None}}
    )
    val = _with_bad_rows(tmp_path, "val.jsonl", {1: {"text": "pipe", "label": "parks"}})
    test = _with_bad_rows(
        tmp_path, "test.jsonl",
        {0: {"text": "road", "label": "zoo"}, 3: {"text": "road", "label": "zoo"}},
    )
    recipe = make_recipe(
        tmp_path,
        data={"train": str(train), "validation": str(val), "test": str(test), "on_bad_row": "skip"},
        train={"epochs": 1},
    )
    result = peftgov.train(peftgov.load_recipe(recipe), progress=False)
    counts = json.loads((result.run_dir / "metrics.json").read_text())["data_counts"]
    assert counts["skipped_bad_rows"] == 2
    assert counts["skipped_unknown_label"] == 3
    assert counts["train_rows"] == 10
    assert counts["validation_rows"] == 11
    assert counts["test_rows"] == 10
    assert result.metrics["test"]["n"] == 10
    assert any("skipped" in note for note in result.metrics["notes"])


def test_skip_with_nothing_left_is_still_an_error(make_recipe, tmp_path, tokenizer):
    train = _good(tmp_path, "train.jsonl")
    val = write_jsonl(tmp_path / "val.jsonl", [{"text": "a", "label": "parks"}])
    with pytest.raises(DataError, match="no usable rows"):
        recipe = make_recipe(
            tmp_path, data={"train": str(train), "validation": str(val), "on_bad_row": "skip"}
        )
        get_task("classification").prepare(load_recipe(recipe), tokenizer)


# --------------------------------------------------------------------------- carve-out


def test_carve_validation_is_seeded_and_disjoint():
    rows = list(range(50))
    train, val = carve_validation(rows, 0.2, seed=3)
    assert len(val) == 10 and len(train) == 40
    assert not set(train) & set(val)
    assert sorted(train + val) == rows
    assert carve_validation(rows, 0.2, seed=3) == (train, val)
    assert carve_validation(rows, 0.2, seed=4)[1] != val
    assert len(carve_validation(rows[:3], 0.01, seed=0)[1]) == 1  # never empty


def test_carve_out_through_the_task(make_recipe, tmp_path, tokenizer):
    def texts(seed):
        recipe = make_recipe(
            tmp_path, data={"validation": None, "validation_fraction": 0.25}, train={"seed": seed}
        )
        prepared = get_task("classification").prepare(load_recipe(recipe), tokenizer)
        decode = lambda ds: [tuple(x) for x in ds["input_ids"]]  # noqa: E731
        return decode(prepared.train), decode(prepared.validation), prepared.state["counts"]

    train, val, counts = texts(0)
    assert counts["train_rows"] == 45 and counts["validation_rows"] == 15
    assert texts(0)[:2] == (train, val)
    assert texts(1)[1] != val
    # disjoint and complete, as a multiset (two toy sentences may tokenise alike)
    everything = Counter(tuple(x) for x in _all_train_ids(make_recipe, tmp_path, tokenizer))
    assert Counter(train) + Counter(val) == everything


def _all_train_ids(make_recipe, tmp_path, tokenizer):
    recipe = load_recipe(make_recipe(tmp_path))
    return get_task("classification").prepare(recipe, tokenizer).train["input_ids"]


def test_headerless_tsv_with_label_ids_and_names(tmp_path, make_recipe):
    """THUCNews' layout: ``headline<TAB>label_id`` with no header, names in class.txt."""
    import peftgov
    from conftest import toy_rows

    names = sorted({r["label"] for r in toy_rows(60, seed=1)})
    rows = toy_rows(60, seed=1)
    train = tmp_path / "train.txt"
    train.write_text("".join(f"{r['text']}\t{names.index(r['label'])}\n" for r in rows))
    classes = tmp_path / "class.txt"
    classes.write_text("\n".join(names) + "\n")
    recipe = make_recipe(
        tmp_path,
        data={"train": str(train), "validation": None, "test": None, "format": "tsv",
              "columns": ["text", "label"]},
        task={"label_names": str(classes)},
        train={"epochs": 1},
    )
    result = peftgov.train(peftgov.load_recipe(recipe), progress=False)
    state = json.loads((result.run_dir / "task_state.json").read_text())
    assert state["labels"] == names
    counts = result.metrics["data_counts"]
    assert counts["train_rows"] + counts["validation_rows"] == 60

    bad = tmp_path / "bad.txt"
    bad.write_text("a headline\t7\n")
    recipe["data"]["train"] = str(bad)
    recipe["output"]["overwrite"] = True
    with pytest.raises(peftgov.PeftgovError, match=r"bad.txt:1: label '7' is not an id of the 3"):
        peftgov.train(peftgov.load_recipe(recipe), progress=False)
