"""The benchmark harness and report: statistics from hand-written result files, the suite
plan, skip-finished, failures kept apart, per-class sampling, and one end-to-end smoke suite
on the tiny BERT (real subprocesses, report with plots)."""

from __future__ import annotations

import csv
import json
import time
import math
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

from peftgov.bench import report, runner as harness, tta  # noqa: E402
from peftgov.bench.suite import ReportSpec  # noqa: E402

T_975_DF2 = 4.302653  # t(0.975, df=2), from tables
T_975 = {1: 12.706205, 2: 4.302653, 4: 2.776445, 10: 2.228139, 32 / 19: 5.176232}


# --------------------------------------------------------------------------- fixtures


def result(method: str, seed: int, accuracy: float, *, label=None, dataset="toy", size=None,
           per_class=None, params=1000, **extra) -> dict:
    """A result file as the harness writes it (metrics.json keys + a bench record)."""
    label = label or method
    rid = f"{dataset}-{label}-seed{seed}" + (f"-n{size}" if size else "")
    return {
        "method": method, "task": "classification", "model": "tiny", "dataset": dataset,
        "seed": seed, "trainable_params": params, "total_params": 100_000,
        "trainable_pct": params / 1000, "metric": "accuracy", "train_time_s": 10.0 + seed % 2,
        "train_samples_per_s": 100.0, "train_tokens_per_s": 2000.0, "peak_memory_mb": 500.0,
        "artifact_bytes": 2**20, "num_processes": 1, "mixed_precision": "no",
        "test": {"accuracy": accuracy, "macro_f1": accuracy - 0.01},
        "versions": {"torch": "2.x"},
        "bench": {"id": rid, "label": label, "wall_time_s": 20.0, "train_size": size,
                  "examples_per_class": per_class, "git_commit": "abc123def456"},
        **extra,
    }


def write_results(folder: Path, results: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for r in results:
        (folder / f"{r['bench']['id']}.json").write_text(json.dumps(r))


FULL = {42: 0.80, 43: 0.82, 44: 0.81}
LORA = {42: 0.79, 43: 0.80, 44: 0.82}
BITFIT = {42: 0.80, 43: 0.81, 44: 0.80}
PROMPT = {42: 0.70, 43: 0.72}  # two seeds only: Welch against full's three


@pytest.fixture
def fixture_results(tmp_path) -> Path:
    folder = tmp_path / "results"
    rows = (
        [result("full", s, v, params=100_000) for s, v in FULL.items()]
        + [result("lora", s, v, params=2_000) for s, v in LORA.items()]
        + [result("bitfit", s, v, params=300) for s, v in BITFIT.items()]
        + [result("prompt", s, v, params=100) for s, v in PROMPT.items()]
    )
    write_results(folder, rows)
    failed = folder / "failed"
    failed.mkdir()
    (failed / "toy-ia3-seed42.json").write_text(json.dumps({
        "id": "toy-ia3-seed42", "status": "failed", "returncode": 2,
        "error": "peftgov: error: recipe.yaml: method.bogus: unknown key",
    }))
    return folder


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as f:
        return {row["method"]: row for row in csv.DictReader(f)}


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("df", sorted(T_975))
def test_t_quantile_without_scipy_matches_tables(df):
    assert report.t_quantile_fallback(0.975, df) == pytest.approx(T_975[df], abs=2e-6)
    assert report.t_quantile_fallback(0.025, df) == pytest.approx(-T_975[df], abs=2e-6)
    assert report.t_quantile(0.975, df) == pytest.approx(T_975[df], abs=2e-6)


def test_paired_interval_by_hand():
    full = {s: v * 100 for s, v in FULL.items()}
    lora = {s: v * 100 for s, v in LORA.items()}
    d = report.diff_ci(lora, full)
    # per-seed differences: -1, -2, +1 -> mean -2/3; sd = sqrt(((-1/3)^2 + (-4/3)^2 + (5/3)^2) / 2)
    diffs = [-1.0, -2.0, 1.0]
    m = sum(diffs) / 3
    sd = math.sqrt(sum((x - m) ** 2 for x in diffs) / 2)
    half = T_975_DF2 * sd / math.sqrt(3)
    assert d.kind == "paired" and d.df == 2
    assert d.diff == pytest.approx(-2 / 3)
    assert sd == pytest.approx(math.sqrt(7 / 3))
    assert (d.low, d.high) == (pytest.approx(m - half, abs=1e-5), pytest.approx(m + half, abs=1e-5))
    assert (d.low, d.high) == (pytest.approx(-4.4612, abs=1e-4), pytest.approx(3.1279, abs=1e-4))


def test_welch_interval_by_hand():
    prompt = {s: v * 100 for s, v in PROMPT.items()}
    full = {s: v * 100 for s, v in FULL.items()}
    d = report.diff_ci(prompt, full)
    va, vb = 2.0 / 2, 1.0 / 3  # sample variances 2 and 1, over n = 2 and 3
    df = (va + vb) ** 2 / (va**2 / 1 + vb**2 / 2)
    assert df == pytest.approx(32 / 19)
    half = T_975[32 / 19] * math.sqrt(va + vb)
    assert d.kind == "welch"
    assert d.df == pytest.approx(df)
    assert d.diff == pytest.approx(-10.0)
    assert d.low == pytest.approx(-10 - half, abs=1e-4)
    assert d.high == pytest.approx(-10 + half, abs=1e-4)


def test_one_seed_gives_no_interval():
    d = report.diff_ci({1: 80.0}, {1: 81.0})
    assert d.kind == "none" and d.diff == pytest.approx(-1.0) and math.isnan(d.low)


def test_pareto_front():
    pts = {"full": (100.0, 81.0), "lora": (2.0, 80.3), "bitfit": (0.3, 80.3), "x": (5.0, 79.0)}
    assert report.pareto_front(pts) == {"full", "bitfit"}


# --------------------------------------------------------------------------- the report


def test_report_numbers_from_fixture_results(fixture_results):
    path = report.write_report(fixture_results, suite="fixture")
    rows = read_csv(fixture_results / "report.csv")
    assert set(rows) == {"full", "lora", "bitfit", "prompt"}  # the failed ia3 is no row

    full, lora, bitfit, prompt = rows["full"], rows["lora"], rows["bitfit"], rows["prompt"]
    assert float(full["test_mean_pts"]) == pytest.approx(81.0)
    assert float(full["test_std_pts"]) == pytest.approx(1.0)  # sqrt((1 + 1 + 0) / 2)
    assert float(lora["test_mean_pts"]) == pytest.approx((79 + 80 + 82) / 3)
    assert float(lora["test_std_pts"]) == pytest.approx(math.sqrt(7 / 3))
    assert float(lora["delta_vs_full_pts"]) == pytest.approx(-2 / 3)
    half = T_975_DF2 * math.sqrt(7 / 3) / math.sqrt(3)
    assert float(lora["ci95_low_pts"]) == pytest.approx(-2 / 3 - half, abs=1e-5)
    assert float(lora["ci95_high_pts"]) == pytest.approx(-2 / 3 + half, abs=1e-5)
    assert lora["ci_kind"] == "paired" and prompt["ci_kind"] == "welch"
    assert full["ci_kind"] == "reference" and full["delta_vs_full_pts"] == ""
    assert full["reference"] == "" and lora["reference"] == "full"
    assert lora["n_seeds"] == "3" and prompt["n_seeds"] == "2" and prompt["seeds"] == "42 43"
    # targets: LoRA within 0.5 (-0.67: missed), BitFit within 1.5 (-0.67: met), prompt: none
    assert lora["target_pts"] == "0.5" and lora["target_met"] == "False"
    assert bitfit["target_pts"] == "1.5" and bitfit["target_met"] == "True"
    assert prompt["target_pts"] == "" and prompt["target_met"] == ""
    assert float(full["train_time_s"]) == pytest.approx((10 + 11 + 10) / 3)
    assert float(full["artifact_mb"]) == pytest.approx(1.0)
    assert full["pareto"] == "True" and bitfit["pareto"] == "True" and lora["pareto"] == "False"

    text = path.read_text()
    assert "paired t" in text and "welch t" in text
    assert "**missed**" in text and "**met**" in text
    assert "target within 0.5 points of full \u2014 **missed**" in text
    assert "gap stated (no target)" in text
    assert "81.00 \u00b1 1.00" in text
    # the headline block README quotes: lr where the suite chose one, bold where a target is met
    head = text.split("Headline (the table README.md quotes):\n\n")[1].split("\n\n")[0]
    rows_by_label = {line.split(" | ")[0][2:]: line for line in head.splitlines()[2:]}
    assert rows_by_label["full"] == (
        "| full | recipe | 81.00 ± 1.00 | reference | 100 | 10 | 20 | n/a (process 500) |")
    assert rows_by_label["bitfit"].startswith(
        "| bitfit | recipe | **80.33 ± 0.58** | **−0.67 [")
    assert "| lora | recipe | 80.33 ± 1.53 | −0.67 [" in rows_by_label["lora"]
    failed_section = text.split("## Failed runs")[1]
    assert "toy-ia3-seed42" in failed_section and "method.bogus" in failed_section
    assert "toy-ia3" not in text.split("## Failed runs")[0]
    for png in ("pareto-toy.png", "efficiency-toy.png"):
        assert (fixture_results / png).stat().st_size > 1000
        assert f"]({png})" in text


def test_headline_names_the_learning_rate_each_row_trained_at(tmp_path):
    from peftgov.bench.headline import headline_lines

    runs = [result("full", s, 0.8) for s in (42, 43)] + [result("lora", s, 0.8) for s in (42, 43)]
    for r, lr in zip(runs, ({"train.lr": 2e-4}, {"train.lr": 2e-4}, {"train.lr": 0.1},
                            {"train.lr": 0.03})):
        r["bench"]["overrides" if r["method"] == "full" else "picked"] = lr
    write_results(tmp_path, runs)
    results, _ = report.load_results(tmp_path)
    (group,) = report.build_groups(results)
    lrs = {line.split(" | ")[0][2:]: line.split(" | ")[1] for line in headline_lines(group)[2:]}
    assert lrs == {"full": "2e-4", "lora": "mixed"}  # 1e-1 at one seed, 3e-2 at the other


def test_learning_curve_and_groups_per_train_size(tmp_path):
    folder = tmp_path / "fewshot"
    rows = []
    for size, per_class, base in ((5, 5.0, 0.5), (10, 10.0, 0.6), (None, 117.0, 0.8)):
        for seed in (1, 2):
            rows.append(result("full", seed, base + seed / 100, size=size, per_class=per_class))
            rows.append(result("lora", seed, base, size=size, per_class=per_class))
    write_results(folder, rows)
    text = report.write_report(folder).read_text()
    assert "5 examples per class" in text and "10 examples per class" in text
    assert (folder / "learning-curve-toy.png").stat().st_size > 1000
    with open(folder / "report.csv", newline="") as f:
        sizes = [(r["train_size"], r["method"]) for r in csv.DictReader(f)]
    assert sizes == [("5", "full"), ("5", "lora"), ("10", "full"), ("10", "lora"),
                     ("all", "full"), ("all", "lora")]


# --------------------------------------------------------------------------- suites and plans


def write_recipe(path: Path, recipe: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(recipe))
    return str(path)


def write_suite(path: Path, **suite) -> Path:
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def test_plan_ids_method_recipes_and_commands(tmp_path, make_recipe):
    lora = write_recipe(tmp_path / "recipes/toy/lora.yaml", make_recipe(tmp_path))
    full = write_recipe(tmp_path / "recipes/toy/full.yaml",
                        make_recipe(tmp_path, method={"name": "full"}, **{"train.lr": 1e-4}))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", name="s", runs_dir=str(tmp_path / "out"), recipes=[lora],
        methods=["full", "lora", "bitfit", {"baseline": "hf_trainer", "method": "lora"}],
        seeds=[1, 2], overrides={"train.max_steps": 2},
    ))
    runs = harness.plan(suite)
    assert [r.id for r in runs] == [
        f"toy-{m}-seed{s}" for s in (1, 2) for m in ("full", "lora", "bitfit", "hf_trainer_lora")
    ]
    by_id = {r.id: r for r in runs}
    assert by_id["toy-full-seed1"].recipe == full  # the method's shipped recipe
    assert "method.name" not in by_id["toy-full-seed1"].overrides
    assert by_id["toy-bitfit-seed1"].recipe == lora  # none shipped: switch the method
    assert by_id["toy-bitfit-seed1"].overrides["method.name"] == "bitfit"
    assert by_id["toy-bitfit-seed2"].overrides == {
        "train.max_steps": 2, "method.name": "bitfit", "train.seed": 2}
    cmd = harness.command(by_id["toy-lora-seed2"], tmp_path / "out/runs/toy-lora-seed2")
    assert cmd[:4] == [sys.executable, "-m", "peftgov", "train"]
    assert "train.max_steps=2" in cmd and "train.seed=2" in cmd and "output.overwrite=true" in cmd
    assert f"output.dir={tmp_path / 'out/runs/toy-lora-seed2'}" in cmd
    base = harness.command(by_id["toy-hf_trainer_lora-seed1"], tmp_path / "r",
                           launch="recipes/accelerate/cpu.yaml")
    assert base[1:5] == ["-m", "accelerate.commands.launch", "--config_file",
                         "recipes/accelerate/cpu.yaml"]
    assert base[5].endswith("benchmarks/baselines/hf_trainer.py") and base[6] == lora


def test_suite_errors_name_the_key(tmp_path):
    bad = write_suite(tmp_path / "bad.yaml", recipes=["r.yaml"], methods=["lora"], seed=[1])
    with pytest.raises(harness.SuiteError, match="unknown keys.*seed"):
        harness.load_suite(bad)
    bad = write_suite(tmp_path / "bad2.yaml", recipes=["r.yaml"], methods=[{"baseline": "x"}])
    with pytest.raises(harness.SuiteError, match="unknown baseline"):
        harness.load_suite(bad)
    assert harness.format_value(None) == "null" and harness.format_value("0") == "'0'"
    assert harness.format_value(["q", "v"]) == "[q, v]" and harness.format_value(1e-3) == "0.001"


def test_shipped_suites_plan(monkeypatch):
    monkeypatch.chdir(ROOT)
    counts = {}
    for path in sorted((ROOT / "benchmarks/suites").glob("*.yaml")):
        suite = harness.load_suite(path)
        runs = harness.plan(suite)
        assert all(r.error is None for r in runs), [r.error for r in runs if r.error]
        assert len({r.id for r in runs}) == len(runs)
        counts[suite.name] = len(runs)
    assert counts == {
        "banking77": 27, "chinese": 36, "conll2003": 12, "fewshot": 24, "fewshot_prompt": 33,
        "smoke": 4, "sst2": 12, "banking77_tuned": 36, "conll2003_tuned": 30,
        "continual_hotline": 12, "continual_banking77": 12, "fewshot_prompt_zh": 30, "compile": 5,
        "dialogue_zh": 9,
    }


def test_per_class_samples_are_exact_nested_and_keep_peftgovs_validation(tmp_path, make_recipe):
    from peftgov.recipe import load_recipe
    from peftgov.data import carve_validation, read_rows

    recipe = make_recipe(tmp_path)
    del recipe["data"]["validation"]  # carve 10% of train, as banking77 does
    path = write_recipe(tmp_path / "toy/lora.yaml", recipe)
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", runs_dir=str(tmp_path / "out"), recipes=[path], methods=["lora"],
        seeds=[7], train_sizes=[2, 4, None],
    ))
    runs = harness.plan(suite)
    assert [r.id for r in runs] == ["toy-lora-seed7-n2", "toy-lora-seed7-n4", "toy-lora-seed7"]
    info = harness.write_sample(runs[0])
    harness.write_sample(runs[1])
    assert info["n_labels"] == 3 and info["examples_per_class"] == 2
    n2 = read_rows(runs[0].overrides["data.train"])
    n4 = read_rows(runs[1].overrides["data.train"])
    assert sorted(r.values["label"] for r in n2) == ["road"] * 2 + ["tax"] * 2 + ["water"] * 2
    assert {json.dumps(r.values) for r in n2} <= {json.dumps(r.values) for r in n4}
    _, val = carve_validation(read_rows(recipe["data"]["train"]), 0.1, 7)
    written = read_rows(runs[0].overrides["data.validation"])
    assert [r.values for r in written] == [r.values for r in val]
    assert load_recipe(runs[0].recipe, overrides=runs[0].overrides).data.train.endswith(
        "toy-seed7-n2/train.jsonl")
    assert harness.full_split_stats(runs[2])["examples_per_class"] == pytest.approx(54 / 3)


def test_entries_pick_their_recipe_and_sizes_and_size_0_trains_nothing(tmp_path, make_recipe):
    recipe = make_recipe(tmp_path)
    lora = write_recipe(tmp_path / "toy/lora.yaml", recipe)
    write_recipe(tmp_path / "toy/lm_zeroshot.yaml", {**recipe, "train": {"epochs": 0}})
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", runs_dir=str(tmp_path / "out"), recipes=[lora], seeds=[7],
        methods=[{"name": "lora", "train_sizes": [2, None]},
                 {"name": "lora", "label": "zs", "recipe": "lm_zeroshot", "train_sizes": [0]},
                 {"name": "lora", "label": "icl", "train_sizes": [2],
                  "overrides": {"train.epochs": 0}}],
        train_sizes=[0, 2, None], train_size_overrides={2: {"train.epochs": 9}},
    ))
    runs = {r.id: r for r in harness.plan(suite)}
    assert list(runs) == ["toy-lora-seed7-n2", "toy-lora-seed7", "toy-zs-seed7-n0",
                          "toy-icl-seed7-n2"]
    zs = runs["toy-zs-seed7-n0"]
    assert zs.recipe.endswith("toy/lm_zeroshot.yaml") and runs["toy-icl-seed7-n2"].recipe == lora
    assert zs.sample is None and zs.overrides["train.epochs"] == 0  # size 0: nothing trains
    assert "data.train" not in zs.overrides  # its recipe's own split: the label set
    assert runs["toy-lora-seed7-n2"].overrides["train.epochs"] == 9
    assert runs["toy-icl-seed7-n2"].overrides["train.epochs"] == 0  # the entry's own wins
    assert harness.full_split_stats(zs) == {"n_labels": 3, "examples_per_class": 0.0}
    for methods, words in (
        ([{"name": "lora", "recipe": "nope"}], "nope"),
        ([{"name": "lora", "train_sizes": [5]}], "methods[0].train_sizes"),
    ):
        path = write_suite(tmp_path / "bad.yaml", recipes=[lora], methods=methods,
                           train_sizes=[2])
        with pytest.raises(harness.SuiteError, match=words.replace("[", r"\[")):
            harness.plan(harness.load_suite(path))


def test_rows_of_two_tasks_on_one_dataset_share_a_table(tmp_path):
    lm = result("lora", 42, 0.6, label="lm_lora", size=5) | {"task": "lm_classification"}
    write_results(tmp_path, [result("lora", 42, 0.5, size=5), lm,
                             result("lora", 42, 0.4, label="lm_zeroshot", size=0, per_class=0.0)
                             | {"task": "lm_classification"}])
    groups = report.build_groups(report.load_results(tmp_path)[0])
    assert [(g.train_size, g.task, [r.label for r in g.rows]) for g in groups] == [
        (0, "lm_classification", ["lm_zeroshot"]),
        (5, "classification + lm_classification", ["lora", "lm_lora"]),
    ]



def test_report_metric_tabulates_a_dotted_figure_instead_of_the_test_metric(tmp_path):
    """A dialogue suite selects on loss but compares generations: ``report_metric:
    generation.char_f1`` makes the table's figure (x100, higher better) that one."""
    def run(method, seed, f1):
        return result(method, seed, 0.0) | {"metric": "loss", "test": {"loss": 3.0 - f1},
                                             "generation": {"char_f1": f1}}

    write_results(tmp_path, [run("full", 42, 0.20), run("full", 43, 0.22),
                             run("lora", 42, 0.18), run("lora", 43, 0.19)])
    results = report.load_results(tmp_path)[0]
    group, = report.build_groups(results, ReportSpec(metric="generation.char_f1"))
    assert group.metric == "generation.char_f1" and group.scale == 100
    assert group.row("full").values == pytest.approx({42: 20.0, 43: 22.0})
    assert group.row("lora").diff.diff == pytest.approx(-2.5)
    plain, = report.build_groups(results)
    assert plain.metric == "loss" and plain.row("full").values == pytest.approx({42: 2.8, 43: 2.78})
    suite = harness.load_suite(write_suite(tmp_path / "s.yaml", recipes=["r.yaml"], seeds=[1],
                                           methods=["lora"], report_metric="generation.char_f1"))
    assert suite.report_spec().metric == "generation.char_f1"


def test_the_time_plot_draws_what_the_validations_recorded(tmp_path):
    """Validation measures loss where the table compares generations: the validation-vs-wall-time
    plot draws loss (unscaled, no target line) instead of an empty ``generation.char_f1`` axis,
    and is left out when no validation carries a clock."""
    def run(method, seed, hist):
        return result(method, seed, 0.0) | {"metric": "loss", "test": {"loss": 3.0},
                                             "generation": {"char_f1": 0.2}, "eval_history": hist}

    write_results(tmp_path, [run("full", 42, [{"step": 7, "loss": 3.4, "wall_s": 90.0}]),
                             run("lora", 42, [{"step": 7, "loss": 3.3}])])
    spec = ReportSpec(metric="generation.char_f1")
    group, = report.build_groups(report.load_results(tmp_path)[0], spec)
    assert tta.curve_metric(group) == ("loss", 1.0)
    report.write_report(tmp_path, spec=spec)
    assert (tmp_path / "tta-toy.png").stat().st_size > 1000
    write_results(tmp_path, [run("full", 42, [{"step": 7, "loss": 3.4}])])
    report.write_report(tmp_path, spec=spec)
    assert not (tmp_path / "tta-toy.png").exists()



def test_absolute_targets_state_each_methods_mean_met_or_missed(tmp_path):
    """``absolute_targets: {toy: 0.805}``: the report states each method's mean test accuracy
    against 80.50 points (full 81.00 met, lora 80.33 missed), and names a target whose dataset
    has no results instead of dropping it silently; a non-number is refused with its key."""
    write_results(tmp_path, [result("full", s, a) for s, a in FULL.items()]
                  + [result("lora", s, a) for s, a in LORA.items()])
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", recipes=["r.yaml"], seeds=[42], methods=["full", "lora"],
        absolute_targets={"toy": 0.805, "other": 0.5}))
    assert suite.report_spec().absolute == {"toy": 0.805, "other": 0.5}
    text = report.write_report(tmp_path, spec=suite.report_spec(), plots=False).read_text()
    assert "Absolute target (suite file): test accuracy ≥ 80.50 points" in text
    assert "- **full**: 81.00 — **met** (best seed 82.00; n = 3)." in text
    assert "- **lora**: 80.33 — **missed** (best seed 82.00; n = 3)." in text
    assert "`absolute_targets` names other: no results for that dataset" in text
    plain = report.write_report(tmp_path, plots=False).read_text()
    assert "Absolute target (suite" not in plain and "`absolute_targets` names" not in plain
    bad = write_suite(tmp_path / "bad.yaml", recipes=["r.yaml"], methods=["lora"],
                      absolute_targets={"toy": "high"})
    with pytest.raises(harness.SuiteError, match="absolute_targets"):
        harness.load_suite(bad)


# --------------------------------------------------------------------------- running


def fake_launch(calls):
    """Stands in for the subprocess: writes a metrics.json where output.dir points."""

    def launch(cmd, *, log, env, timeout_s, cpus=None, stop=None):
        calls.append(cmd)
        run_dir = Path(next(c for c in cmd if c.startswith("output.dir=")).split("=", 1)[1])
        seed = int(next(c for c in cmd if c.startswith("train.seed=")).split("=", 1)[1])
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "metrics.json").write_text(json.dumps(
            result("lora", seed, 0.5) | {"bench": None}))
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("fake\n")
        return harness.Outcome("ok", 0, 0.01, None)

    return launch


def test_rerun_skips_finished_runs(tmp_path, make_recipe, monkeypatch):
    calls: list = []
    monkeypatch.setattr(harness, "launch_process", fake_launch(calls))
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", name="twice", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=["lora", "bitfit"], seeds=[1, 2],
    ))
    assert harness.run_suite(suite, report=False) == 0
    assert len(calls) == 4
    saved = json.loads((tmp_path / "out/toy-bitfit-seed2.json").read_text())
    assert saved["bench"]["suite"] == "twice" and saved["bench"]["label"] == "bitfit"
    assert saved["bench"]["data_sha256"]["train"] and "train.seed=2" in saved["bench"]["command"]
    assert harness.run_suite(suite, report=False) == 0
    assert len(calls) == 4  # nothing ran the second time
    assert harness.run_suite(suite, only="lora", force=True, report=False) == 0
    assert len(calls) == 6  # --force re-runs, --only picks the method


def test_a_stop_file_lets_the_run_in_flight_finish_and_starts_no_other(tmp_path, make_recipe,
                                                                        monkeypatch, capsys):
    calls: list = []
    launch = fake_launch(calls)

    def launch_then_stop(cmd, **kwargs):  # someone touches STOP while the first run trains
        (tmp_path / "out" / "STOP").touch()
        return launch(cmd, **kwargs)

    monkeypatch.setattr(harness, "launch_process", launch_then_stop)
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", name="stops", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=["lora", "bitfit"], seeds=[1, 2],
    ))
    assert harness.run_suite(suite, report=False) == harness.STOPPED
    assert len(calls) == 1 and (tmp_path / "out/toy-lora-seed1.json").is_file()
    out = capsys.readouterr().out
    assert f"stopped: {tmp_path / 'out' / 'STOP'} exists, so 3 run(s) were not started" in out
    assert harness.run_suite(suite, report=False) == harness.STOPPED  # still there: nothing
    assert len(calls) == 1
    monkeypatch.setattr(harness, "launch_process", launch)
    (tmp_path / "out" / "STOP").unlink()
    assert harness.run_suite(suite, report=False) == 0
    assert len(calls) == 4  # the other three, once
    (tmp_path / "out" / "STOP").touch()
    assert harness.run_suite(suite, report=False) == 0  # nothing left to hold back


def test_the_trainer_baseline_repeats_itself_at_a_seed(tmp_path, make_recipe):
    """The Trainer + peft baseline seeds before it builds the model (the fresh head and LoRA's
    A), so a seed trains the same twice; before, a banking77 seed-42 run scored 91.69, then
    91.36 when trained again."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("hf_trainer_baseline",
                                                  ROOT / "benchmarks/baselines/hf_trainer.py")
    baseline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baseline)
    recipe = make_recipe(tmp_path, **{"train.max_steps": 3, "train.epochs": 1})
    path = write_recipe(tmp_path / "recipes/toy/lora.yaml", recipe)
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert baseline.main([str(path), "train.eval_batch_size=16", f"output.dir={out}",
                              "output.overwrite=true"]) == 0
        runs.append(json.loads((out / "metrics.json").read_text()))
    scores = [[(e["step"], e["loss"], e["accuracy"]) for e in m["eval_history"]] for m in runs]
    assert scores[0] == scores[1] and runs[0]["test"] == runs[1]["test"]


def test_smoke_suite_end_to_end(tmp_path, make_recipe, capsys):
    """Real subprocesses on the tiny BERT: two methods + the Trainer baseline finish, a bad
    override lands in failed/, the report and its plots are written, a re-run skips."""
    recipe = make_recipe(tmp_path, **{"train.max_steps": 3, "train.epochs": 1})
    path = write_recipe(tmp_path / "recipes/toy/lora.yaml", recipe)
    out = tmp_path / "results"
    suite = harness.load_suite(write_suite(
        tmp_path / "smoke.yaml", name="smoke", runs_dir=str(out), recipes=[path],
        methods=["full", "lora", {"baseline": "hf_trainer", "method": "lora"},
                 {"name": "lora", "label": "broken", "overrides": {"train.bogus": 1}}],
        seeds=[0], overrides={"train.eval_batch_size": 16, "train.target_metric": 0.0},
        env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    ))
    assert harness.main(["run", str(suite.path)]) == 1  # one run failed
    printed = capsys.readouterr().out
    assert "toy-broken-seed0" in printed and "FAILED" in printed
    for rid in ("toy-full-seed0", "toy-lora-seed0", "toy-hf_trainer_lora-seed0"):
        saved = json.loads((out / f"{rid}.json").read_text())
        assert saved["test"]["accuracy"] >= 0 and saved["trainable_params"] > 0, rid
        assert saved["bench"]["wall_time_s"] > 0 and saved["bench"]["returncode"] == 0
        # time to accuracy: the target (0.0) is reached at the first validation, stamped with
        # seconds since the process started, with the test metrics of that state
        first = saved["eval_history"][0]
        assert saved["target"]["wall_s"] == first["wall_s"] > 0, rid
        assert saved["target"]["cpu_s"] == first["cpu_s"] > 0, rid  # the CPU-seconds clock too
        assert saved["target"]["step"] == first["step"]
        assert 0 <= saved["target"]["test"]["accuracy"] <= 1
        assert first["wall_s"] < saved["bench"]["wall_time_s"] + 5
    assert json.loads((out / "toy-full-seed0.json").read_text())["method"] == "full"
    assert json.loads((out / "toy-hf_trainer_lora-seed0.json").read_text())["method"] == (
        "hf_trainer_lora")
    failed = json.loads((out / "failed/toy-broken-seed0.json").read_text())
    assert failed["returncode"] == 2 and "train.bogus" in failed["error"]
    assert not (out / "toy-broken-seed0.json").exists()

    text = (out / "REPORT.md").read_text()
    rows = read_csv(out / "report.csv")
    assert set(rows) == {"full", "lora", "hf_trainer_lora"}
    assert "toy-broken-seed0" in text.split("## Failed runs")[1]
    for png in ("pareto-toy.png", "efficiency-toy.png", "tta-toy.png"):
        assert (out / png).stat().st_size > 1000
    assert "Time to accuracy: validation accuracy ≥ 0 points" in text
    assert "| hf_trainer_lora | 1/1 |" in text and "peftgov LoRA reaches the target" in text

    assert harness.main(["run", str(suite.path), "--only", "full,lora"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("skip (finished)") == 2 and "..." not in printed


def sleeper(monkeypatch):
    """Runs become a bare `python -c sleep` (no imports): fast to start, slow to finish."""
    monkeypatch.setattr(harness, "command", lambda run, run_dir, launch=None: [
        sys.executable, "-c", "import time; print('sleeping', flush=True); time.sleep(120)"])


def interrupted_once_sleeping(logs: list[Path], run):
    """``run()`` with a real Ctrl-C (SIGINT to this process) sent once every log in ``logs``
    shows its sleeper's output line; returns what ``run()`` returned."""
    import os
    import signal
    import threading

    done = threading.Event()

    def ctrl_c_once_all_sleep() -> None:
        # Not a fixed delay: under load the suite's set-up can outlast any timer, and the
        # Ctrl-C must arrive while the runs' subprocesses are being waited on.
        # A real SIGINT (what Ctrl-C sends), which also wakes a main thread blocked in a wait;
        # the deadline stays below the sleeper's 120 s.
        deadline = time.time() + 110
        while not done.is_set() and time.time() < deadline:
            # the child's own output line (the log's first line, the command, says it too)
            if all(g.is_file() and "\nsleeping" in g.read_text(errors="replace") for g in logs):
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    # Ctrl-C at a terminal raises KeyboardInterrupt; a test process started in the background
    # by a non-interactive shell inherits SIGINT *ignored*, so install Python's handler here.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = threading.Thread(target=ctrl_c_once_all_sleep, daemon=True)
    watcher.start()
    try:
        return run()
    finally:
        done.set()
        watcher.join(timeout=5)
        signal.signal(signal.SIGINT, previous)


def test_timeout_lands_in_failed(tmp_path, make_recipe, monkeypatch):
    sleeper(monkeypatch)
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", runs_dir=str(tmp_path / "out"), recipes=[path], methods=["lora"],
        seeds=[0], timeout_s=1,
    ))
    assert harness.run_suite(suite, report=False) == 1
    failed = json.loads((tmp_path / "out/failed/toy-lora-seed0.json").read_text())
    assert failed["status"] == "timeout" and failed["returncode"] != 0
    assert "timed out" in failed["error"] and "sleeping" in failed["error_tail"]
    assert failed["wall_time_s"] < 30  # SIGINT reached the child: no wait for SIGKILL


def test_interrupt_is_recorded_and_stops_the_suite(tmp_path, make_recipe, monkeypatch):
    sleeper(monkeypatch)
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=["lora", "bitfit"], seeds=[0],
    ))
    log = tmp_path / "out/logs/toy-lora-seed0.log"
    assert interrupted_once_sleeping([log], lambda: harness.run_suite(suite, report=True)) == 130
    failed = json.loads((tmp_path / "out/failed/toy-lora-seed0.json").read_text())
    assert failed["status"] == "interrupted" and failed["wall_time_s"] < 30
    assert not (tmp_path / "out/logs/toy-bitfit-seed0.log").exists()  # the suite stopped
    assert "toy-lora-seed0" in (tmp_path / "out/REPORT.md").read_text()


def test_cpu_lanes_split_the_cpus_this_process_may_use(monkeypatch):
    """--jobs N: N disjoint sets of the allowed CPUs, in order, the first ones larger; one job
    keeps the harness's CPUs; more jobs than CPUs, or none, is a one-line error."""
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {4, 5, 6, 7, 9})
    assert harness.cpu_lanes(1) == [None]
    assert harness.cpu_lanes(2) == [[4, 5, 6], [7, 9]]
    assert harness.cpu_lanes(5) == [[4], [5], [6], [7], [9]]
    with pytest.raises(harness.SuiteError, match=r"--jobs 6: this process may use 5 CPU"):
        harness.cpu_lanes(6)
    with pytest.raises(harness.SuiteError, match="--jobs"):
        harness.cpu_lanes(0)


def test_jobs_train_runs_at_once_each_pinned_to_its_own_lane(tmp_path, make_recipe,
                                                            monkeypatch):
    """--jobs 2: two runs in flight together (a barrier both must reach, else it times out),
    each on its own lane's CPUs with OMP_NUM_THREADS its size, recorded in the result."""
    import os
    import threading

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    calls: list = []
    lanes: list = []
    barrier = threading.Barrier(2, timeout=30)
    plain = fake_launch(calls)

    def launch(cmd, *, log, env, timeout_s, cpus=None, stop=None):
        lanes.append((tuple(cpus), env["OMP_NUM_THREADS"]))
        barrier.wait()  # the other lane's run is in flight too
        return plain(cmd, log=log, env=env, timeout_s=timeout_s)

    monkeypatch.setattr(harness, "launch_process", launch)
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=["lora", "bitfit"], seeds=[1, 2],
    ))
    assert harness.run_suite(suite, jobs=2, report=False) == 0
    assert len(calls) == 4 and set(lanes) == {((0, 1), "2"), ((2, 3), "2")}
    bench = json.loads((tmp_path / "out/toy-bitfit-seed2.json").read_text())["bench"]
    assert bench["jobs"] == 2 and bench["cpus"] in ([0, 1], [2, 3])
    assert bench["omp_threads"] == "2"


def test_jobs_start_a_sweeps_seed_runs_only_once_the_whole_sweep_is_in(tmp_path, make_recipe,
                                                                      monkeypatch):
    """--jobs 2 with a sweep: the sweep points train side by side, but no run at the pick
    starts before every point's result exists, and the pick is the same as one job's."""
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    calls: list = []
    val = {0.001: 0.70, 0.003: 0.80, 0.01: 0.75}
    swept = fake_sweep_launch(calls, val)
    out = tmp_path / "out"
    early: list = []

    def launch(cmd, **kw):
        if "toy-lora-seed2" in " ".join(cmd):
            early.extend(p for p in ("0.001", "0.003", "0.01")
                         if not (out / f"sweep/toy-lora-sweep-lr{p}-seed1.json").is_file())
        time.sleep(0.05)
        return swept(cmd, **kw)

    monkeypatch.setattr(harness, "launch_process", launch)
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", name="sw", runs_dir=str(out), recipes=[path],
        methods=[{"name": "lora", "sweep": {"train.lr": [0.001, 0.003, 0.01]}}, "bitfit"],
        seeds=[1, 2],
    ))
    assert harness.run_suite(suite, jobs=2, report=False) == 0
    assert len(calls) == 6 and early == []
    assert json.loads((out / "toy-lora-seed2.json").read_text())["bench"]["picked"] == {
        "train.lr": 0.003}
    assert json.loads((out / "toy-lora-seed1.json").read_text())["bench"]["reused_from"]


def test_a_run_another_harness_process_holds_is_left_to_it(tmp_path, make_recipe, monkeypatch,
                                                          capsys):
    """Two harness processes on one results folder: a run whose lock another holds is skipped
    (not trained twice, not a failure); once released, the next run of the suite trains it."""
    import fcntl

    calls: list = []
    monkeypatch.setattr(harness, "launch_process", fake_launch(calls))
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    out = tmp_path / "out"
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", runs_dir=str(out), recipes=[path], methods=["lora", "bitfit"],
        seeds=[1],
    ))
    (out / "runs").mkdir(parents=True)
    with open(out / "runs/toy-lora-seed1.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert harness.run_suite(suite, report=False) == 0
    assert [c for c in calls if "output.dir=" + str(out / "runs/toy-lora-seed1") in c] == []
    assert len(calls) == 1 and not (out / "toy-lora-seed1.json").exists()
    assert "skipped: another harness process holds" in capsys.readouterr().out
    assert harness.run_suite(suite, report=False) == 0
    assert len(calls) == 2 and (out / "toy-lora-seed1.json").is_file()


def test_launch_process_pins_its_run_and_stops_it_when_asked(tmp_path):
    """The lane's CPUs reach the child (and what it starts); ``stop`` set from another thread
    stops it promptly (SIGINT to its group) and says ``interrupted``."""
    import os
    import threading

    from peftgov.bench.process import launch_process

    cpu = min(os.sched_getaffinity(0))
    log = tmp_path / "run.log"
    stop = threading.Event()
    code = ("import os, subprocess, sys, time; print(sorted(os.sched_getaffinity(0)), "
            "subprocess.run([sys.executable, '-c', 'import os; print(len(os.sched_getaffinity(0)))'],"
            " capture_output=True, text=True).stdout.strip(), 'sleeping', flush=True); "
            "time.sleep(120)")

    def stop_once_it_sleeps() -> None:
        deadline = time.time() + 60
        while time.time() < deadline and not (
                log.is_file() and "sleeping\n" in log.read_text(errors="replace")):
            time.sleep(0.05)
        stop.set()

    threading.Thread(target=stop_once_it_sleeps, daemon=True).start()
    outcome = launch_process([sys.executable, "-c", code], log=log, env=dict(os.environ),
                             timeout_s=None, cpus=[cpu], stop=stop)
    assert outcome.status == "interrupted" and outcome.wall_time_s < 30
    assert f"[{cpu}] 1 sleeping" in log.read_text()


def test_interrupt_with_jobs_records_every_run_in_flight(tmp_path, make_recipe, monkeypatch):
    """Ctrl-C with --jobs 2: both runs in flight are stopped and recorded as interrupted, no
    further run starts, exit 130."""
    import os

    sleeper(monkeypatch)
    cpu = min(os.sched_getaffinity(0))  # real CPUs (the children are pinned), one will do
    monkeypatch.setattr(harness, "cpu_lanes", lambda jobs: [[cpu]] * jobs)
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=["lora", "bitfit", "full"], seeds=[0],
    ))
    logs = [tmp_path / f"out/logs/toy-{m}-seed0.log" for m in ("lora", "bitfit")]
    assert interrupted_once_sleeping(logs, lambda: harness.run_suite(suite, jobs=2,
                                                                     report=False)) == 130
    for m in ("lora", "bitfit"):
        failed = json.loads((tmp_path / f"out/failed/toy-{m}-seed0.json").read_text())
        assert failed["status"] == "interrupted" and failed["wall_time_s"] < 30
    assert not (tmp_path / "out/logs/toy-full-seed0.log").exists()


def test_scaling_table_from_rows(tmp_path):
    from peftgov.bench.scaling import write

    rows = [
        {"method": "lora", "seq_len": s, "batch": b, "tokens_per_step": s * b,
         "step_ms": s * b / 10, "tokens_per_s": 10000.0, "step_flops": 1e9, "mfu": 0.25}
        for s in (32, 64) for b in (8, 16)
    ]
    meta = {"command": "python -m benchmarks scaling", "device": "cpu:test", "torch": "x",
            "threads": 2, "date": "2026-11-23", "steps": 3, "peak_fp32_gflops": 100.0}
    write(rows, tmp_path, meta)
    md = (tmp_path / "SCALING.md").read_text()
    assert "| seq len | batch 8 | batch 16 |" in md
    assert "| 32 | 26 (10000, 0.25) | 51 (10000, 0.25) |" in md  # 32*8/10 = 25.6 -> 26 ms
    assert "| 64 | 51 (10000, 0.25) | 102 (10000, 0.25) |" in md
    assert json.loads((tmp_path / "scaling.json").read_text())["rows"] == rows


@pytest.mark.slow
def test_scaling_measures_real_steps(tmp_path):
    """One real MiniLM step per cell: cost grows with the tokens in the step."""
    from peftgov.bench.scaling import main

    assert main(["--methods", "bitfit", "--lengths", "8,64", "--batches", "4",
                 "--steps", "1", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "scaling.json").read_text())["rows"]
    assert [(r["seq_len"], r["batch"]) for r in rows] == [(8, 4), (64, 4)]
    assert rows[1]["step_flops"] > 7 * rows[0]["step_flops"]  # 8x the tokens
    assert all(r["step_ms"] > 0 and r["mfu"] > 0 for r in rows)


@pytest.mark.parametrize("base_wall, shown, verdict", [
    (75.0, "1.50x", "met"),  # (75 + 77) / 2 / 50.5 = 1.505
    (74.0, "1.49x", "missed"),  # (74 + 76) / 2 / 50.5
])
def test_speed_and_memory_targets_by_hand(tmp_path, base_wall, shown, verdict):
    """A fixed-epoch LoRA run 1.5x the plain-Trainer baseline's end-to-end speed at equal
    accuracy (issue 13), MFU, memory ratio."""
    folder = tmp_path / "results"
    rows = []
    for s in (42, 43):
        full = result("full", s, 0.80, params=100_000, mfu=0.40, peak_memory_mb=1000.0)
        lora = result("lora", s, 0.802, params=2_000, mfu=0.36, peak_memory_mb=700.0)
        lora["bench"]["wall_time_s"] = 50.0 + s - 42  # 50, 51 -> mean 50.5
        base = result("lora", s, 0.80, label="hf_trainer_lora", params=2_000)
        base["bench"]["wall_time_s"] = base_wall + 2 * (s - 42)
        rows += [full, lora, base]
    write_results(folder, rows)
    md = report.write_report(folder, suite="toy", plots=False).read_text()
    # lora - baseline = +0.20 points
    assert f"peftgov LoRA end to end {shown} the speed of `hf_trainer_lora`" in md
    assert ("+0.20 points: target \u22651.5x at equal accuracy (\u00b10.5) \u2014 "
            f"**{verdict}**") in md
    assert "**MFU full**: 0.40 of the measured matmul peak" in md
    assert "target \u22650.50 \u2014 **missed**" in md
    assert "**MFU lora**: 0.36" in md and "target \u22650.35 \u2014 **met**" in md
    assert "LoRA peak 700 MB = 0.70x full fine-tuning's 1,000 MB" in md
    assert "target \u22640.75x \u2014 **met**" in md
    assert "in CPU seconds" not in md  # these runs recorded no CPU seconds
    # whole-process peaks: LoRA 700 MB, the baseline the fixture's 500 MB
    assert ("**memory vs plain Trainer + peft** (no target): peftgov LoRA's whole-process peak "
            "700 MB = 1.40x `hf_trainer_lora`'s 500 MB.") in md
    csv = read_csv(folder / "report.csv")
    assert float(csv["full"]["mfu"]) == pytest.approx(0.40)


def test_a_verdict_is_never_shown_on_the_wrong_side_of_its_target():
    """conll2003_tuned's full fine-tuning MFU, 0.4976, printed "0.50 ... target >=0.50 --
    missed"; the figure gets the digits that show why."""
    from peftgov.bench.tables import verdict_digits

    def at_least(t):
        return lambda v: v >= t

    assert verdict_digits(0.4976, at_least(0.50)) == "0.498"
    assert verdict_digits(0.49996, at_least(0.50)) == "0.49996"
    assert verdict_digits(0.349, at_least(0.35)) == "0.349"
    assert verdict_digits(0.5, at_least(0.50)) == "0.50"
    assert verdict_digits(0.462, at_least(0.35)) == "0.46"
    assert verdict_digits(0.503, at_least(0.50)) == "0.50"  # rounding onto the target: still met
    assert verdict_digits(0.7504, lambda v: v <= 0.75) == "0.7504"  # a memory ratio, at most
    # a parity gap, signed as the report writes it: -0.504 is not "within 0.5"
    assert verdict_digits(-0.504, at_least(-0.5), sign=True) == "\u22120.504"
    assert verdict_digits(-1.58, at_least(-0.5), sign=True) == "\u22121.58"
    assert verdict_digits(0.31, at_least(-0.5), sign=True) == "+0.31"
    assert verdict_digits(float("nan"), at_least(-0.5), sign=True) == "n/a"


def test_memory_target_is_judged_on_train_phase_peaks(tmp_path):
    """With per-phase figures the verdict compares train-phase peaks (here 600 / 1000 = 0.60x,
    met) although the whole-process peaks (1100 / 1000 = 1.10x) would miss; the table shows
    both."""
    rows = []
    for s in (42, 43):
        rows.append(result("full", s, 0.80, params=100_000, peak_memory_mb=1000.0,
                           memory_mb={"load": 400.0, "train": 1000.0, "eval": 900.0}))
        rows.append(result("lora", s, 0.80, params=2_000, peak_memory_mb=1100.0,
                           memory_mb={"load": 400.0, "train": 550.0 + 100 * (s - 42)}))
    write_results(tmp_path, rows)
    md = report.write_report(tmp_path, suite="toy", plots=False).read_text()
    assert ("LoRA train-phase peak 600 MB = 0.60x full fine-tuning's 1,000 MB (whole process "
            "1,100 vs 1,000 MB): target \u22640.75x \u2014 **met**") in md
    assert "| peak mem MB | train peak MB |" in md
    assert "LoRA (`lora_gc`)" not in md
    csv = read_csv(tmp_path / "report.csv")
    assert float(csv["lora"]["train_peak_memory_mb"]) == pytest.approx(600.0)
    # a variant row (gradient checkpointing) gets its own verdict and its price in train time
    # against plain LoRA's (mean 10.5 s: train_time_s is 10 + seed % 2)
    write_results(tmp_path, [result("lora", s, 0.80, label="lora_gc", params=2_000,
                                    memory_mb={"train": 450.0}, train_time_s=15.75)
                             for s in (42, 43)])
    md = report.write_report(tmp_path, suite="toy", plots=False).read_text()
    assert ("LoRA train-phase peak 600 MB = 0.60x full fine-tuning's 1,000 MB (whole process "
            "1,100 vs 1,000 MB): target \u22640.75x \u2014 **met**") in md
    assert ("LoRA (`lora_gc`) train-phase peak 450 MB = 0.45x full fine-tuning's 1,000 MB "
            "(whole process 500 vs 1,000 MB), at 1.50x plain LoRA's train time (16 vs 10 s): "
            "target \u22640.75x \u2014 **met**") in md
    assert float(csv["lora"]["peak_memory_mb"]) == pytest.approx(1100.0)
    # a longer-budget variant is judged against full fine-tuning on that budget (its own
    # reference), with no train-time price against plain LoRA (a different budget)
    write_results(tmp_path, [result("full", s, 0.82, label="full_e6", params=100_000,
                                    memory_mb={"train": 1200.0}, train_time_s=40.0)
                             for s in (42, 43)]
                  + [result("lora", s, 0.82, label="lora_e6", params=2_000,
                            memory_mb={"train": 840.0}, train_time_s=30.0) for s in (42, 43)])
    spec = ReportSpec(references={"lora_e6": "full_e6"})
    md = report.write_report(tmp_path, suite="toy", plots=False, spec=spec).read_text()
    assert ("LoRA (`lora_e6`) train-phase peak 840 MB = 0.70x `full_e6`'s 1,200 MB (whole "
            "process 500 vs 500 MB): target \u22640.75x \u2014 **met**") in md
    assert "at 1.50x plain LoRA's train time" in md  # lora_gc's, still against full


def test_time_to_accuracy_table_and_speedup_by_hand(tmp_path):
    """Seconds to target per seed -> geometric-mean speed-up over hf_trainer_lora with a t
    interval on the paired log ratios; a seed that never reached the target is counted apart."""
    import math

    from scipy import stats as st

    def timed(method, seed, wall, label=None):
        hist = [{"step": 5, "accuracy": 0.5, "wall_s": wall / 2},
                {"step": 10, "accuracy": 0.9, "wall_s": wall}] if wall else []
        target = ({"target": 0.85, "wall_s": wall, "step": 10, "test": {"accuracy": 0.88}}
                  if wall else None)
        return result(method, seed, 0.88, label=label, eval_history=hist, target=target)

    lora = {42: 100.0, 43: 120.0, 44: None}
    base = {42: 250.0, 43: 200.0, 44: 300.0}
    write_results(tmp_path, [timed("lora", s, w) for s, w in lora.items()]
                  + [timed("lora", s, w, label="hf_trainer_lora") for s, w in base.items()])
    text = report.write_report(tmp_path).read_text()
    logs = [math.log(250 / 100), math.log(200 / 120)]
    g = math.exp(sum(logs) / 2)
    half = st.t.ppf(0.975, 1) * (abs(logs[0] - logs[1]) / math.sqrt(2)) / math.sqrt(2)
    assert f"| lora | 2/3 | 110 \u00b1 14 | 88.00 | {g:.2f}x [{math.exp(math.log(g) - half):.2f}, " \
           f"{math.exp(math.log(g) + half):.2f}] (n = 2) |" in text
    assert "| hf_trainer_lora | 3/3 | 250 \u00b1 50 | 88.00 | reference |" in text
    assert f"reaches the target {g:.2f}x sooner" in text and "**met**" in text.split(
        "time to accuracy**")[1]
    assert (tmp_path / "tta-toy.png").stat().st_size > 1000
    assert "Resumed after a stop" not in text and "CPU s to target" not in text
    resumed = timed("lora", 43, 120.0)
    resumed["bench"]["resumed"] = True
    write_results(tmp_path, [resumed])
    text = report.write_report(tmp_path).read_text()
    assert "Resumed after a stop: toy-lora-seed43. Their clocks carry" in text


def test_end_to_end_speed_in_cpu_seconds_only_when_every_run_has_them(tmp_path):
    """The end-to-end line adds the CPU-seconds ratio (baseline mean / LoRA mean) when all
    LoRA and baseline runs recorded ``cpu_s``; one run without it drops the figure."""
    rows = []
    for s, (c_l, c_b) in zip((42, 43), ((40.0, 90.0), (50.0, 90.0))):
        rows += [result("full", s, 0.80), result("lora", s, 0.80, cpu_s=c_l),
                 result("lora", s, 0.80, label="hf_trainer_lora", cpu_s=c_b)]
    write_results(tmp_path, rows)
    md = report.write_report(tmp_path, suite="toy", plots=False).read_text()
    assert "; in CPU seconds 2.00x, which other jobs" in md  # 90 / 45
    del rows[-1]["cpu_s"]
    write_results(tmp_path, rows[-1:])
    md = report.write_report(tmp_path, suite="toy", plots=False).read_text()
    assert "in CPU seconds" not in md


def test_time_to_accuracy_in_cpu_seconds_where_runs_recorded_them(tmp_path):
    """Runs that stamp ``cpu_s`` get CPU-second columns beside the wall clock's: mean, std and
    the paired geometric speed-up, computed by hand; a run without it is left out of them."""
    def timed(label, seed, wall, cpu):
        target = {"target": 0.85, "wall_s": wall, "step": 10, "test": {"accuracy": 0.88}}
        if cpu is not None:
            target["cpu_s"] = cpu
        hist = [{"step": 10, "accuracy": 0.9, "wall_s": wall}]
        return result("lora", seed, 0.88, label=label, eval_history=hist, target=target)

    write_results(tmp_path, [
        timed(None, 42, 300.0, 100.0), timed(None, 43, 320.0, 150.0),
        timed("hf_trainer_lora", 42, 250.0, 200.0), timed("hf_trainer_lora", 43, 260.0, 300.0),
        timed("hf_trainer_lora", 44, 270.0, None),
    ])
    text = report.write_report(tmp_path).read_text()
    assert "CPU s to target | CPU-time speed-up [95% CI] |" in text
    # CPU: ratios 2.0 and 2.0 -> 2.00x with a zero-width interval
    assert "| lora | 2/2 | 310 \u00b1 14 | 88.00 |" in text
    assert "| 125 \u00b1 35 | 2.00x [2.00, 2.00] (n = 2) |" in text
    assert ("| hf_trainer_lora | 3/3 | 260 \u00b1 10 | 88.00 | reference | 250 \u00b1 71 "
            "| reference |") in text
    assert "In CPU seconds: 2.00x (2 seeds)." in text


def fake_sweep_launch(calls: list, val: dict, test: dict | None = None):
    """A stand-in for launching a run: records the command, writes a result whose validation
    (and test) accuracy is looked up by the command's ``train.lr`` (0.01 when not given)."""

    def launch(cmd, *, log, env, timeout_s, cpus=None, stop=None):
        calls.append(cmd)
        run_dir = Path(next(c for c in cmd if c.startswith("output.dir=")).split("=", 1)[1])
        seed = int(next(c for c in cmd if c.startswith("train.seed=")).split("=", 1)[1])
        lr = float(next((c for c in cmd if c.startswith("train.lr=")), "train.lr=0.01")[9:])
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "metrics.json").write_text(json.dumps(
            result("lora", seed, (test or {}).get(lr, 0.5))
            | {"bench": None, "eval": {"accuracy": val[lr]}}))
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("fake\n")
        return harness.Outcome("ok", 0, 0.01, None)

    return launch


def test_an_entry_can_name_its_own_reference(tmp_path, make_recipe):
    """``reference:`` on a method entry: its Δ, CI and target verdict are against that row
    (a 6-epoch LoRA against 6-epoch full fine-tuning), by hand; the others keep the suite's."""
    rows = []
    scores = ((0.80, 0.79, 0.84, 0.835), (0.82, 0.80, 0.86, 0.853))
    for s, (f3, l3, f6, l6) in zip((42, 43), scores):
        rows += [result("full", s, f3), result("lora", s, l3),
                 result("full", s, f6, label="full_e6"), result("lora", s, l6, label="lora_e6")]
    write_results(tmp_path / "out", rows)
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", name="ref", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=["full", {"name": "lora", "target_pts": 0.5},
                 {"name": "full", "label": "full_e6"},
                 {"name": "lora", "label": "lora_e6", "target_pts": 0.5,
                  "reference": "full_e6"}],
        seeds=[42, 43]))
    md = report.write_report(tmp_path / "out", suite="ref", plots=False,
                             spec=suite.report_spec()).read_text()
    csv = read_csv(tmp_path / "out/report.csv")
    # lora_e6 - full_e6: -0.5 and -0.7 -> -0.60 (missed); against full it would be +4.4
    assert float(csv["lora_e6"]["delta_vs_full_pts"]) == pytest.approx(-0.6)
    assert csv["lora_e6"]["reference"] == "full_e6" and csv["lora"]["reference"] == "full"
    assert csv["full_e6"]["reference"] == "full"
    assert "**lora_e6**: \u0394 = \u22120.60 points vs full_e6" in md
    assert "target within 0.5 points of full_e6 \u2014 **missed**" in md
    assert "lora_e6 within 0.5 points of full_e6" in md  # the targets sentence
    assert "| \u22120.60 [" in md and "] paired, df=1 vs full_e6 |" in md
    assert "**lora**: \u0394 = \u22121.50 points vs full " in md
    bad = write_suite(tmp_path / "bad.yaml", name="b", runs_dir=str(tmp_path / "o"),
                      recipes=[path], methods=["full", {"name": "lora", "reference": "nope"}])
    with pytest.raises(harness.SuiteError, match="methods 'lora': reference: 'nope'"):
        harness.load_suite(bad)


def test_each_run_records_the_commit_it_was_launched_at(tmp_path, make_recipe, monkeypatch):
    """The checkout can move while a long suite runs: every run (and failure) records the git
    state read as it starts, not the harness's at its own start."""
    commits = iter([{"git_commit": c, "git_dirty": False} for c in ("aaa", "bbb")])
    monkeypatch.setattr(harness, "git_info", lambda: next(commits))
    monkeypatch.setattr(harness, "launch_process", fake_sweep_launch([], {0.01: 0.7}))
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", name="g", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=["lora"], seeds=[1, 2]))
    assert harness.run_suite(suite, report=False) == 0
    got = [json.loads((tmp_path / f"out/toy-lora-seed{s}.json").read_text())["bench"]
           for s in (1, 2)]
    assert [b["git_commit"] for b in got] == ["aaa", "bbb"]


def test_sweep_picks_on_validation_then_runs_every_seed_at_the_pick(tmp_path, make_recipe,
                                                                     monkeypatch):
    """sweep: every point at the sweep seed; the method's runs wait, then take the point with
    the best validation metric (not test); the sweep-seed run is the picked sweep run itself."""
    calls: list = []
    val = {0.001: 0.70, 0.003: 0.80, 0.01: 0.75}  # validation by lr: 0.003 wins
    test = {0.001: 0.90, 0.003: 0.60, 0.01: 0.50}  # ... though 0.001 is best on test

    monkeypatch.setattr(harness, "launch_process", fake_sweep_launch(calls, val, test))
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", name="sw", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=[{"name": "lora", "sweep": {"train.lr": [0.001, 0.003, 0.01]}}, "bitfit"],
        seeds=[1, 2],
    ))
    runs = harness.full_plan(suite)
    assert [r.id for r in runs[:3]] == [
        f"toy-lora-sweep-lr{v}-seed1" for v in ("0.001", "0.003", "0.01")]
    assert [r.id for r in runs if r.waiting] == ["toy-lora-seed1", "toy-lora-seed2"]
    assert [r.id for r in harness._select(runs, None, "2")][:3] == [r.id for r in runs[:3]]

    assert harness.run_suite(suite, report=True) == 0
    trained = [next(c for c in cmd if c.startswith("output.dir=")).rsplit("/", 1)[1]
               for cmd in calls]
    assert trained == [r.id for r in runs[:3]] + ["toy-bitfit-seed1", "toy-bitfit-seed2",
                                                   "toy-lora-seed2"]
    assert "train.lr=0.003" in calls[-1]
    out = tmp_path / "out"
    seed1 = json.loads((out / "toy-lora-seed1.json").read_text())
    assert seed1["bench"]["reused_from"].endswith("sweep/toy-lora-sweep-lr0.003-seed1.json")
    assert seed1["test"]["accuracy"] == 0.60 and seed1["bench"]["picked"] == {"train.lr": 0.003}
    assert json.loads((out / "toy-lora-seed2.json").read_text())["bench"]["picked"] == {
        "train.lr": 0.003}
    assert len(list((out / "sweep").glob("*.json"))) == 3
    text = (out / "REPORT.md").read_text()
    assert "| lr0.003 | **0.8000** |" in text and "| lr0.001 | 0.7000 |" in text
    assert "| lora | 1.000 |" not in text  # sweep points are not method rows
    assert set(read_csv(out / "report.csv")) == {"lora", "bitfit"}
    assert harness.run_suite(suite, report=False) == 0 and len(calls) == 6  # all finished


def test_sweep_reuse_false_trains_the_sweep_seed_run_again_at_the_pick(tmp_path, make_recipe,
                                                                       monkeypatch):
    """``sweep_reuse: false``: the seed run at the sweep seed is trained (at the pick), not
    copied from the sweep, so every seed's timings come from the code that runs them."""
    calls: list = []
    val = {0.001: 0.70, 0.003: 0.80}

    monkeypatch.setattr(harness, "launch_process", fake_sweep_launch(calls, val))
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", name="sw", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=[{"name": "lora", "sweep": {"train.lr": [0.001, 0.003]}}], seeds=[1, 2],
        sweep_reuse=False,
    ))
    assert harness.run_suite(suite, report=False) == 0
    trained = [(next(c for c in cmd if c.startswith("output.dir=")).rsplit("/", 1)[1],
                next(c for c in cmd if c.startswith("train.lr="))) for cmd in calls]
    assert trained == [("toy-lora-sweep-lr0.001-seed1", "train.lr=0.001"),
                       ("toy-lora-sweep-lr0.003-seed1", "train.lr=0.003"),
                       ("toy-lora-seed1", "train.lr=0.003"), ("toy-lora-seed2", "train.lr=0.003")]
    seed1 = json.loads((tmp_path / "out" / "toy-lora-seed1.json").read_text())
    assert seed1["bench"]["picked"] == {"train.lr": 0.003}
    assert not seed1["bench"].get("reused_from")


def test_pick_from_trains_a_variant_at_another_methods_pick(tmp_path, make_recipe, monkeypatch):
    """``pick_from: lora``: a variant entry (gradient checkpointing) has no sweep of its own; its
    runs wait for LoRA's sweep, then train every seed (none copied) at LoRA's pick with their own
    overrides. An entry naming one without a sweep, or with both, is refused naming the key."""
    calls: list = []
    val = {0.001: 0.70, 0.003: 0.80}

    monkeypatch.setattr(harness, "launch_process", fake_sweep_launch(calls, val))
    path = write_recipe(tmp_path / "toy/lora.yaml", make_recipe(tmp_path))
    methods = [{"name": "lora", "sweep": {"train.lr": [0.001, 0.003]}},
               {"name": "lora", "label": "lora_gc", "pick_from": "lora",
                "overrides": {"train.gradient_checkpointing": True}}]
    suite = harness.load_suite(write_suite(
        tmp_path / "s.yaml", name="sw", runs_dir=str(tmp_path / "out"), recipes=[path],
        methods=methods, seeds=[1, 2]))
    runs = harness.full_plan(suite)
    assert len([r for r in runs if r.sweep]) == 2  # one sweep, not one per entry
    assert [r.id for r in runs if r.waiting] == ["toy-lora-seed1", "toy-lora_gc-seed1",
                                                 "toy-lora-seed2", "toy-lora_gc-seed2"]
    assert harness.run_suite(suite, report=False) == 0
    gc = [cmd for cmd in calls if any("lora_gc" in c for c in cmd)]
    assert len(gc) == 2 and all("train.lr=0.003" in cmd and
                                "train.gradient_checkpointing=true" in cmd for cmd in gc)
    out = tmp_path / "out"
    gc1 = json.loads((out / "toy-lora_gc-seed1.json").read_text())
    assert gc1["bench"]["picked"] == {"train.lr": 0.003} and not gc1["bench"].get("reused_from")
    assert json.loads((out / "toy-lora-seed1.json").read_text())["bench"]["reused_from"]

    for entries, words in (
        ([{"name": "lora"}, {"name": "lora", "label": "v", "pick_from": "lora"}],
         "methods 'v': pick_from: 'lora' is not an entry with a sweep"),
        ([{"name": "lora", "pick_from": "x", "sweep": {"train.lr": [0.1]}}],
         r"methods\[0\].pick_from"),
    ):
        bad = write_suite(tmp_path / "bad.yaml", recipes=[path], seeds=[1], methods=entries)
        with pytest.raises(harness.SuiteError, match=words):
            harness.load_suite(bad)


def test_an_unfinished_sweep_bolds_no_pick_and_orders_points_by_value(tmp_path):
    """Two of three points done: no pick in bold yet, the missing point named; points in
    numeric order (3e-05 before 0.0001), not file-name order."""
    from peftgov.bench.sweep import report_lines

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    for lr, val in ((1e-4, 0.92), (3e-5, 0.91)):
        r = result("full", 42, 0.9, eval={"accuracy": val})
        r["bench"]["sweep"] = {"train.lr": lr}
        (sweep / f"toy-full-sweep-lr{lr}-seed42.json").write_text(json.dumps(r))
    lines = report_lines(tmp_path, ["toy-full-sweep-lr0.0002-seed42", "toy-full-seed43"])
    text = "\n".join(lines)
    assert "**toy / full** (validation accuracy, 2 of 3 points so far)" in text
    assert "**" not in text.split("(validation")[1].split("Not run yet")[0]
    assert text.index("| lr3.0e-05 | 0.9100 |") < text.index("| lr0.0001 | 0.9200 |")
    assert "Not run yet: toy-full-sweep-lr0.0002-seed42; the pick waits for them." in text
    assert "| lr0.0001 | **0.9200** |" in "\n".join(report_lines(tmp_path))


def test_a_pick_at_the_end_of_the_swept_range_is_flagged(tmp_path):
    """A pick at the top (or bottom) of three or more swept values says a better point may lie
    beyond; one inside the range says nothing."""
    from peftgov.bench.sweep import report_lines

    sweep = tmp_path / "sweep"
    sweep.mkdir()

    def write(vals):
        for old in sweep.glob("*.json"):
            old.unlink()
        for lr, val in vals.items():
            r = result("full", 42, 0.9, eval={"accuracy": val})
            r["bench"]["sweep"] = {"train.lr": lr}
            (sweep / f"toy-full-sweep-lr{lr}-seed42.json").write_text(json.dumps(r))
        return "\n".join(report_lines(tmp_path))

    flag = "The pick's train.lr is the {} value swept: a better point may lie beyond the range."
    text = write({3e-5: 0.91, 1e-4: 0.92, 2e-4: 0.93})
    assert flag.format("highest") in text and "lowest" not in text
    assert flag.format("lowest") in write({3e-5: 0.95, 1e-4: 0.92, 2e-4: 0.93})
    assert "a better point" not in write({3e-5: 0.91, 1e-4: 0.94, 2e-4: 0.93})
    assert "a better point" not in write({1e-4: 0.92, 2e-4: 0.93})  # two values: no range


def test_sweep_errors_name_the_key(tmp_path):
    bad = write_suite(tmp_path / "b.yaml", recipes=["r.yaml"], seeds=[1],
                      methods=[{"name": "lora", "sweep": {"train.lr": []}}])
    with pytest.raises(harness.SuiteError, match=r"methods\[0\].sweep"):
        harness.load_suite(bad)
    bad = write_suite(tmp_path / "c.yaml", recipes=["r.yaml"], seeds=[1], sweep_seed=3,
                      methods=["lora"])
    with pytest.raises(harness.SuiteError, match="sweep_seed"):
        harness.load_suite(bad)


def test_launch_process_from_a_thread_restores_sigint_without_preexec_fn(tmp_path, monkeypatch):
    """A run started from a worker thread (``--jobs``) of a harness that ignores SIGINT (started
    in the background) still gets Python's Ctrl-C handler and its lane's CPUs, and its set-up
    is not Python code run between fork and exec (``preexec_fn``, unsafe in threads)."""
    import os
    import shlex
    import signal
    import subprocess
    import threading

    from peftgov.bench import process

    popen_kwargs: list[dict] = []
    real_popen = subprocess.Popen

    def spy(*args, **kwargs):
        popen_kwargs.append(kwargs)
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(process.subprocess, "Popen", spy)
    cpu = max(os.sched_getaffinity(0))
    log = tmp_path / "run.log"
    code = ("import os, signal; print('handler', signal.getsignal(signal.SIGINT) is "
            "signal.default_int_handler, sorted(os.sched_getaffinity(0)))")
    outcomes = []
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        worker = threading.Thread(target=lambda: outcomes.append(process.launch_process(
            [sys.executable, "-c", code], log=log, env=dict(os.environ), timeout_s=60,
            cpus=[cpu])))
        worker.start()
        worker.join(90)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert outcomes and outcomes[0].status == "ok", log.read_text()
    assert f"handler True [{cpu}]" in log.read_text()
    assert popen_kwargs and all(kw.get("preexec_fn") is None for kw in popen_kwargs)
    # the log still opens with the run's own command, not the trampoline
    assert log.read_text().splitlines()[0] == f"$ {sys.executable} -c {shlex.quote(code)}"
