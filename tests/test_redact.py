"""Personal information redaction (``peftgov.redact``, ``peftgov redact``, ``data.redact``):
valid numbers (generated with their real check digits) are redacted, checksum-invalid
look-alikes and ordinary numbers are left alone, redaction is idempotent and touches nothing
else, and a run directory provably holds none of a planted example's personal data."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import peftgov
from peftgov.cli import main
from peftgov.redact import (
    ID_CHECK, ID_WEIGHTS, USCC_CHARS, USCC_WEIGHTS, credit_code_ok, id_card_ok, luhn_ok, redact,
)

RNG = random.Random(7)


def make_id(valid: bool = True, rng: random.Random = RNG) -> str:
    body = f"{rng.choice(['110101', '310104', '440305'])}{rng.randint(1950, 2005)}"
    body += f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    check = ID_CHECK[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS)) % 11]
    if not valid:
        check = next(c for c in "0123456789X" if c != check)
    return body + check


def make_credit_code(valid: bool = True, rng: random.Random = RNG) -> str:
    body = "91" + "".join(rng.choice("0123456789") for _ in range(6))
    body += "".join(rng.choice(USCC_CHARS) for _ in range(9))
    check = USCC_CHARS[(31 - sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS)) % 31) % 31]
    if not valid:
        check = next(c for c in USCC_CHARS if c != check)
    return body + check


def make_card(valid: bool = True, length: int = 16, rng: random.Random = RNG) -> str:
    body = "62" + "".join(rng.choice("0123456789") for _ in range(length - 3))
    check = next(str(d) for d in range(10) if luhn_ok(body + str(d)))
    if not valid:
        check = str((int(check) + 1) % 10)
    return body + check


def test_check_digit_helpers_on_known_values():
    assert id_card_ok("11010519491231002X")  # the standard's example
    assert not id_card_ok("110105194912310021")
    assert not id_card_ok("110105194913310025")  # month 13
    assert credit_code_ok("91350100M000100Y43")
    assert not credit_code_ok("91350100M000100Y44")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


@pytest.mark.parametrize("i", range(20))
def test_generated_valid_numbers_are_redacted(i):
    rng = random.Random(i)
    pid, code, card = make_id(rng=rng), make_credit_code(rng=rng), make_card(rng=rng)
    text = (f"身份证{pid}，企业信用代码{code}，卡号{card}，手机13{rng.randint(0, 9)}"
            f"{rng.randint(10**7, 10**8 - 1)}。")
    counts: Counter = Counter()
    out = redact(text, counts)
    assert out == "身份证<ID_CARD>，企业信用代码<CREDIT_CODE>，卡号<BANK_CARD>，手机<MOBILE>。"
    assert counts == {"ID_CARD": 1, "CREDIT_CODE": 1, "BANK_CARD": 1, "MOBILE": 1}


@pytest.mark.parametrize("i", range(20))
def test_checksum_invalid_look_alikes_stay(i):
    rng = random.Random(100 + i)
    bad_id, bad_code = make_id(False, rng), make_credit_code(False, rng)
    bad_card = make_card(False, rng=rng)
    text = f"号码{bad_id}和{bad_code}以及{bad_card}"
    assert redact(text) == text


LOOK_ALIKES = [
    "订单号：20240501123456789012，金额 ¥12,345.67 元",
    "日期 2024-05-01 12:30:45，工单 202405010001",
    "发票号码 044001900211 代码 1440",  # a 12-digit invoice number and a 4-digit code
    "Order 8613812345678901 shipped",  # 16 digits: not a phone inside a longer number
    "温度 36.5 度，气压 1013 百帕，第 110101 号文件",
    "version 1.2.3-beta, build 20240501",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_ordinary_numbers_stay(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("请回电 138 1234 5678 或 +86 139-8765-4321", "请回电 <MOBILE> 或 <MOBILE>"),
        ("座机 010-62345678，（0755）23456789", "座机 <LANDLINE>，<LANDLINE>"),
        ("邮箱 zhang.san+hotline@example.gov.cn 谢谢", "邮箱 <EMAIL> 谢谢"),
        ("车牌京A12345停在路边，新能源粤BD12345", "车牌<PLATE>停在路边，新能源<PLATE>"),
        ("护照 E12345678 和 EA1234567", "护照 <PASSPORT> 和 <PASSPORT>"),
        ("card 6222 0212 3456 7894 and not 6222 0212 3456 7893", "card <BANK_CARD> and not 6222 0212 3456 7893"),
    ],
)
def test_each_type(text, expected):
    assert redact(text) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.lists(st.sampled_from(["id", "card", "mobile", "email"]), max_size=3))
def test_idempotent_and_touches_nothing_else(noise, kinds):
    rng = random.Random(len(noise))
    pieces = {"id": make_id(rng=rng), "card": make_card(rng=rng), "mobile": "13912345678",
              "email": "a.b@example.com"}
    text = "，".join([noise] + [pieces[k] for k in kinds] + [noise])
    once = redact(text)
    assert redact(once) == once
    # every character outside a replaced span is kept, in order
    rebuilt = once
    for kind in ("ID_CARD", "BANK_CARD", "MOBILE", "EMAIL", "CREDIT_CODE", "LANDLINE", "PLATE",
                 "PASSPORT"):
        rebuilt = rebuilt.replace(f"<{kind}>", "\0")
    parts = rebuilt.split("\0")
    pos = 0
    for part in parts:
        found = text.find(part, pos)
        assert found >= 0, (text, once)
        pos = found + len(part)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",), blacklist_characters="@"),
              max_size=120))
def test_text_without_digits_or_at_is_unchanged_unless_a_plate(text):
    out = redact(text)
    assert out == text or "<PLATE>" in out


# --------------------------------------------------------------------------- in a run


PLANTED = {
    "id": make_id(rng=random.Random(1)),
    "mobile": "13812345678",
    "email": "li.si@example.org",
}


def test_a_run_with_data_redact_holds_no_planted_pii(make_recipe, toy_data, tmp_path):
    rows = [json.loads(line) for line in toy_data["train"].read_text().splitlines()]
    for i, row in enumerate(rows[:6]):
        row["text"] += f" my id {PLANTED['id']} call {PLANTED['mobile']} mail {PLANTED['email']}"
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = make_recipe(tmp_path, data={"train": str(train), "redact": True},
                         train={"epochs": 1, "checkpoint_every": 2})
    result = peftgov.train(peftgov.load_recipe(recipe), progress=False)
    assert result.metrics["redaction"] == {"ID_CARD": 6, "MOBILE": 6, "EMAIL": 6}
    for path in result.run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in PLANTED.values():
                assert value.encode() not in data, path
    [pred] = peftgov.predict(result.run_dir, [f"pipe leak, call {PLANTED['mobile']}"])
    assert "label" in pred


def test_cli_redact_copies_with_placeholders(tmp_path, capsys):
    src = tmp_path / "calls.jsonl"
    src.write_text(json.dumps({"text": f"身份证{PLANTED['id']}，电话{PLANTED['mobile']}",
                               "label": "社保"}, ensure_ascii=True) + "\n", encoding="utf-8")
    dst = tmp_path / "out" / "calls.jsonl"
    assert main(["redact", str(src), str(dst)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["redacted"] == {"ID_CARD": 1, "MOBILE": 1}
    assert json.loads(dst.read_text(encoding="utf-8")) == {
        "text": "身份证<ID_CARD>，电话<MOBILE>", "label": "社保"}
    assert main(["redact", str(src), str(dst)]) == 2  # never overwritten silently
    assert "exists" in capsys.readouterr().err


def test_cli_redact_conll_keeps_the_columns(tmp_path, capsys):
    src = tmp_path / "ner.conll"
    src.write_text(f"张 B-PER\n三 I-PER\n{PLANTED['mobile']} O\n\n", encoding="utf-8")
    dst = tmp_path / "ner.redacted.conll"
    assert main(["redact", str(src), str(dst)]) == 0
    assert dst.read_text(encoding="utf-8") == "张 B-PER\n三 I-PER\n<MOBILE> O\n\n"
