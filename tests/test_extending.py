"""Adding a method is one module and one registration line: a method defined in this test
file alone (LayerNorm tuning: every normalisation weight and bias, plus the head) trains
through the one loop, reloads, refuses a quantized backbone by its own declaration, and the
benchmark report lists it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch

import peftgov
from peftgov.config import MethodConfig
from peftgov.methods import METHODS, Method, register
from peftgov.methods.base import load_trainable, save_trainable, set_trainable
from peftgov.runs import load_run


@dataclass(frozen=True)
class LnTuneOptions(MethodConfig):
    name: str = "lntune"


class LnTune(Method):
    name = "lntune"
    config_cls = LnTuneOptions
    supports_quantized_backbone = False  # (it could; declared here to test the hook)

    def apply(self, model, cfg, *, head, peft_task_type):
        for pname, p in model.named_parameters():
            if "LayerNorm" in pname or "norm" in pname.split(".")[-2].lower():
                p.requires_grad_(True)
        set_trainable(model, head)
        return model

    def save(self, model, directory):
        save_trainable(model, directory, meta={"method": self.name})

    def load(self, base, directory, cfg):
        return load_trainable(base, directory)


@pytest.fixture
def lntune():
    register(LnTune)  # the one registration line (a decorator in a real module)
    yield METHODS["lntune"]
    del METHODS["lntune"]


def test_a_method_from_a_test_file_trains_reloads_and_reports(lntune, make_recipe, tmp_path):
    recipe = make_recipe(tmp_path, method={"name": "lntune"}, train={"epochs": 4, "lr": 5e-2})
    result = peftgov.train(peftgov.load_recipe(recipe), progress=False)
    m = result.metrics
    assert m["method"] == "lntune"
    assert 0 < m["trainable_params"] < m["total_params"]
    assert m["test"]["loss"] < m["test_before"]["loss"]
    names = {n for n, p in result.model.named_parameters() if p.requires_grad}
    assert names and all("LayerNorm" in n or "classifier" in n for n in names)

    batch = {"input_ids": torch.tensor([[2, 5, 6, 3]]), "attention_mask": torch.ones(1, 4)}
    with torch.no_grad():
        assert torch.equal(load_run(result.run_dir).model(**batch).logits,
                           result.model(**batch).logits)


def test_the_method_declares_what_it_cannot_do(lntune, make_recipe, tmp_path, capsys):
    from peftgov.cli import main

    recipe = make_recipe(tmp_path, method={"name": "lntune"}, model={"quantization": "4bit"})
    path = tmp_path / "recipe.yaml"
    import yaml

    path.write_text(yaml.safe_dump(recipe))
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert "model.quantization" in err and "'lntune'" in err and "lora" in err


def test_the_report_lists_the_new_method_with_the_suites_target(lntune, make_recipe, tmp_path):
    from peftgov.bench.report import write_report
    from peftgov.bench.suite import load_suite

    results = tmp_path / "results"
    results.mkdir()
    for method, lr in (("full", 3e-3), ("lntune", 5e-2)):
        recipe = make_recipe(tmp_path / method, method={"name": method}, train={"lr": lr, "epochs": 2})
        metrics = peftgov.train(peftgov.load_recipe(recipe), progress=False).metrics
        rid = f"toy-{method}-seed0"
        record = {"id": rid, "label": method, "wall_time_s": 1.0, "train_size": None,
                  "examples_per_class": None}
        (results / f"{rid}.json").write_text(json.dumps({**metrics, "bench": record}, default=str))
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"name: ext\nruns_dir: {results}\nrecipes: [recipes/hotline/lora.yaml]\n"
        "reference: full\nmethods:\n  - {name: lntune, target_pts: 50}\n  - full\nseeds: [0]\n"
    )
    spec = load_suite(suite).report_spec()
    report = write_report(results, suite="ext", plots=False, spec=spec).read_text()
    main_table = report.split("Headline")[0]  # the headline block repeats the rows
    table = [line.split("|")[1].strip(" *") for line in main_table.splitlines()
             if line.startswith("| ") and "params" not in line]
    assert table == ["lntune", "full"]  # the suite's order, the new method included
    assert "- **lntune**: Δ = " in report and "target within 50.0 points of full" in report
