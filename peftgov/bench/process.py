"""One run's subprocess: output into a log, its own process group, a timeout, optionally its
own CPUs (a lane of ``--jobs``), and a clean stop on Ctrl-C / SIGTERM or when the harness asks
(SIGINT to the group, then SIGTERM, then SIGKILL); the telling error line and tail of the log
for the failure record."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TAIL_LINES = 40
INTERRUPT_GRACE_S = 30.0


@dataclass
class Outcome:
    status: str
    """``ok``, ``failed``, ``timeout`` or ``interrupted``."""
    returncode: int | None
    wall_time_s: float
    maxrss_mb: float | None


# The child's set-up runs in a small Python trampoline that then execs the run, not in
# ``preexec_fn``: under ``--jobs`` runs start from worker threads, where ``preexec_fn`` (Python
# code between fork and exec) is not safe. A harness started in the background ignores SIGINT
# and children inherit that: restore the default so that stopping a run (SIGINT to its group)
# reaches Python in it. The CPUs, when given, are inherited by everything the run starts
# (accelerate's workers too).
_TRAMPOLINE = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
               "cpus = sys.argv[1]; cpus and os.sched_setaffinity(0, map(int, cpus.split(','))); "
               "os.execvp(sys.argv[2], sys.argv[2:])")


def _trampolined(cmd: list[str], cpus: list[int] | None) -> list[str]:
    return [sys.executable, "-c", _TRAMPOLINE, ",".join(map(str, cpus or [])), *cmd]


def launch_process(cmd: list[str], *, log: Path, env: dict[str, str], timeout_s: float | None,
                   cpus: list[int] | None = None, stop: threading.Event | None = None
                   ) -> Outcome:
    """Run ``cmd`` with stdout + stderr into ``log``, in its own process group (so stopping
    it reaches ``accelerate launch``'s workers too), on ``cpus`` only when given. On Ctrl-C /
    SIGTERM, or once ``stop`` is set (how the harness stops runs in other threads), the run is
    stopped and the outcome says ``interrupted`` (the caller records it, then stops the
    suite)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "wb") as out:
        out.write(f"$ {shlex.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(_trampolined(cmd, cpus), stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
        status = "ok"
        try:
            while True:
                pid, wstatus, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if stop is not None and stop.is_set():
                    raise KeyboardInterrupt
                if timeout_s and time.perf_counter() - start > timeout_s:
                    status = "timeout"
                    _stop(proc)
                    _, wstatus, rusage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.2)
        except KeyboardInterrupt:
            status = "interrupted"
            _stop(proc)
            try:
                _, wstatus, rusage = os.wait4(proc.pid, 0)
            except ChildProcessError:  # reaped just as the interrupt came: status unknown
                wstatus, rusage = 130 << 8, None
    rc = os.waitstatus_to_exitcode(wstatus)
    proc.returncode = rc
    if status == "ok" and rc != 0:
        status = "failed"
    maxrss = rusage.ru_maxrss / 1024 if rusage is not None else None
    return Outcome(status, rc, time.perf_counter() - start, maxrss)


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT to the run's process group; SIGTERM, then SIGKILL, after grace periods (a
    second Ctrl-C skips the wait). The child is left to be reaped by the caller."""
    for sig, grace in ((signal.SIGINT, INTERRUPT_GRACE_S), (signal.SIGTERM, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.perf_counter() + grace
        try:
            while time.perf_counter() < deadline:
                if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                    return
                time.sleep(0.2)
        except KeyboardInterrupt:
            break
        except ChildProcessError:
            return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def tail(log: Path, n: int = TAIL_LINES) -> list[str]:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    # progress bars redraw with carriage returns: keep only each line's last state
    lines = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return [line for line in lines if line.strip()][-n:]


def error_line(tail: list[str]) -> str:
    """The most telling line: peftgov's own one-line error first (``accelerate launch`` adds
    its CalledProcessError after it), else the last exception line."""
    for line in tail:
        if line.startswith(("peftgov: error:", "hf_trainer baseline: error:")):
            return line.strip()
    skip = ("subprocess.CalledProcessError", "Traceback")
    for line in reversed(tail):
        telling = "Error" in line or "Exception" in line or "error:" in line
        if telling and not line.startswith(skip):
            return line.strip()
    return tail[-1].strip() if tail else ""
