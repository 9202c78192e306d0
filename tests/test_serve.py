"""``peftgov serve``: three tiny runs of one backbone (two LoRA runs with different labels,
one BitFit run) behind a real uvicorn socket; what it serves equals ``peftgov predict``; two
LoRA adapters' requests run in one forward; bad requests get clear JSON errors; a run of
another backbone is refused at start."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

import peftgov
from peftgov.cli import main
from peftgov.errors import PeftgovError
from peftgov.runs import load_run, predict_run
from peftgov.serve import Batcher, Refused, ServeOptions, create_app
from peftgov.serving import Pool, fingerprint, parameter_bytes

from conftest import TINY_BERT, toy_rows, write_jsonl
from test_dialogue import dialogue_data, tiny_llama_dir  # noqa: F401 (fixtures)
from test_dialogue import make_recipe as dialogue_recipe

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

TEXTS = ["pipe leak my flood", "tax refund income", "pothole on the street road", "urgent"]
RENAMED = {"water": "shui", "tax": "shui-wu", "road": "lu"}


@pytest.fixture(scope="module")
def runs(make_recipe, tmp_path_factory) -> dict[str, Path]:
    """``a``: LoRA on the toy intents; ``b``: LoRA on the same texts, labels renamed (another
    seed and rank); ``c``: BitFit. All on the session's tiny BERT."""
    root = tmp_path_factory.mktemp("serve")
    renamed = {
        split: str(write_jsonl(root / "renamed" / f"{split}.jsonl",
                           [{**r, "label": RENAMED[r["label"]]} for r in toy_rows(n, seed)]))
        for split, n, seed in (("train", 60, 1), ("validation", 15, 2), ("test", 15, 3))
    }
    recipes = {
        "a": make_recipe(root / "a", method={"name": "lora", "r": 4}, train={"epochs": 2}),
        "b": make_recipe(root / "b", method={"name": "lora", "r": 2}, data=renamed,
                         train={"epochs": 2, "seed": 1}),
        "c": make_recipe(root / "c", method={"name": "bitfit"}, train={"epochs": 2}),
    }
    return {name: peftgov.train(peftgov.load_recipe(r), progress=False).run_dir
            for name, r in recipes.items()}


@pytest.fixture(scope="module")
def pool(runs) -> Pool:
    return Pool(runs)


@contextmanager
def serving(app):
    """``app`` on a free loopback port, uvicorn in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy


def call(url: str, body: bytes | dict | None = None) -> tuple[int, dict]:
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with OPENER.open(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def server(pool):
    options = ServeOptions(max_texts=8, max_chars=200, max_body_bytes=1000, batch_wait_ms=300)
    app = create_app(pool, options)
    with serving(app) as url:
        yield url, app.state.batcher


def assert_same_records(got: list[dict], want: list[dict]) -> None:
    assert [{k: v for k, v in r.items() if k != "score"} for r in got] == [
        {k: v for k, v in r.items() if k != "score"} for r in want
    ]
    assert [r["score"] for r in got] == pytest.approx([r["score"] for r in want], abs=1e-5)


def test_served_predictions_equal_peftgov_predict(server, runs):
    url, _ = server
    for name, run_dir in runs.items():
        status, body = call(f"{url}/v1/predict", {"adapter": name, "texts": TEXTS})
        assert status == 200 and body["adapter"] == name, body
        assert_same_records(body["predictions"], predict_run(run_dir, TEXTS))
    # the toy task is learnt, and b answers in its own label names
    status, body = call(f"{url}/v1/predict", {"adapter": "b", "texts": TEXTS[:3]})
    assert [r["label"] for r in body["predictions"]] == ["shui", "shui-wu", "lu"]


def test_lora_runs_share_one_model_and_the_backbone_is_held_once(pool, runs):
    a, b, c = (pool.served[n] for n in "abc")
    assert a.run.model is b.run.model and a.adapter != b.adapter
    assert c.run.model is not a.run.model and c.adapter is None
    one = parameter_bytes([load_run(runs["c"]).model])  # a whole backbone + head
    assert parameter_bytes(pool.models) < 1.2 * one  # not 2x: bitfit's weights are the host's
    host_query = a.run.model.base_model.model.bert.encoder.layer[0].attention.self.query
    bitfit_query = c.run.model.bert.encoder.layer[0].attention.self.query
    assert bitfit_query.weight is host_query.base_layer.weight  # same bytes -> same tensor
    assert bitfit_query.bias is not host_query.base_layer.bias  # BitFit trained it


def test_mixed_requests_for_two_lora_adapters_run_in_one_forward(pool):
    alone = {name: pool.predict([(name, TEXTS)])[0] for name in "ab"}
    before = pool.forwards
    mixed = pool.predict([("a", TEXTS[:2]), ("b", TEXTS), ("a", TEXTS[2:]), ("c", TEXTS)])
    assert pool.forwards == before + 1  # a and b together; c (BitFit) on its own model
    assert_same_records(mixed[0] + mixed[2], alone["a"])
    assert_same_records(mixed[1], alone["b"])
    assert {r["label"] for r in mixed[0] + mixed[2]} <= set(RENAMED)  # each row its own adapter
    assert {r["label"] for r in mixed[1]} <= set(RENAMED.values())


def test_concurrent_http_requests_are_batched_together(server, runs):
    url, batcher = server
    bodies = [{"adapter": "a", "texts": TEXTS}, {"adapter": "b", "texts": TEXTS[::-1]}]
    results: list = [None, None]
    before = batcher.batches

    def post(i: int) -> None:
        results[i] = call(f"{url}/v1/predict", bodies[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert batcher.batches == before + 1  # both within the 300 ms batch window
    for (status, body), sent in zip(results, bodies):
        assert status == 200
        assert_same_records(body["predictions"], predict_run(runs[sent["adapter"]], sent["texts"]))
    _, health = call(f"{url}/healthz")
    assert health["status"] == "ok" and health["adapters"] == 3


def test_adapters_lists_fingerprints_labels_and_metrics(server, runs):
    url, _ = server
    status, body = call(f"{url}/v1/adapters")
    listed = {a["name"]: a for a in body["adapters"]}
    assert status == 200 and list(listed) == ["a", "b", "c"]
    assert listed["a"]["labels"] == ["road", "tax", "water"]
    assert listed["b"]["labels"] == ["lu", "shui", "shui-wu"]
    assert [listed[n]["method"] for n in "abc"] == ["lora", "lora", "bitfit"]
    prints = [listed[n]["fingerprint"] for n in "abc"]
    assert prints == [fingerprint(runs[n]) for n in "abc"] and len(set(prints)) == 3
    assert all(len(p) == 64 for p in prints)
    metrics = json.loads((runs["a"] / "metrics.json").read_text())["test"]
    assert listed["a"]["metrics"]["accuracy"] == metrics["accuracy"]


@pytest.mark.parametrize("body, status, words", [
    ({"adapter": "zz", "texts": ["x"]}, 404, ["'zz'", "a, b, c"]),
    (b"{not json", 400, ["not JSON"]),
    ({"adapter": "a", "texts": "pipe leak"}, 422, ["texts", "list of strings"]),
    ({"adapter": "a", "texts": [1, 2]}, 422, ["texts"]),
    ({"adapter": 3, "texts": ["x"]}, 422, ["adapter"]),
    ({"adapter": "a", "texts": ["x"], "top_k": 2}, 422, ["'top_k'"]),
    ({"adapter": "a", "texts": ["x"] * 9}, 413, ["9 texts", "at most 8"]),
    ({"adapter": "a", "texts": ["x", "y" * 201]}, 413, ["texts[1]", "201 characters"]),
    ({"adapter": "a", "texts": ["leak " * 39] * 8}, 413, ["body has 1619 bytes", "at most 1000"]),
], ids=["unknown-adapter", "bad-json", "texts-not-list", "texts-not-strings", "adapter-not-str",
        "unknown-field", "too-many-texts", "text-too-long", "body-too-big"])
def test_bad_requests_get_clear_json_errors(server, body, status, words):
    url, _ = server
    got, answer = call(f"{url}/v1/predict", body)
    assert got == status and all(w in answer["error"] for w in words), answer


@pytest.fixture(scope="module")
def dialogue_runs(tmp_path_factory, tiny_llama_dir, dialogue_data) -> dict[str, Path]:
    """Two LoRA dialogue runs: ``d0`` trained, ``d1`` one step (so their replies differ)."""
    root = tmp_path_factory.mktemp("serve-dialogue")
    trains = {"d0": {"epochs": 4}, "d1": {"max_steps": 1}}
    return {
        name: peftgov.train(peftgov.load_recipe(dialogue_recipe(
            tiny_llama_dir, dialogue_data, root / name, train=train,
            task={"generation_samples": 0})), progress=False).run_dir
        for name, train in trains.items()
    }


def test_two_lora_dialogue_runs_share_a_model_and_each_replies_as_alone(dialogue_runs):
    """Generation goes through the shared model too, each adapter's name on its rows."""
    pool = Pool(dialogue_runs)
    assert pool.served["d0"].run.model is pool.served["d1"].run.model
    texts = ["where do i pay tax ?", "my pipe is leaking"]
    got = pool.predict([("d0", texts), ("d1", texts)])
    assert got == [predict_run(dialogue_runs[name], texts) for name in ("d0", "d1")]
    assert got[0] != got[1]


def test_a_full_queue_is_refused_with_503():
    release, started = threading.Event(), threading.Event()

    class Slow:
        def predict(self, jobs):
            started.set()
            release.wait(10)
            return [[{"text": t} for t in texts] for _, texts in jobs]

    batcher = Batcher(Slow(), ServeOptions(max_queue=1, batch_wait_ms=0))
    first = batcher.submit("a", ["one"])
    assert started.wait(10)  # the worker holds the first request
    second = batcher.submit("a", ["two"])  # waits in the queue (1 place)
    with pytest.raises(Refused) as refused:
        batcher.submit("a", ["three"])
    assert refused.value.status == 503 and "busy" in str(refused.value)
    release.set()
    assert first.result(10) == [{"text": "one"}] and second.result(10) == [{"text": "two"}]
    batcher.close()


def test_a_run_on_another_backbone_is_refused_at_start(runs, make_recipe, tmp_path, capsys):
    from transformers import BertConfig, BertModel

    other = tmp_path / "other-bert"
    BertModel(BertConfig(**{**TINY_BERT, "hidden_size": 16})).save_pretrained(other)
    for name in ("vocab.txt", "tokenizer_config.json", "tokenizer.json"):
        src = Path(make_recipe(tmp_path)["model"]["name"]) / name
        if src.is_file():
            (other / name).write_bytes(src.read_bytes())
    recipe = make_recipe(tmp_path, model={"name": str(other)}, train={"max_steps": 2})
    stranger = peftgov.train(peftgov.load_recipe(recipe), progress=False).run_dir
    capsys.readouterr()
    assert main(["serve", str(runs["a"]), f"x={stranger}", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(stranger) in err[0] and str(runs["a"]) in err[0], err
    assert "different backbones" in err[0]


def test_duplicate_names_and_a_missing_server_stack_are_one_line_errors(runs, monkeypatch, capsys):
    assert runs["a"].name == runs["b"].name  # both folders are called "run"
    assert main(["serve", str(runs["a"]), str(runs["b"]), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'run'" in err[0] and "NAME=RUN_DIR" in err[0], err
    monkeypatch.setitem(__import__("sys").modules, "fastapi", None)  # import fastapi fails
    assert main(["serve", str(runs["a"]), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'peftgov[serve]'" in err[0]
    with pytest.raises(PeftgovError, match="--max-texts must be positive"):
        ServeOptions(max_texts=0)
