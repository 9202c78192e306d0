"""Continual learning (peftgov.continual): the transfer metrics, the replay buffer, head growth,
the penalty hook, per-task routing, forgetting, and bad ``continual:`` blocks."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from conftest import write_jsonl

from peftgov import continual, load_recipe, train
from peftgov.errors import PeftgovError, RecipeError

KEYWORDS = {
    "water": ["pipe", "leak", "water", "flood"],
    "tax": ["tax", "refund", "income", "payment"],
    "road": ["road", "pothole", "street", "traffic"],
    "house": ["house", "near", "today", "again"],
}
TASK_A, TASK_B = ["water", "tax"], ["road", "house"]


def rows(labels: list[str], n: int, seed: int) -> list[dict[str, str]]:
    """``n`` rows cycling through ``labels``, each 3 of its label's 4 keywords."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = rng.sample(KEYWORDS[label], 3)
        out.append({"text": " ".join(words), "label": label})
    return out


@pytest.fixture(scope="module")
def four_labels(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("four")
    return {
        split: str(write_jsonl(out / f"{split}.jsonl", rows(list(KEYWORDS), n, seed)))
        for split, n, seed in (("train", 80, 1), ("validation", 20, 2), ("test", 20, 3))
    }


def recipe(tiny_bert_dir, data, out: Path, **continual_keys):
    return load_recipe({
        "model": {"name": str(tiny_bert_dir)},
        "data": {"name": "toy4", **data},
        "task": {"name": "classification", "max_length": 16},
        "method": {"name": "lora"},
        "train": {"seed": 0, "epochs": 3, "batch_size": 8, "lr": 1e-2, "warmup_ratio": 0.0},
        "output": {"dir": str(out)},
        "continual": {"split_labels": [TASK_A, TASK_B], **continual_keys},
    })


# --------------------------------------------------------------------------- metrics


def test_transfer_metrics_match_a_hand_computation():
    R = [[0.9, 0.1, 0.0], [0.6, 0.8, 0.2], [0.5, 0.7, 0.95]]
    b = [0.3, 0.05, 0.1]
    m = continual.transfer_metrics(R, b)
    assert m["ACC"] == pytest.approx((0.5 + 0.7 + 0.95) / 3)
    assert m["BWT"] == pytest.approx(((0.5 - 0.9) + (0.7 - 0.8)) / 2)  # -0.25
    assert m["FWT"] == pytest.approx(((0.1 - 0.05) + (0.2 - 0.1)) / 2)  # 0.075


def test_seeded_label_split():
    labels = [f"l{i}" for i in range(77)]
    groups = continual.split_labels(labels, 5, seed=42)
    assert [len(g) for g in groups] == [16, 16, 15, 15, 15]
    assert sorted(lab for g in groups for lab in g) == sorted(labels)
    assert groups == continual.split_labels(list(reversed(labels)), 5, seed=42)
    assert groups != continual.split_labels(labels, 5, seed=43)


# --------------------------------------------------------------------------- replay


def _stream(n_stages=3, per_stage=30):
    return [
        [{"text": f"s{s}-{i}", "label": f"c{s}-{i % 3}"} for i in range(per_stage)]
        for s in range(n_stages)
    ]


@pytest.mark.parametrize("policy", ["reservoir", "balanced"])
def test_replay_buffer_is_bounded_seeded_and_holds_only_past_stages(policy):
    def fill(seed):
        buf = continual.ReplayBuffer(10, policy, seed, lambda r: r["label"])
        seen, held = [], []
        for stage in _stream():
            # what stage s trains on besides its own rows: earlier stages' rows only
            assert all(r in seen for r in buf.items)
            assert not any(r in stage for r in buf.items)
            held.append([r["text"] for r in buf.items])
            buf.add(stage)
            seen += stage
            assert len(buf.items) <= 10
        return held, buf

    held, buf = fill(0)
    assert held[0] == [] and len(held[1]) == 10 and len(buf.items) == 10
    assert fill(0)[0] == held  # same seed, same buffer
    assert fill(1)[0] != held  # another seed draws others
    if policy == "balanced":  # 9 labels seen, 10 places: the first label gets 2
        counts = {}
        for r in buf.items:
            counts[r["label"]] = counts.get(r["label"], 0) + 1
        assert sorted(counts.values()) == [1] * 8 + [2] and counts["c0-0"] == 2


# --------------------------------------------------------------------------- weights


def _model(tiny_bert_dir, labels):
    from peftgov.methods import get_method
    from peftgov.tasks import get_task

    r = load_recipe({"model": {"name": str(tiny_bert_dir)}, "data": {"train": "x"},
                     "method": {"name": "lora"}})
    task = get_task("classification")
    torch.manual_seed(len(labels))
    model = task.build_model(str(tiny_bert_dir), r, {"labels": labels})
    return get_method("lora").apply(model, r.method, head=task.head_modules(model),
                                    peft_task_type=task.peft_task_type)


def test_head_growth_keeps_old_rows_bit_identical(tiny_bert_dir):
    old = _model(tiny_bert_dir, TASK_A)
    with torch.no_grad():  # "trained": every trainable tensor moved
        for p in old.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p))
    new = _model(tiny_bert_dir, TASK_A + TASK_B)
    fresh = {n: p.detach().clone() for n, p in new.named_parameters()}
    previous = {n: p.detach().clone() for n, p in old.named_parameters() if p.requires_grad}
    continual.carry_over(new, previous)
    params = dict(new.named_parameters())
    grown = [n for n, t in previous.items() if params[n].shape != t.shape]
    assert grown and all("classifier" in n for n in grown)  # weight and bias of the head
    for name, tensor in previous.items():
        assert torch.equal(params[name][: tensor.shape[0]], tensor)  # bit-identical
        assert torch.equal(params[name][tensor.shape[0]:], fresh[name][tensor.shape[0]:])
    with pytest.raises(PeftgovError, match="cannot carry"):
        continual.carry_over(_model(tiny_bert_dir, ["water"] * 1 + ["x"]), {
            n: t for n, t in _model(tiny_bert_dir, TASK_A + TASK_B + ["y"]).named_parameters()
            if t.requires_grad
        })


def test_anchor_penalty_matches_a_hand_computation():
    model = torch.nn.Linear(2, 3)  # weight 3x2, bias 3; the anchor knows 2 rows (a grown head)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]))
        model.bias.copy_(torch.tensor([1.0, 1.0, 7.0]))
    anchor = {"weight": torch.tensor([[1.0, 1.0], [2.0, 4.0]]), "bias": torch.tensor([0.0, 1.0])}
    fisher = {"weight": torch.tensor([[5.0, 2.0], [3.0, 1.0]]), "bias": torch.tensor([4.0, 9.0])}
    # (2-1)^2 + (3-2)^2 + (1-0)^2 = 3; weighted: 2*1 + 3*1 + 4*1 = 9; times strength / 2
    assert continual.Anchor(anchor, None, 2.0)(model).item() == pytest.approx(3.0)
    assert continual.Anchor(anchor, fisher, 0.5)(model).item() == pytest.approx(9.0 / 4)


# --------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def naive_and_per_task(tiny_bert_dir, four_labels, tmp_path_factory):
    out = tmp_path_factory.mktemp("continual")
    return {
        s: train(recipe(tiny_bert_dir, four_labels, out / s, strategy=s), progress=False)
        for s in ("naive", "per_task")
    }


def test_naive_forgets_while_per_task_does_not(naive_and_per_task):
    naive = naive_and_per_task["naive"].metrics["continual"]
    per_task = naive_and_per_task["per_task"].metrics["continual"]
    for m in (naive, per_task):  # both learn each stage
        assert m["R"][0][0] >= 0.9 and m["R"][1][1] >= 0.9
    assert naive["R"][1][0] <= naive["R"][0][0] - 0.5  # water / tax forgotten
    assert naive["BWT"] <= -0.5
    assert naive["R"][0][1] == 0.0 and naive["b"][1] == 0.0  # road / house not in the head yet
    assert per_task["BWT"] == 0.0 and per_task["R"][1][0] == per_task["R"][0][0]
    assert per_task["FWT"] == 0.0
    R, b = naive["R"], naive["b"]
    assert naive["ACC"] == pytest.approx((R[1][0] + R[1][1]) / 2)
    assert naive["FWT"] == pytest.approx(R[0][1] - b[1])


def test_continual_run_directory_and_metrics(naive_and_per_task):
    res = naive_and_per_task["naive"]
    m = json.loads((res.run_dir / "metrics.json").read_text())
    assert m["test"]["accuracy"] == m["continual"]["ACC"]
    assert m["continual"]["labels"] == TASK_A + TASK_B  # the head's rows, in stage order
    stage1 = json.loads((res.run_dir / "stage1" / "task_state.json").read_text())
    assert stage1["labels"] == TASK_A + TASK_B
    stage0 = json.loads((res.run_dir / "stage0" / "task_state.json").read_text())
    assert stage0["labels"] == TASK_A
    for i, labels in enumerate((TASK_A, TASK_B)):  # each stage trains on its labels only
        train_rows = (res.run_dir / "data" / f"stage{i}" / "train.jsonl").read_text().splitlines()
        assert {json.loads(r)["label"] for r in train_rows} == set(labels)
    assert (res.run_dir / "recipe.yaml").read_text().count("continual:") == 1
    assert m["steps"] == sum(s["steps"] for s in m["continual"]["stages"])


def test_per_task_routes_to_the_stage_model(naive_and_per_task):
    from peftgov.runs import predict_run

    run_dir = naive_and_per_task["per_task"].run_dir
    texts = ["pipe leak water", "tax refund income", "road pothole street", "house near today"]
    for stage, labels in enumerate((TASK_A, TASK_B)):
        routed = continual.predict(run_dir, texts, stage=stage)
        assert routed == predict_run(run_dir / f"stage{stage}", texts)
        assert {r["label"] for r in routed} <= set(labels)
    assert [r["label"] for r in continual.predict(run_dir, texts[:2], stage=0)] == TASK_A
    assert [r["label"] for r in continual.predict(run_dir, texts[2:], stage=1)] == TASK_B
    with pytest.raises(PeftgovError, match="give the stage"):
        continual.predict(run_dir, texts)


def test_predict_and_eval_on_the_continual_folder_use_the_last_stage(naive_and_per_task, capsys):
    """`peftgov predict RUN` on a shared strategy's top folder is its last stage (every label
    seen); on a per_task run it is a one-line error naming a stage folder."""
    from peftgov.cli import main
    from peftgov.runs import predict_run

    texts = ["pipe leak water", "road pothole street"]
    naive = naive_and_per_task["naive"].run_dir
    assert predict_run(naive, texts) == predict_run(naive / "stage1", texts)
    assert main(["predict", str(naive), "--text", texts[1]]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["label"] in TASK_A + TASK_B
    per_task = naive_and_per_task["per_task"].run_dir
    assert main(["predict", str(per_task), "--text", texts[0]]) == 2
    err = capsys.readouterr().err.strip()
    assert "give the stage" in err and str(per_task / "stage1") in err and "Traceback" not in err


def test_l2_penalty_holds_the_shared_weights(tiny_bert_dir, four_labels, tmp_path,
                                            naive_and_per_task):
    """The loop's penalty hook: a strong L2 pull keeps stage 1's LoRA weights at stage 0's,
    where naive training moves them."""
    from safetensors.torch import load_file

    def lora_drift(run_dir):  # |stage 1 - stage 0| / |stage 0| over the LoRA tensors
        a, b = (load_file(str(run_dir / f"stage{i}" / "adapter" / "adapter_model.safetensors"))
                for i in (0, 1))
        keys = [k for k in a if "lora_" in k]
        moved = sum(float((a[k] - b[k]).pow(2).sum()) for k in keys)
        return (moved / sum(float(a[k].pow(2).sum()) for k in keys)) ** 0.5

    held = train(recipe(tiny_bert_dir, four_labels, tmp_path / "l2", strategy="l2",
                        strength=1e6), progress=False)
    # AdamW's steps are about lr whatever the gradient's size: the pull cannot be exact
    assert lora_drift(held.run_dir) < 0.15 < lora_drift(naive_and_per_task["naive"].run_dir)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "block, key",
    [
        ({"split_labels": [["a", "b"], []]}, "continual.split_labels[1]: is an empty stage"),
        ({"split_labels": [["a", "b"], ["c", "a"]]},
         "continual.split_labels[1]: label 'a' is already in stage 0"),
        ({"stages": 3, "strategy": "forget"}, "continual.strategy: must be one of"),
        ({"stages": [{"train": "a.jsonl", "test": "b.jsonl"}, {"train": "c.jsonl"}]},
         "continual.stages[1].test: is required"),
        ({"stages": 1}, "continual.stages: must be at least 2"),
        ({"stages": 2, "split_labels": [["a"], ["b"]]}, "continual.stages: give exactly one"),
        ({"stages": 2, "replay_sise": 5}, "continual.replay_sise: unknown key"),
    ],
)
def test_bad_continual_block_is_a_one_line_recipe_error(tmp_path, block, key):
    path = tmp_path / "r.yaml"
    path.write_text(json.dumps({"data": {"train": "x.jsonl"}, "continual": block}))
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert str(err.value).startswith(f"{path}: {key}") and "\n" not in str(err.value)


def test_split_naming_a_label_the_data_lacks(tiny_bert_dir, four_labels, tmp_path, capsys):
    from peftgov.cli import main

    path = tmp_path / "r.yaml"
    r = recipe(tiny_bert_dir, four_labels, tmp_path / "run").to_dict()
    r["continual"]["split_labels"] = [TASK_A, ["road", "hous"]]
    path.write_text(json.dumps(r))
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"peftgov: error: {path}: continual.split_labels: labels ['hous'] never "
                   f"appear in {four_labels['train']}")
    assert not (tmp_path / "run").exists()  # refused before the run directory is opened


def test_check_plans_the_stages_and_writes_nothing(tiny_bert_dir, four_labels, tmp_path, capsys):
    """``train --check`` on a continual recipe: one line per planned stage, the one-run summary,
    nothing written; a label no stage has fails with run's one-line error, also writing nothing."""
    from peftgov.cli import main

    path = tmp_path / "r.yaml"
    r = recipe(tiny_bert_dir, four_labels, tmp_path / "run").to_dict()
    path.write_text(json.dumps(r))
    assert main(["train", str(path), "--check"]) == 0
    out = capsys.readouterr().out.splitlines()
    stages = [line for line in out if line.startswith("peftgov: continual ")]
    assert len(stages) == len(r["continual"]["split_labels"]) and "2 labels" in stages[0]
    assert out[-1].endswith(f"nothing written to {tmp_path / 'run'}")
    r["continual"]["split_labels"] = [TASK_A, ["road", "hous"]]
    path.write_text(json.dumps(r))
    assert main(["train", str(path), "--check"]) == 2
    assert "continual.split_labels: labels ['hous']" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.yaml"]


# --------------------------------------------------------------------------- report


def test_report_states_acc_bwt_fwt_and_plots_r(tmp_path):
    from peftgov.bench.report import write_report

    def result(label, seed, R, b):
        m = continual.transfer_metrics(R, b)
        return {"method": "lora", "seed": seed, "dataset": "toy4", "task": "classification",
                "metric": "accuracy", "test": {"accuracy": m["ACC"]}, "trainable_params": 10,
                "bench": {"id": f"toy4-{label}-seed{seed}", "label": label},
                "continual": {**m, "R": R, "b": b, "setting": "class-incremental"}}

    runs = [result("naive", 1, [[1.0, 0.0], [0.2, 0.9]], [0.5, 0.0]),
            result("naive", 2, [[0.8, 0.0], [0.0, 1.0]], [0.5, 0.0]),
            result("per_task", 1, [[0.9, 0.5], [0.9, 0.8]], [0.5, 0.5])]
    for r in runs:
        (tmp_path / f"{r['bench']['id']}.json").write_text(json.dumps(r))
    text = write_report(tmp_path).read_text()
    # naive: ACC (55, 50) -> 52.50 +- 3.54; BWT (-80, -80) -> -80.00 +- 0.00; FWT 0
    assert ("| naive | 2 | class-incremental | 52.50 \u00b1 3.54 | -80.00 \u00b1 0.00 | "
            "0.00 \u00b1 0.00 | 10.0 / 95.0 |") in text
    assert "| per_task | 1 | class-incremental | 85.00 | 0.00 | 0.00 | 90.0 / 80.0 |" in text
    assert (tmp_path / "continual-toy4.png").stat().st_size > 1000
