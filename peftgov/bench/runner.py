"""Running a suite: one subprocess per run, finished runs skipped, failures kept apart.

Every run trains in its own subprocess (``python -m peftgov train RECIPE key=value ...``), so
one crash does not end the suite and peak memory is that run's alone. A finished run leaves
``<runs_dir>/<id>.json`` (its ``metrics.json`` plus a ``bench`` record: suite, recipe, command,
wall time, git commit, data hashes); a failed, timed-out or interrupted one leaves
``<runs_dir>/failed/<id>.json`` with the return code and the tail of its log, and never reaches
a table. Re-running a suite skips the ids whose result JSON exists (``--force`` trains them
again); a run interrupted mid-way resumes from its last checkpoint (peftgov's
``output.resume``). Ctrl-C or SIGTERM stops the current run, records it and stops the suite.

``--jobs N`` trains up to N runs at once, each in a lane of its own: the CPUs this process may
use, split into N disjoint sets (:func:`cpu_lanes`), a run's processes pinned to its lane's set
and ``OMP_NUM_THREADS`` set to its size (unless the environment sets it). A sweep's runs still
wait for the whole sweep; Ctrl-C stops and records every run in flight.

:func:`main` is the command line (``python -m benchmarks``, ``peftgov bench``; its words are
in :mod:`.cli`): exit 0 when every selected run is finished, 1 when any failed, 130 when
interrupted, 2 for a suite file error.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import shlex
import signal
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..sampling import even_split
from .cli import measure_peaks, parser
from .fewshot import full_split_stats, write_sample
from .plan import Run, format_value, plan
from .process import Outcome, error_line, launch_process, tail
from .provenance import git_info, now, sha256, write_json
from .suite import BASELINES, Suite, SuiteError, load_suite
from .sweep import SWEEP_DIR, expand

__all__ = [  # the runner's own, and the suite steps it drives (one namespace for callers)
    "Outcome", "Run", "Runner", "Suite", "SuiteError", "command", "cpu_lanes", "format_value",
    "full_plan",
    "full_split_stats", "launch_process", "load_suite", "main", "plan", "run_suite",
    "write_sample", "write_suite_report",
]


def command(run: Run, run_dir: Path, *, launch: str | None = None) -> list[str]:
    """The subprocess command line that trains ``run`` into ``run_dir``."""
    overrides = [f"{k}={format_value(v)}" for k, v in run.overrides.items()]
    overrides += [f"output.dir={run_dir}", "output.overwrite=true"]
    if run.baseline:
        target = [str(BASELINES[run.baseline]), run.recipe, *overrides]
    else:
        target = ["-m", "peftgov", "train", "--quiet", run.recipe, *overrides]
    if launch:
        return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", launch,
                *target]
    return [sys.executable, *target]


@dataclass
class Runner:
    suite: Suite
    launch: str | None = None
    timeout_s: float | None = None
    jobs: int = 1
    force: bool = False

    def result_path(self, run: Run) -> Path:
        if run.sweep is not None:  # apart: sweep points never reach the method tables
            return self.suite.runs_dir / SWEEP_DIR / f"{run.id}.json"
        return self.suite.runs_dir / f"{run.id}.json"

    def failed_path(self, run: Run) -> Path:
        return self.suite.runs_dir / "failed" / f"{run.id}.json"

    def run_dir(self, run: Run) -> Path:
        return self.suite.runs_dir / "runs" / run.id

    def log_path(self, run: Run) -> Path:
        return self.suite.runs_dir / "logs" / f"{run.id}.log"

    def state(self, run: Run) -> str:
        if self.result_path(run).is_file():
            return "finished"
        if run.waiting:
            return "waiting for its sweep"
        return "failed" if self.failed_path(run).is_file() else "pending"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        env.update(self.suite.env)
        return env

    def execute(self, run: Run, *, cpus: list[int] | None = None,
                stop: threading.Event | None = None) -> tuple[str, str]:
        """Train one run (on ``cpus`` only, when given; stopped once ``stop`` is set); returns
        (status, one-line summary). A run another harness process is training (its lock file
        ``runs/<id>.lock`` held) is left to it: status ``busy``."""
        lock = self.run_dir(run).parent / f"{run.id}.lock"  # not with_suffix: ids hold dots
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return "busy", f"skipped: another harness process holds {lock}"
            if not self.force and self.result_path(run).is_file():
                return "ok", f"finished meanwhile elsewhere -> {self.result_path(run)}"
            return self._execute(run, cpus, stop)

    def _execute(self, run: Run, cpus: list[int] | None, stop: threading.Event | None
                 ) -> tuple[str, str]:
        if run.reuse and Path(run.reuse).is_file():  # the picked sweep run is this run
            metrics = json.loads(Path(run.reuse).read_text(encoding="utf-8"))
            metrics["bench"] = {**metrics["bench"], "id": run.id, "sweep": None,
                                "picked": run.picked, "reused_from": run.reuse}
            write_json(self.result_path(run), metrics)
            self.failed_path(run).unlink(missing_ok=True)
            return "ok", f"ok: the picked sweep run {run.reuse} -> {self.result_path(run)}"
        run_dir = self.run_dir(run)
        cmd = command(run, run_dir, launch=self.launch)
        started = now()
        git = git_info()  # per run: the checkout may move while a long suite runs
        extra: dict[str, Any] = {}
        setup_error = None
        try:
            if run.sample is not None:
                extra = write_sample(run)
            elif self.suite.train_sizes != [None] and run.error is None:
                extra = full_split_stats(run)
        except Exception as exc:  # a data problem: let peftgov report it in the subprocess
            setup_error = f"{type(exc).__name__}: {exc}"
        env = self.env()
        if cpus and "OMP_NUM_THREADS" not in env:
            env["OMP_NUM_THREADS"] = str(len(cpus))
        outcome = launch_process(cmd, log=self.log_path(run), env=env,
                                 timeout_s=self.timeout_s or self.suite.timeout_s,
                                 cpus=cpus, stop=stop)
        interrupted = outcome.status == "interrupted"
        metrics_file = run_dir / "metrics.json"
        if interrupted and outcome.returncode == 0 and metrics_file.is_file():
            outcome.status = "ok"  # it finished while being stopped: keep it
        if outcome.status == "ok" and not metrics_file.is_file():
            outcome.status = "failed"
            setup_error = setup_error or f"exit 0 but no {metrics_file}"
        if outcome.status != "ok":
            err = self._record_failure(run, cmd, outcome, started, setup_error, git)
            if interrupted:
                raise KeyboardInterrupt
            return outcome.status, (
                f"FAILED ({outcome.status}, rc {outcome.returncode}) "
                f"{outcome.wall_time_s:.1f} s: {err[:160]} -> {self.failed_path(run)}"
            )
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        metrics["bench"] = self._bench_record(run, cmd, outcome, started, extra, git)
        metrics["bench"].update(jobs=self.jobs, cpus=cpus, omp_threads=env.get("OMP_NUM_THREADS"))
        write_json(self.result_path(run), metrics)
        self.failed_path(run).unlink(missing_ok=True)
        if interrupted:
            raise KeyboardInterrupt
        metric = metrics.get("metric", "accuracy")
        test = (metrics.get("test") or {}).get(metric)
        shown = f"test {metric}={test:.4f}" if isinstance(test, (int, float)) else "no test"
        return "ok", f"ok {outcome.wall_time_s:.1f} s, {shown} -> {self.result_path(run)}"

    def _bench_record(self, run: Run, cmd, outcome: Outcome, started: str, extra, git) -> dict:
        saved = self.run_dir(run) / "recipe.yaml"
        if saved.is_file():  # what the run resolved itself: no need for this process's schema
            raw = (yaml.safe_load(saved.read_text(encoding="utf-8")) or {}).get("data") or {}
            data = {s: raw.get(s) for s in ("train", "validation", "test")}
        else:  # a baseline script that writes no recipe.yaml
            from peftgov.recipe import load_recipe

            recipe = load_recipe(run.recipe, overrides=run.overrides)
            data = {s: getattr(recipe.data, s) for s in ("train", "validation", "test")}
        backbone = self.run_dir(run) / "backbone.json"
        log_text = self.log_path(run).read_text(encoding="utf-8", errors="replace")
        return {
            "suite": self.suite.name,
            "id": run.id,
            "label": run.label,
            "baseline": run.baseline,
            "recipe": run.recipe,
            "overrides": run.overrides,
            "train_size": run.train_size,
            "sweep": run.sweep,
            "picked": run.picked,
            **extra,
            "command": shlex.join(cmd),
            "launch": self.launch,
            "cwd": os.getcwd(),
            "started_at": started,
            "finished_at": now(),
            "wall_time_s": outcome.wall_time_s,
            "returncode": outcome.returncode,
            "subprocess_maxrss_mb": outcome.maxrss_mb,
            "resumed": "peftgov: resuming" in log_text,
            **git,
            "host": platform.node(),
            "cpu_count": os.cpu_count(),
            "data_files": data,
            "data_sha256": {s: sha256(p) for s, p in data.items() if p},
            "backbone": json.loads(backbone.read_text()) if backbone.is_file() else None,
            "run_dir": str(self.run_dir(run)),
            "log": str(self.log_path(run)),
        }

    def _record_failure(self, run: Run, cmd, outcome: Outcome, started: str, setup_error,
                        git) -> str:
        lines = tail(self.log_path(run))
        status, wall = outcome.status, outcome.wall_time_s
        error = error_line(lines) or setup_error or status
        if status == "timeout":
            error = f"timed out after {wall:.0f} s; last line: {error}"
        elif status == "interrupted":
            error = f"interrupted (Ctrl-C or SIGTERM) after {wall:.0f} s"
        write_json(
            self.failed_path(run),
            {
                "id": run.id,
                "suite": self.suite.name,
                "label": run.label,
                "status": status,
                "returncode": outcome.returncode,
                "error": error,
                "setup_error": setup_error,
                "planning_error": run.error,
                "error_tail": lines,
                "command": shlex.join(cmd),
                "recipe": run.recipe,
                "overrides": run.overrides,
                "started_at": started,
                "finished_at": now(),
                "wall_time_s": wall,
                **git,
                "log": str(self.log_path(run)),
            },
        )
        return error


def full_plan(suite: Suite) -> list[Run]:
    """Every run of the suite, the sweeps (:mod:`.sweep`) first."""
    return expand(suite, plan(suite))


def _select(runs: list[Run], only: str | None, seeds: str | None = None) -> list[Run]:
    """``--seeds`` keeps the sweep runs a selected run waits for; ``--only`` picks labels."""
    if seeds:
        try:
            keep = {int(x) for x in seeds.split(",") if x.strip()}
        except ValueError:
            raise SuiteError(f"--seeds: expected comma-separated integers, got {seeds!r}") from None
        runs = [r for r in runs if r.seed in keep or r.sweep is not None]
    if not only:
        return runs
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    known = {r.label for r in runs}
    unknown = wanted - known
    if unknown:
        raise SuiteError(f"--only: no method {sorted(unknown)} in this suite (has {sorted(known)})")
    return [r for r in runs if r.label in wanted]


def cpu_lanes(jobs: int) -> list[list[int] | None]:
    """``jobs`` disjoint sets of the CPUs this process may use, in order (the first sets one
    larger when they do not divide evenly); ``[None]`` for one job: its runs keep the
    harness's CPUs, as without ``--jobs``."""
    if jobs < 1:
        raise SuiteError(f"--jobs: expected a number of runs at once >= 1, got {jobs}")
    if jobs == 1:
        return [None]
    cpus = sorted(os.sched_getaffinity(0))
    if jobs > len(cpus):
        raise SuiteError(f"--jobs {jobs}: this process may use {len(cpus)} CPU(s) "
                         f"({_span(cpus)}); each run at once needs one of its own")
    return even_split(cpus, jobs)


def _span(cpus: list[int]) -> str:
    return f"{cpus[0]}-{cpus[-1]}" if cpus[-1] - cpus[0] == len(cpus) - 1 > 0 else \
        ",".join(map(str, cpus))


def _in_lane(runner: Runner, run: Run, cpus: list[int] | None, stop: threading.Event
             ) -> tuple[str, str]:
    """A lane's thread: ``runner.execute``, its interrupt turned into a status."""
    try:
        return runner.execute(run, cpus=cpus, stop=stop)
    except KeyboardInterrupt:
        if runner.state(run) == "finished":
            return "ok", f"finished as it was stopped: kept -> {runner.result_path(run)}"
        return "interrupted", f"interrupted -> {runner.failed_path(run)}"


def run_suite(
    suite: Suite,
    *,
    only: str | None = None,
    seeds: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    launch: str | None = None,
    timeout_s: float | None = None,
    jobs: int = 1,
    report: bool = True,
    out=None,
) -> int:
    """Train every unfinished run of ``suite``, up to ``jobs`` at once (:func:`cpu_lanes`);
    0 when all are finished, 1 if any failed, 130 when interrupted, :data:`STOPPED` when a
    ``STOP`` file in the runs folder held back the runs not yet started (:func:`stop_file`)."""
    out = out or sys.stdout
    runs = _select(full_plan(suite), only, seeds)
    lanes = cpu_lanes(jobs)
    runner = Runner(suite, launch=launch, timeout_s=timeout_s, jobs=jobs, force=force)
    if launch and not Path(launch).is_file():
        raise SuiteError(f"--launch: accelerate config not found: {launch}")
    todo = [r for r in runs if force or runner.state(r) != "finished"]
    print(
        f"suite {suite.name}: {len(runs)} runs, {len(runs) - len(todo)} finished, "
        f"{len(todo)} to run -> {suite.runs_dir}"
        + (f"; {jobs} at once, on CPUs " + " | ".join(map(_span, lanes)) if jobs > 1 else ""),
        file=out, flush=True,
    )
    if dry_run:
        for r in runs:
            state = runner.state(r)
            print(f"{r.id}  [{state}]", file=out)
            if force or state != "finished":
                print(f"    {shlex.join(command(r, runner.run_dir(r), launch=launch))}", file=out)
            if r.error:
                print(f"    recipe error: {r.error}", file=out)
        return 0
    if todo:
        ensure_peak()
    failed = 0
    width = max((len(r.id) for r in runs), default=0)
    # SIGTERM (a scheduler, `kill`) stops the current run and records it, as Ctrl-C does: the
    # run's process group is its own, so it would otherwise outlive the harness.
    previous = _on_sigterm(_interrupt)
    tried: set[str] = set()
    free = list(lanes)
    running: dict[Future, tuple[str, list[int] | None, Run]] = {}  # -> (prefix, lane, run)
    stop = threading.Event()  # tells the lanes' runs to stop
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="lane") if jobs > 1 else None
    replan = False  # a sweep run finished: once nothing else can start, plan again
    stopping = False  # a STOP file appeared: start nothing more, let the runs in flight end
    try:
        while True:
            stopping = stopping or stop_file(suite).exists()
            for i, r in enumerate(runs, start=1):
                if not free or stopping:
                    break
                if r.id in tried:
                    continue
                prefix = f"[{i}/{len(runs)}] {r.id.ljust(width)}"
                if runner.state(r) == "finished" and not force:
                    print(f"{prefix}  skip (finished)", file=out, flush=True)
                    tried.add(r.id)
                    continue
                if r.waiting:
                    continue
                tried.add(r.id)
                lane = free.pop(0)
                if pool is None:  # in this thread: Ctrl-C reaches the run directly
                    print(f"{prefix}  ...", end=" ", file=out, flush=True)
                    future: Future = Future()
                    future.set_result(runner.execute(r))
                else:
                    print(f"{prefix}  started on CPU {_span(lane)}", file=out, flush=True)
                    future = pool.submit(_in_lane, runner, r, lane, stop)
                running[future] = (prefix, lane, r)
            if free and replan:  # nothing else to start: plan again with the sweep's result
                runs, replan = _select(full_plan(suite), only, seeds), False
                continue
            if not running and stopping:
                left = [r for r in runs if force and r.id not in tried
                        or not force and runner.state(r) != "finished"]
                if left:
                    print(f"stopped: {stop_file(suite)} exists, so {len(left)} run(s) were not "
                          "started; delete it and run the same command again to continue",
                          file=out, flush=True)
                    break
                stopping = False  # it held nothing back
            if not running:
                for r in runs:
                    if r.waiting and r.id not in tried:
                        print(f"{r.id.ljust(width)}  waiting: its sweep has not finished",
                              file=out, flush=True)
                break
            done, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in done:
                prefix, lane, r = running.pop(future)
                free.append(lane)
                status, line = future.result()
                print(line if pool is None else f"{prefix}  {line}", file=out, flush=True)
                failed += status not in ("ok", "busy")
                replan |= r.sweep is not None and status == "ok"
                if status == "interrupted":
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        stop.set()
        for future, (prefix, lane, r) in running.items():  # each records its run, then ends
            print(f"{prefix}  {future.result()[1]}", file=out, flush=True)
        print(f"\ninterrupted: recorded in {suite.runs_dir / 'failed'}; run the same command "
              "again to continue (finished runs are skipped, an interrupted one resumes)",
              file=out, flush=True)
        if report:
            write_suite_report(suite)
        return 130
    finally:
        stop.set()
        if pool is not None:
            pool.shutdown(wait=True)
        _on_sigterm(previous)
    if report:
        path = write_suite_report(suite)
        print(f"report: {path}", file=out, flush=True)
    return 1 if failed else STOPPED if stopping else 0


STOPPED = 75
"""run_suite's exit code when the STOP file held runs back (EX_TEMPFAIL: try again later)."""


def stop_file(suite: Suite) -> Path:
    """``<runs folder>/STOP``: while it exists, a harness running the suite starts no new run
    and the runs in flight finish (their timings untouched, unlike Ctrl-C, whose runs resume
    later with a second load in their clocks). Every harness process on that folder sees it:
    two lanes stop with one ``touch``."""
    return suite.runs_dir / "STOP"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _on_sigterm(handler):
    """Install ``handler`` for SIGTERM (main thread only); returns the previous one."""
    if handler is None:
        return None
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def write_suite_report(suite: Suite) -> Path:
    """The suite's report: its result files, its runs not run yet, and what it compares."""
    from .report import write_report

    suite.runs_dir.mkdir(parents=True, exist_ok=True)
    try:
        runner = Runner(suite)
        pending = [r.id for r in full_plan(suite) if runner.state(r) not in ("finished", "failed")]
    except Exception:  # the report stands on the result files alone
        pending = []
    return write_report(suite.runs_dir, suite=suite.name, notes=suite.notes, pending=pending,
                        spec=suite.report_spec())


def ensure_peak() -> None:
    """Measure the matmul peak once per machine and thread count (runs then report MFU)."""
    from peftgov import perf

    key, peak, measured = perf.measured_peak()
    if measured:
        print(f"peak {key}: {perf.describe_peak(peak)}")


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks run|report|peak|scaling ...`` (also ``peftgov bench``)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["scaling"]:
        from .scaling import main as scaling_main

        return scaling_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        if args.command == "peak":
            return measure_peaks(args.threads, args.out)
        if args.command == "report" and Path(args.suite).is_dir():
            from .report import write_report

            print(f"report: {write_report(Path(args.suite))}")
            return 0
        suite = load_suite(args.suite, runs_dir=args.runs_dir)
        if args.command == "report":
            print(f"report: {write_suite_report(suite)}")
            return 0
        return run_suite(
            suite, only=args.only, seeds=args.seeds, dry_run=args.dry_run, force=args.force,
            launch=args.launch, timeout_s=args.timeout, jobs=args.jobs,
            report=not args.no_report,
        )
    except SuiteError as exc:
        print(f"benchmarks: error: {exc}", file=sys.stderr)
        return 2
