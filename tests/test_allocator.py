"""glibc's allocator under a run (peftgov/allocator.py): ``peftgov train`` runs itself again
under transparent huge pages where glibc and the kernel offer them, a user's choice or
``PEFTGOV_HUGEPAGES=0`` leaves it alone, a program that only imports peftgov is never replaced,
and metrics.json says what the run had."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from peftgov.allocator import MMAP_THRESHOLD, hugepage_environment, is_train_command

THP_ON = "always [madvise] never\n"
GLIBC = ("glibc", "2.36")
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc on Linux")


@linux
def test_the_tunable_is_added_to_the_users_own():
    env = hugepage_environment({"PATH": "/bin"}, thp=THP_ON, libc=GLIBC)
    assert env == {"PATH": "/bin", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
    env = hugepage_environment(
        {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"},
        thp="[always] madvise never",
        libc=("glibc", "2.35"),
    )
    assert env["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"


@linux
@pytest.mark.parametrize(
    ("environ", "thp", "libc"),
    [
        ({"PEFTGOV_HUGEPAGES": "0"}, THP_ON, GLIBC),  # opted out
        ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, THP_ON, GLIBC),  # the user's choice
        ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}, THP_ON, GLIBC),  # already (no loop)
        ({}, "always madvise [never]\n", GLIBC),  # huge pages off in the kernel
        ({}, THP_ON, ("glibc", "2.34")),  # glibc without the tunable
        ({}, THP_ON, ("", "")),  # not glibc (musl)
    ],
)
def test_a_process_stays_as_it_is(environ, thp, libc):
    assert hugepage_environment(environ, thp=thp, libc=libc) is None


@pytest.mark.parametrize(
    ("argv", "orig", "expected"),
    [
        (["-m", "train", "r.yaml"], ["py", "-m", "peftgov", "train", "r.yaml"], True),
        (
            ["-m", "--debug", "train", "r.yaml"],
            ["py", "-u", "-m", "peftgov", "--debug", "train", "r.yaml"],
            True,
        ),
        (
            ["/venv/bin/peftgov", "train", "r.yaml"],
            ["py", "/venv/bin/peftgov", "train", "r.yaml"],
            True,
        ),
        (["-m", "eval", "runs/x"], ["py", "-m", "peftgov", "eval", "runs/x"], False),
        (["-m", "train"], ["py", "-m", "peftgov.bench", "train"], False),
        (
            ["benchmarks/__main__.py", "run", "s.yaml"],
            ["py", "-m", "benchmarks", "run", "s.yaml"],
            False,
        ),
        (["train.py", "train"], ["py", "train.py", "train"], False),  # a script importing peftgov
        ([""], ["py"], False),  # an interactive session
        ([], [], False),
    ],
)
def test_only_the_train_command_is_run_again(argv, orig, expected):
    assert is_train_command(argv, orig) is expected


@linux
def test_the_train_command_records_its_allocator(make_recipe, tmp_path):
    """The real command, twice at once: as started (run again under huge pages where this
    machine offers them) and opted out; both train, and metrics.json says which ran how."""
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "PEFTGOV_HUGEPAGES")}
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    procs = {}
    for name, extra in (("default", {}), ("opted_out", {"PEFTGOV_HUGEPAGES": "0"})):
        recipe = make_recipe(tmp_path / name, **{"train.max_steps": 2})
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(recipe))
        cmd = [sys.executable, "-m", "peftgov", "train", "--quiet", str(path)]
        procs[name] = subprocess.Popen(
            cmd, env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    got = {}
    for name, proc in procs.items():
        _, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-2000:]
        got[name] = json.loads((tmp_path / name / "run" / "metrics.json").read_text())["allocator"]
    assert got["default"] == {
        "mmap_threshold": MMAP_THRESHOLD,
        "huge_pages": hugepage_environment(env) is not None,
    }
    assert got["opted_out"] == {"mmap_threshold": MMAP_THRESHOLD, "huge_pages": False}
