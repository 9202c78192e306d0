"""Resume after a kill: the resumed run ends exactly where an uninterrupted one does.

Dropout is on (LoRA dropout 0.1 and BERT's own), so an exact match needs the RNG state, the
optimizer, the scheduler, the data position and the early-stopping state all restored.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

import peftgov
from peftgov import checkpoint


def untimed(history):
    """Validations without their clock stamps (wall_s, cpu_s, train_time_s): the one part of a
    resumed run that cannot equal an uninterrupted one."""
    clocks = ("wall_s", "cpu_s", "train_time_s")
    return [{k: v for k, v in e.items() if k not in clocks} for e in history]


def _recipe(make_recipe, tmp_path: Path, run: str) -> dict:
    r = make_recipe(
        tmp_path,
        method={"name": "lora", "dropout": 0.1},
        **{
            "train.max_steps": 16,
            "train.batch_size": 8,
            "train.eval_every": 8,
            "train.checkpoint_every": 2,
            "train.lr": 1e-2,
            "train.log_every": 1,
            "output.dir": str(tmp_path / run),
        },
    )
    return r


def _losses(run_dir: Path) -> list[float]:
    lines = [json.loads(x) for x in (run_dir / "log.jsonl").read_text().splitlines()]
    return [x["loss"] for x in lines if "loss" in x]


def _same_adapter(a: Path, b: Path) -> None:
    x = load_file(str(a / "adapter" / "adapter_model.safetensors"))
    y = load_file(str(b / "adapter" / "adapter_model.safetensors"))
    assert x.keys() == y.keys()
    for k in x:
        assert (x[k] == y[k]).all(), k


def _interrupted(raw: dict, monkeypatch, at_step: int | None = None) -> None:
    """Train ``raw`` until the checkpoint of step ``at_step`` (default: the first checkpoint) is
    written, then stop as a kill would."""
    real_save = checkpoint.save

    def save_then_die(run_dir, **kw):
        real_save(run_dir, **kw)
        if at_step is None or kw["state"]["step"] == at_step:
            raise KeyboardInterrupt  # stands in for the kill, right after a checkpoint

    monkeypatch.setattr(checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        peftgov.train(peftgov.load_recipe(raw), progress=False)
    monkeypatch.setattr(checkpoint, "save", real_save)


def test_interrupted_run_resumes_bit_identically(make_recipe, tmp_path, monkeypatch, capsys):
    full = peftgov.train(peftgov.load_recipe(_recipe(make_recipe, tmp_path, "a")), progress=False)

    raw_b = _recipe(make_recipe, tmp_path, "b")
    _interrupted(raw_b, monkeypatch, at_step=6)
    run_b = tmp_path / "b"
    assert (run_b / "RUNNING").is_file() and not (run_b / "metrics.json").exists()
    recipe_b = peftgov.load_recipe(raw_b)

    capsys.readouterr()
    resumed = peftgov.train(recipe_b, progress=False)
    assert "resuming" in "".join(capsys.readouterr())
    assert _losses(run_b)[:6] == _losses(tmp_path / "a")[:6]
    assert _losses(run_b)[6:] == _losses(tmp_path / "a")[6:]
    assert resumed.metrics["test"] == full.metrics["test"]
    assert untimed(resumed.metrics["eval_history"]) == untimed(full.metrics["eval_history"])
    _same_adapter(tmp_path / "a", run_b)
    assert not (run_b / "checkpoint").exists() and not (run_b / "RUNNING").exists()


def test_a_resumed_runs_clock_carries_the_process_before_it(make_recipe, tmp_path, monkeypatch):
    """Time to accuracy after a kill: the resumed run's wall clock goes on from the checkpoint's
    (the first process ran 1000 s to it, the second 5 s so far), not from zero again; so does
    its CPU-seconds clock (700 s, then 3)."""
    from peftgov import loop

    now, cpu = [1000.0], [700.0]
    monkeypatch.setattr(loop, "process_seconds", lambda: now[0])
    monkeypatch.setattr(loop, "process_cpu_seconds", lambda: cpu[0])
    raw = _recipe(make_recipe, tmp_path, "b")
    raw["train"]["eval_every"] = 4
    raw["train"]["max_steps"] = 8
    _interrupted(raw, monkeypatch, at_step=6)
    now[0], cpu[0] = 5.0, 3.0
    resumed = peftgov.train(peftgov.load_recipe(raw), progress=False)
    clock = [(e["step"], e["wall_s"], e["cpu_s"]) for e in resumed.metrics["eval_history"]]
    assert clock == [(4, 1000.0, 700.0), (8, 1005.0, 703.0)]
    assert resumed.metrics["wall_s"] == 1005.0 and resumed.metrics["cpu_s"] == 703.0


def test_resume_refuses_a_different_recipe(make_recipe, tmp_path, monkeypatch):
    raw = _recipe(make_recipe, tmp_path, "c")
    _interrupted(raw, monkeypatch)
    raw["train"]["lr"] = 5e-3
    with pytest.raises(peftgov.PeftgovError, match="different recipe"):
        peftgov.train(peftgov.load_recipe(raw), progress=False)
    # and asking to start afresh works
    raw["output"]["resume"] = False
    assert peftgov.train(peftgov.load_recipe(raw), progress=False).metrics["steps"] == 16


def test_resume_accepts_a_recipe_saved_before_an_option_existed(make_recipe, tmp_path, monkeypatch, capsys):
    """An interrupted run saved by an older peftgov lacks options added since (here
    ``train.compile``, ``train.pad_to_multiple_of`` and ``method.fused_dropout``): they are not
    compared, whatever this recipe sets them to; the options the run had still are."""
    raw = _recipe(make_recipe, tmp_path, "d")
    _interrupted(raw, monkeypatch)
    saved_file = tmp_path / "d" / "recipe.yaml"
    saved = yaml.safe_load(saved_file.read_text())
    assert saved["train"].pop("compile") is False and saved["train"].pop("pad_to_multiple_of") is None
    assert saved["method"].pop("fused_dropout") is True
    saved_file.write_text(yaml.safe_dump(saved))
    changed = {**raw, "train": {**raw["train"], "lr": 5e-3}}
    with pytest.raises(peftgov.PeftgovError, match="different recipe"):
        peftgov.train(peftgov.load_recipe(changed), progress=False)
    raw["method"]["fused_dropout"] = False  # not the default, and not in the saved recipe
    capsys.readouterr()
    assert peftgov.train(peftgov.load_recipe(raw), progress=False).metrics["steps"] == 16
    assert "resuming" in "".join(capsys.readouterr())


@pytest.mark.slow
def test_sigkill_then_same_command_resumes(make_recipe, tmp_path):
    """The real thing: a training process killed with SIGKILL, then the same command again."""
    raw_a = _recipe(make_recipe, tmp_path, "a")
    raw_b = _recipe(make_recipe, tmp_path, "b")
    for raw in (raw_a, raw_b):
        # slow the run down enough to be killed mid-way: more, smaller steps
        raw["train"].update(max_steps=40, batch_size=4, eval_every=20, checkpoint_every=1)
    files = {}
    for name, raw in (("a", raw_a), ("b", raw_b)):
        files[name] = tmp_path / f"{name}.yaml"
        files[name].write_text(yaml.safe_dump(raw))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "peftgov", "train", "--quiet"]
    subprocess.run(cmd + [str(files["a"])], check=True, env=env, capture_output=True)

    proc = subprocess.Popen(cmd + [str(files["b"])], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "b" / "checkpoint" / "state.json"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if json.loads(state.read_text())["step"] >= 10:
                break
        except (OSError, ValueError):
            pass
        if proc.poll() is not None:
            pytest.fail("training finished before it could be killed")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "b" / "metrics.json").exists()

    again = subprocess.run(cmd[:-1] + [str(files["b"])], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming" in again.stderr + again.stdout
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert a["test"] == b["test"] and untimed(a["eval_history"]) == untimed(b["eval_history"])
    _same_adapter(tmp_path / "a", tmp_path / "b")


def test_checkpoint_survives_a_kill_during_its_own_renames(tmp_path):
    """save() swaps folders by renames: a process killed between them (or while deleting the
    previous copy) must leave a checkpoint the next save and the next resume can use."""
    import shutil

    from peftgov import checkpoint

    run = tmp_path / "run"
    final, old = run / checkpoint.DIR, run / f"{checkpoint.DIR}.old"
    final.mkdir(parents=True)
    (final / "state.json").write_text('{"step": 3}')
    # killed after `checkpoint -> checkpoint.old`, before `checkpoint.tmp -> checkpoint`
    final.rename(old)
    assert checkpoint.exists(run)  # recovered from .old
    assert (final / "state.json").read_text() == '{"step": 3}' and not old.exists()
    # killed while deleting .old after a successful swap: a half-deleted .old stays behind
    shutil.copytree(final, old)
    (old / "state.json").unlink()
    (old / "leftover.safetensors").write_bytes(b"x")
    checkpoint._recover(run)
    assert checkpoint.exists(run) and old.exists()  # the complete one is kept
    # the next save replaces the checkpoint despite the half-deleted .old (it used to fail
    # with "Directory not empty")
    import torch

    class OneProcess:  # the bits of an Accelerator that save() uses
        is_main_process, process_index, num_processes = True, 0, 1

        def wait_for_everyone(self):
            pass

    w = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.AdamW([w])
    w.grad = torch.ones(2)
    opt.step()
    checkpoint.save(run, trainable={"w": w.detach()}, best={"w": w.detach()}, optimizer=opt,
                    state={"step": 4}, accelerator=OneProcess())
    assert json.loads((final / "state.json").read_text())["step"] == 4
    assert not old.exists()
    checkpoint.remove(run)
    assert not final.exists() and not old.exists()
