"""Load test of ``peftgov serve``: one server holding K adapters on one backbone, against K
servers of one adapter each (each with its own backbone copy).

    python -m benchmarks.serve_load /tmp/serve_runs/s1 /tmp/serve_runs/s2 /tmp/serve_runs/s3 \\
        --clients 8 --requests 240 --texts 4 --out benchmarks/results/serve/hotline-en-lora-x3

N client threads (stdlib urllib) send a fixed number of ``POST /v1/predict`` requests, request
``i`` to adapter ``i % K`` with ``--texts`` texts of the data file (the same requests in both
set-ups). Reported per set-up: throughput (texts/s over the wall time of all requests), p50 /
p99 request latency, errors, and the servers' resident memory (VmRSS and its peak VmHWM, all
processes summed). Writes OUT.json (the figures) and OUT.md (generated from it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict, timeout: float = 600) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with OPENER.open(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def start_server(
    runs: list[str], names: list[str], extra: list[str]
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [f"{n}={r}" for n, r in zip(names, runs)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "peftgov", "serve", *args, "--port", str(port), *extra],
        env={**os.environ, "HF_HUB_OFFLINE": "1"}, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve_load: the server exited: {proc.stderr.read().strip()}")
        try:
            with OPENER.open(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("serve_load: the server did not start within 900 s")


def memory(pids: list[int]) -> dict[str, int]:
    """VmRSS and VmHWM (peak) in bytes, summed over processes (Linux /proc)."""
    out = {"rss_bytes": 0, "peak_rss_bytes": 0}
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                name = "rss_bytes" if key == "VmRSS" else "peak_rss_bytes"
                out[name] += int(value.split()[0]) * 1024
    return out


def load(urls: list[str], names: list[str], texts: list[str], *, clients: int, requests: int,
         per_request: int) -> dict:
    """Send the requests from ``clients`` threads; request i goes to adapter i % K."""
    latencies: list[float] = []
    errors: list[int] = []
    counter = iter(range(requests))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            k = i % len(names)
            start = (i * per_request) % (len(texts) - per_request)
            body = {"adapter": names[k], "texts": texts[start : start + per_request]}
            t0 = time.perf_counter()
            status = post(f"{urls[k]}/v1/predict", body)
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors.append(status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {
        "requests": requests, "texts": requests * per_request, "wall_s": round(wall, 3),
        "texts_per_s": round(requests * per_request / wall, 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "errors": len(errors),
    }


def setup(label: str, groups: list[list[int]], runs: list[str], names: list[str],
          texts: list[str], args: argparse.Namespace) -> dict:
    """Start one server per group of adapter indices, warm up, load, measure, stop."""
    extra = ["--batch-wait-ms", str(args.batch_wait_ms)]
    servers = [start_server([runs[i] for i in g], [names[i] for i in g], extra) for g in groups]
    urls = [next(url for (_, url), g in zip(servers, groups) if k in g) for k in range(len(names))]
    try:
        for k, name in enumerate(names):  # first forwards are slow everywhere: not timed
            post(f"{urls[k]}/v1/predict", {"adapter": name, "texts": texts[: args.texts]})
        result = load(urls, names, texts, clients=args.clients, requests=args.requests,
                      per_request=args.texts)
        result.update(memory([proc.pid for proc, _ in servers]), processes=len(servers))
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=60)
    print(f"{label}: {json.dumps(result)}", file=sys.stderr)
    return result


def markdown(report: dict) -> str:
    c = report["config"]
    rows = [
        "| set-up | processes | texts/s | p50 ms | p99 ms | errors | resident memory (MiB) "
        "| peak (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, r in report["results"].items():
        rows.append(
            f"| {label} | {r['processes']} | {r['texts_per_s']} | {r['p50_ms']} | {r['p99_ms']} "
            f"| {r['errors']} | {r['rss_bytes'] / 2**20:.0f} | {r['peak_rss_bytes'] / 2**20:.0f} |"
        )
    m = report["machine"]
    return "\n".join([
        f"# peftgov serve load test: {len(c['runs'])} adapters",
        "",
        f"Generated by `{c['command']}`.",
        "",
        f"{c['clients']} client threads, {c['requests']} requests of {c['texts']} texts from "
        f"`{c['data']}`, request i to adapter i % {len(c['runs'])}; batch window "
        f"{c['batch_wait_ms']} ms. Runs: {', '.join(c['runs'])}.",
        "",
        *rows,
        "",
        f"Machine: {m['cpus']} CPUs, load average {m['load_before']} before and "
        f"{m['load_after']} after (other jobs were running); {m['platform']}.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.serve_load",
                                description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="finished run directories of one backbone")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=240)
    p.add_argument("--texts", type=int, default=4, help="texts per request")
    p.add_argument("--data", default="bundled:hotline/en/test.jsonl", help="texts to send")
    p.add_argument("--batch-wait-ms", type=float, default=5.0)
    p.add_argument("--out", required=True, help="output path without suffix (.json, .md)")
    args = p.parse_args(argv)
    from peftgov.artifacts import versions
    from peftgov.data import read_rows

    texts = [r.values["text"] for r in read_rows(args.data)]
    names = [f"a{i}" for i in range(len(args.runs))]
    load_before = os.getloadavg()
    results = {
        "one server, all adapters": setup("shared", [list(range(len(names)))], args.runs, names,
                                          texts, args),
        "one server per adapter": setup("separate", [[i] for i in range(len(names))], args.runs,
                                        names, texts, args),
    }
    report = {
        "config": {**{k: v for k, v in vars(args).items() if k != "out"},
                   "command": "python -m benchmarks.serve_load " + " ".join(argv or sys.argv[1:])},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_before": [round(x, 1) for x in load_before],
                    "load_after": [round(x, 1) for x in os.getloadavg()]},
        "versions": versions(),
        "results": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    print(f"written: {out.with_suffix('.json')}, {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
