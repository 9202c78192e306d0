"""The training loop and the run directory: gradient accumulation keeps the global batch, early
stopping, refusing to clobber a finished run, the RUNNING marker, and ``peftgov eval`` /
``peftgov predict`` on a finished run."""

from __future__ import annotations

import json

import pytest

import peftgov
from peftgov.cli import main
from peftgov.errors import ArtifactError, PeftgovError, RecipeError
from peftgov.runs import load_run

STEPS_PER_EPOCH = 8  # 60 toy rows, global batch 8


def train(recipe):
    return peftgov.train(peftgov.load_recipe(recipe), progress=False)


def log_records(run_dir):
    return [json.loads(x) for x in (run_dir / "log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("micro", [8, 4, 2])
def test_gradient_accumulation_keeps_the_global_batch(make_recipe, tmp_path, micro):
    recipe = make_recipe(
        tmp_path, train={"epochs": 1, "batch_size": 8, "micro_batch_size": micro, "log_every": 1}
    )
    result = train(recipe)
    m = result.metrics
    assert m["steps"] == STEPS_PER_EPOCH  # 8 optimizer steps however the batch is split
    steps = [r["step"] for r in log_records(result.run_dir) if "step" in r and "eval" not in r]
    assert steps == list(range(1, STEPS_PER_EPOCH + 1))
    assert [e["step"] for e in m["eval_history"]] == [STEPS_PER_EPOCH]


def test_micro_batch_must_divide_the_global_batch(make_recipe, tmp_path):
    with pytest.raises(RecipeError, match="train.batch_size"):
        train(make_recipe(tmp_path, train={"batch_size": 8, "micro_batch_size": 3}))
    assert not (tmp_path / "run").exists()  # refused before touching the output


def test_max_steps_overrides_epochs(make_recipe, tmp_path):
    m = train(make_recipe(tmp_path, train={"epochs": 5, "max_steps": 3})).metrics
    assert m["steps"] == 3
    assert [e["step"] for e in m["eval_history"]] == [3]


def test_eval_every_n_steps(make_recipe, tmp_path):
    m = train(make_recipe(tmp_path, train={"epochs": 2, "eval_every": 5})).metrics
    # every 5 steps, plus the final partial interval at step 16
    assert [e["step"] for e in m["eval_history"]] == [5, 10, 15, 16]


def test_early_stopping_stops_before_max_epochs(make_recipe, tmp_path):
    # lr so small the weights cannot move the accuracy: the second evaluation does not improve
    # (a tie is not an improvement) and patience=1 stops the run there.
    epochs = 6
    recipe = make_recipe(
        tmp_path, train={"epochs": epochs, "lr": 1e-12, "patience": 1, "metric": "accuracy"}
    )
    m = train(recipe).metrics
    assert len(m["eval_history"]) == 2
    assert m["steps"] == 2 * STEPS_PER_EPOCH < epochs * STEPS_PER_EPOCH
    assert m["best_step"] == STEPS_PER_EPOCH
    assert m["eval"]["step"] == STEPS_PER_EPOCH


def test_best_state_is_what_gets_tested_and_saved(make_recipe, tmp_path):
    """Validation labels rotated (water->tax->road->water): the better the model learns the
    task, the worse its validation loss, so the best state (metric=loss) is the first
    evaluation and the run must go back to it before testing and saving."""
    from conftest import toy_rows, write_jsonl

    rotate = {"water": "tax", "tax": "road", "road": "water"}
    val = [{**r, "label": rotate[r["label"]]} for r in toy_rows(15, seed=2)]
    recipe = make_recipe(
        tmp_path,
        data={"validation": str(write_jsonl(tmp_path / "rotated.jsonl", val))},
        train={"epochs": 3, "lr": 1e-2, "metric": "loss"},
    )
    result = train(recipe)
    m = result.metrics
    history = m["eval_history"]
    assert [e["step"] for e in history] == [8, 16, 24]
    assert history[0]["loss"] < history[-1]["loss"]  # the premise: validation gets worse
    assert m["best_step"] == 8 and m["eval"] == history[0]
    # the saved run is the best state, not the last one
    again = peftgov.evaluate(result.run_dir, split="validation")
    assert again["loss"] == pytest.approx(history[0]["loss"], rel=1e-5)
    assert again["accuracy"] == history[0]["accuracy"]
    test = peftgov.evaluate(result.run_dir, split="test")
    assert test["accuracy"] == m["test"]["accuracy"]
    assert test["loss"] == pytest.approx(m["test"]["loss"], rel=1e-5)


def test_finished_run_is_not_overwritten_without_permission(make_recipe, tmp_path):
    first = train(make_recipe(tmp_path, train={"epochs": 1}))
    run_dir = first.run_dir
    metrics_before = (run_dir / "metrics.json").read_bytes()
    assert not (run_dir / "RUNNING").exists()
    assert (run_dir / "adapter" / "adapter_config.json").is_file()

    with pytest.raises(PeftgovError, match="already holds a finished run") as info:
        train(make_recipe(tmp_path, train={"epochs": 1}, method={"name": "bitfit"}))
    assert "output.overwrite" in str(info.value)
    assert (run_dir / "metrics.json").read_bytes() == metrics_before
    assert (run_dir / "adapter" / "adapter_config.json").is_file()
    assert not (run_dir / "RUNNING").exists()
    assert load_run(run_dir).recipe.method.name == "lora"

    # with permission: the old run is replaced entirely (no stale lora adapter left behind)
    second = train(
        make_recipe(
            tmp_path, train={"epochs": 1}, method={"name": "bitfit"}, output={"overwrite": True}
        )
    )
    assert second.run_dir == run_dir
    assert json.loads((run_dir / "metrics.json").read_text())["method"] == "bitfit"
    assert not (run_dir / "adapter").exists()
    assert (run_dir / "trainable.safetensors").is_file()
    assert not (run_dir / "RUNNING").exists()
    assert load_run(run_dir).recipe.method.name == "bitfit"


def test_a_failed_run_leaves_the_running_marker_and_no_metrics(make_recipe, tmp_path):
    # an unknown validation metric is only discovered at the first evaluation, mid-run
    with pytest.raises(RecipeError, match="train.metric"):
        train(make_recipe(tmp_path, train={"epochs": 1, "metric": "bogus"}))
    run_dir = tmp_path / "run"
    assert (run_dir / "RUNNING").is_file()
    assert not (run_dir / "metrics.json").exists()
    with pytest.raises(ArtifactError, match="did not finish"):
        load_run(run_dir)
    assert main(["predict", str(run_dir), "--text", "pipe"]) == 2
    # an unfinished run directory may be trained into again without output.overwrite
    result = train(make_recipe(tmp_path, train={"epochs": 1}))
    assert not (result.run_dir / "RUNNING").exists()
    assert (result.run_dir / "metrics.json").is_file()


# --------------------------------------------------------------------------- eval / predict


@pytest.fixture(scope="module")
def finished(make_recipe, tmp_path_factory):
    recipe = make_recipe(tmp_path_factory.mktemp("finished"), train={"epochs": 8, "lr": 1e-2})
    return train(recipe)


def test_cli_eval_prints_the_test_metrics(finished, capsys):
    assert main(["eval", str(finished.run_dir)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["split"] == "test"
    assert out["n"] == 15
    assert out["accuracy"] == finished.metrics["test"]["accuracy"]
    assert out["macro_f1"] == finished.metrics["test"]["macro_f1"]


def test_cli_eval_on_another_file(finished, capsys, tmp_path):
    from conftest import toy_rows, write_jsonl

    data = write_jsonl(tmp_path / "other.jsonl", toy_rows(9, seed=11))
    assert main(["eval", str(finished.run_dir), "--data", str(data)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 9 and out["data"] == str(data)


TEXTS = {"pipe leak flood": "water", "tax refund income": "tax", "pothole road traffic": "road"}


def test_cli_predict_prints_label_and_score(finished, capsys):
    argv = ["predict", str(finished.run_dir)]
    for text in TEXTS:
        argv += ["--text", text]
    assert main(argv) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == list(TEXTS)
    for row in rows:
        assert row["label"] == TEXTS[row["text"]]
        assert 1 / 3 < row["score"] <= 1.0


def test_cli_predict_from_an_input_file(finished, capsys, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text('{"text": "pipe leak flood"}\n\ntax refund income\n', encoding="utf-8")
    assert main(["predict", str(finished.run_dir), "--input", str(path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in rows] == ["water", "tax"]


def test_python_predict_matches_the_cli(finished):
    rows = peftgov.predict(finished.run_dir, list(TEXTS))
    assert [r["label"] for r in rows] == list(TEXTS.values())
    assert all(set(r) >= {"text", "label", "score"} for r in rows)


def test_predict_on_a_missing_run_dir_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["predict", str(missing), "--text", "pipe"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("peftgov: error: ") and str(missing) in err
    assert "Traceback" not in err
    assert main(["eval", str(missing)]) == 2


def test_accumulated_micro_batches_give_the_same_update_as_one_batch(make_recipe, tmp_path):
    """Without length grouping the sampler draws the same order whatever the micro batch, so
    micro batches of 4 accumulated in pairs see exactly the examples of the batches of 8; the
    mean loss of two halves is the loss of the whole, so the trained weights must agree (to
    float rounding). 7 steps: the 8th (last, partial) batch of the epoch is left out."""
    import torch

    def trained(micro):
        recipe = make_recipe(
            tmp_path / f"m{micro}",
            # no dropout anywhere, so the runs are deterministic. (Not bitfit: the key bias has
            # an exactly-zero gradient in theory, and Adam blows its rounding noise up to lr-sized
            # steps that differ between runs.)
            method={"name": "lora", "r": 4, "dropout": 0.0},
            train={"max_steps": 7, "batch_size": 8, "micro_batch_size": micro,
                   "group_by_length": False, "lr": 1e-2},
        )
        model = train(recipe).model
        return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    whole, halves, quarters = trained(8), trained(4), trained(2)
    lora_b = [n for n in whole if "lora_B" in n]
    assert lora_b and all(whole[n].abs().max() > 0 for n in lora_b)  # zero at init: it trained
    for other in (halves, quarters):
        for name in whole:
            torch.testing.assert_close(other[name], whole[name], rtol=0, atol=1e-5, msg=name)


def test_padding_to_a_multiple_and_compiling_change_nothing_but_the_shapes(make_recipe, tmp_path):
    """``train.pad_to_multiple_of`` pads every batch to a multiple of its value (the padding is
    masked out) and ``train.compile`` runs the same model through torch.compile: the trained
    weights must agree with the plain eager run's to float rounding."""
    import torch

    from peftgov.evaluation import make_loader
    from peftgov.session import build

    s = build(peftgov.load_recipe(make_recipe(tmp_path / "b", train__pad_to_multiple_of=16)),
              progress=False)
    plain_widths = {b["input_ids"].shape[1]
                    for b in make_loader(s.prepared.validation, s.task, s.tokenizer, batch_size=4)}
    assert any(w % 16 for w in plain_widths)  # the premise: unpadded batches of other lengths
    for loader in (s.train_dl, s.val_dl, s.test_dl):
        assert {b["input_ids"].shape[1] % 16 for b in loader} == {0}

    def trained(name, **train_opts):
        recipe = make_recipe(
            tmp_path / name,
            method={"name": "lora", "r": 4, "dropout": 0.0},  # deterministic: no dropout
            train={"max_steps": 5, "batch_size": 8, "lr": 1e-2, **train_opts},
        )
        model = train(recipe).model
        blocks = [m for m in model.modules() if getattr(m, "_compiled_call_impl", None)]
        assert bool(blocks) == train_opts.get("compile", False)  # compiled in place, or not
        return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    plain = trained("plain")
    padded = trained("padded", pad_to_multiple_of=16)
    compiled = trained("compiled", pad_to_multiple_of=16, compile=True)
    assert any(plain[n].abs().max() > 0 for n in plain if "lora_B" in n)  # it trained
    for other in (padded, compiled):
        for name in plain:
            torch.testing.assert_close(other[name], plain[name], rtol=0, atol=1e-5, msg=name)


@pytest.mark.parametrize("method", [{"name": "full"}, {"name": "lora", "r": 4}])
def test_head_lr_trains_the_head_at_its_own_rate(make_recipe, tmp_path, method):
    """``train.head_lr``: with the backbone's lr ~0 the method's weights barely move while the
    head, at its own rate, moves a lot (and takes the weight decay of its group)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from peftgov.session import build_optimizer
    from peftgov.tasks import get_task

    recipe = peftgov.load_recipe(
        make_recipe(tmp_path, method=method, train={"epochs": 2, "lr": 1e-12, "head_lr": 0.05})
    )
    # the optimizer's groups: every head parameter at head_lr, everything else at lr
    task = get_task("classification")
    base = AutoModelForSequenceClassification.from_pretrained(recipe.model.name, num_labels=3)
    for p in base.parameters():
        p.requires_grad_(False)
    model = peftgov.methods.get_method(method["name"]).apply(
        base, recipe.method, head=task.head_modules(base), peft_task_type="SEQ_CLS"
    )
    opt = build_optimizer(model, recipe, task.head_modules(model))
    names = {id(p): n for n, p in model.named_parameters()}
    by_lr: dict[float, list[str]] = {}
    for g in opt.param_groups:
        by_lr.setdefault(g["lr"], []).extend(names[id(p)] for p in g["params"])
    assert set(by_lr) == {1e-12, 0.05}
    assert by_lr[0.05] and all("classifier" in n for n in by_lr[0.05])
    assert by_lr[1e-12] and not any("classifier" in n for n in by_lr[1e-12])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(by_lr[0.05]) | set(by_lr[1e-12])

    # end to end: the backbone (full) / the LoRA B matrices (initialised to 0) did not move,
    # while the head alone lowered the test loss
    result = peftgov.train(recipe, progress=False)
    after = dict(load_run(result.run_dir).model.named_parameters())
    if method["name"] == "full":
        pretrained = AutoModelForSequenceClassification.from_pretrained(recipe.model.name)
        checked = 0
        for n, p0 in pretrained.named_parameters():
            if "classifier" not in n:
                assert torch.allclose(after[n], p0, atol=1e-6, rtol=0), n
                checked += 1
    else:
        lora_b = [p for n, p in after.items() if "lora_B" in n]
        checked = len(lora_b)
        assert all(p.abs().max().item() < 1e-6 for p in lora_b)
    assert checked >= 4
    m = result.metrics
    assert m["test"]["loss"] < m["test_before"]["loss"] - 0.1


def test_head_lr_needs_a_head(make_recipe, tmp_path):
    from peftgov.session import build_optimizer

    recipe = peftgov.load_recipe(make_recipe(tmp_path, train={"head_lr": 1e-3}))
    model = torch_linear_model()
    with pytest.raises(RecipeError, match="train.head_lr"):
        build_optimizer(model, recipe, [])


def test_adamw_is_fused_and_steps_as_the_loop_does(make_recipe, tmp_path):
    """The optimizer is torch's fused AdamW on the CPU, and its steps follow the per-tensor
    loop's (same rule, float rounding apart), weight decay groups included."""
    import torch

    from peftgov.session import build_optimizer

    recipe = peftgov.load_recipe(make_recipe(tmp_path, train={"weight_decay": 0.1}))
    models = [torch_linear_model() for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    start = [p.detach().clone() for p in models[0].parameters()]
    fused = build_optimizer(models[0], recipe)
    assert all(g["fused"] for g in fused.param_groups)
    assert {g["weight_decay"] for g in fused.param_groups} == {0.0, 0.1}
    twin = dict(zip(models[0].parameters(), models[1].parameters()))
    plain = torch.optim.AdamW(
        [{**{k: v for k, v in g.items() if k not in ("params", "fused")},
          "params": [twin[p] for p in g["params"]]} for g in fused.param_groups],
        lr=recipe.train.lr, foreach=False,
    )
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    for _ in range(5):
        for model, opt in ((models[0], fused), (models[1], plain)):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
    for p0, a, b in zip(start, models[0].parameters(), models[1].parameters()):
        assert not torch.allclose(a, p0)  # the steps moved it
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def torch_linear_model():
    import torch

    return torch.nn.Sequential(torch.nn.Linear(2, 2))


def test_before_cache_key_covers_peftgovs_code_but_not_the_benchmark_harness(tmp_path):
    """Editing the harness (bench/) keeps cached before-training figures; editing anything
    else in the package invalidates them."""
    from peftgov.before import code_digest

    pkg = tmp_path / "peftgov"
    (pkg / "bench").mkdir(parents=True)
    (pkg / "loop.py").write_text("a = 1\n")
    (pkg / "bench" / "report.py").write_text("b = 1\n")
    first = code_digest(pkg)
    (pkg / "bench" / "report.py").write_text("b = 2\n")
    assert code_digest(pkg) == first
    (pkg / "loop.py").write_text("a = 2\n")
    assert code_digest(pkg) != first


def test_before_training_figure_is_shared_by_methods_that_start_as_the_backbone(
    make_recipe, tmp_path, monkeypatch
):
    """LoRA, BitFit and full fine-tuning start as the backbone itself: with the same seed their
    before-training test metrics are identical, so the second and third reuse the first's;
    prompt tuning (not the identity) always evaluates; nothing else about training changes."""
    monkeypatch.setenv("PEFTGOV_CACHE", str(tmp_path / "cache"))
    runs = {}
    for name in ("lora", "bitfit", "full", "prompt"):
        method = {"name": name, "num_virtual_tokens": 4} if name == "prompt" else {"name": name}
        recipe = make_recipe(tmp_path / name, method=method, train={"max_steps": 3})
        runs[name] = train(recipe).metrics
    cost = {k: m["test_before_cost"]["cached"] for k, m in runs.items()}
    assert cost == {"lora": False, "bitfit": True, "full": True, "prompt": False}
    assert runs["bitfit"]["test_before"] == runs["lora"]["test_before"] == runs["full"]["test_before"]
    assert runs["prompt"]["test_before"] != runs["lora"]["test_before"]

    fresh = make_recipe(tmp_path / "fresh", method={"name": "bitfit"},
                        train={"max_steps": 3, "cache_test_before": False})
    again = train(fresh).metrics
    assert again["test_before_cost"]["cached"] is False
    assert again["test_before"] == runs["bitfit"]["test_before"]  # the cache held the truth
    def untimed(m):  # the clock stamps (wall_s, cpu_s, train_time_s) differ between any two runs
        return {k: v for k, v in m.items() if k not in ("wall_s", "cpu_s", "train_time_s")}

    # skipping the evaluation changes no training
    assert untimed(again["eval"]) == untimed(runs["bitfit"]["eval"])


def test_quality_target_records_time_and_the_test_metric_of_that_state(make_recipe, tmp_path):
    """train.target_metric (time-to-accuracy): the first validation at or above it is recorded
    with its wall clock and the test metrics of that state; stop_at_target ends training
    there, so that state is the one tested at the end too."""
    recipe = make_recipe(
        tmp_path, train={"epochs": 3, "eval_every": 4, "target_metric": 0.0,
                         "stop_at_target": True},
    )
    m = train(recipe).metrics
    assert m["steps"] == 4 and [e["step"] for e in m["eval_history"]] == [4]
    target = m["target"]
    assert target["step"] == 4 and target["target"] == 0.0 and target["metric"] == "accuracy"
    assert target["test"] == m["test"]  # the stopped-at state is the one tested at the end
    first = m["eval_history"][0]
    assert target["wall_s"] == first["wall_s"] and 0 < first["train_time_s"] < first["wall_s"]
    assert m["wall_s"] >= first["wall_s"]
    # the CPU-seconds clock: stamped at the same validation, growing to the end of the run
    assert target["cpu_s"] == first["cpu_s"] > 0 and m["cpu_s"] >= first["cpu_s"]


def test_quality_target_not_reached_is_null_and_training_runs_on(make_recipe, tmp_path):
    m = train(make_recipe(tmp_path, train={"epochs": 2, "eval_every": 4,
                                           "target_metric": 1.01})).metrics
    assert m["target"] is None and m["steps"] == 2 * STEPS_PER_EPOCH
    walls = [e["wall_s"] for e in m["eval_history"]]
    assert walls == sorted(walls) and len(walls) == 4
    cpus = [e["cpu_s"] for e in m["eval_history"]]
    assert cpus == sorted(cpus) and cpus[0] > 0 and cpus[-1] <= m["cpu_s"]


def test_stop_at_target_needs_a_target(make_recipe, tmp_path):
    with pytest.raises(RecipeError, match="train.stop_at_target"):
        train(make_recipe(tmp_path, train={"stop_at_target": True}))
