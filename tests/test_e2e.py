"""End to end on the real backbone: the default recipe (LoRA on MiniLM-L6, bundled hotline
intents), shortened to one epoch so it runs in about a minute on a shared CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import peftgov

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_default_recipe_learns_the_hotline_intents(tmp_path):
    recipe = peftgov.load_recipe(
        ROOT / "recipes" / "hotline" / "lora.yaml",
        overrides=["train.epochs=1", f"output.dir={tmp_path / 'run'}"],
    )
    assert recipe.model.name == "minilm-l6" and recipe.method.name == "lora"
    result = peftgov.train(recipe, progress=False)
    m = result.metrics
    # 14 intents: chance is ~0.07; one epoch reaches ~0.7 here
    assert m["test"]["accuracy"] > 0.5
    assert m["test"]["accuracy"] > m["test_before"]["accuracy"] + 0.3
    assert m["test"]["n"] == 140
    assert m["trainable_pct"] < 10
    run = result.run_dir
    assert (run / "adapter" / "adapter_config.json").is_file()
    assert json.loads((run / "adapter" / "adapter_config.json").read_text())["peft_type"] == "LORA"
    assert (run / "recipe.yaml").is_file() and (run / "metrics.json").is_file()
    assert not (run / "RUNNING").exists()
    assert peftgov.load_recipe(run / "recipe.yaml") == recipe
