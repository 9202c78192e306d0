"""``peftgov serve RUN_DIR [NAME=RUN_DIR ...] --port P``: finished runs behind an HTTP JSON API.

    POST /v1/predict   {"adapter": NAME, "texts": [...]} -> {"adapter", "predictions"}: the
                       records ``peftgov predict`` prints for that run
    GET  /v1/adapters  each adapter's name, fingerprint, backbone, task, method, labels, metrics
    GET  /healthz      {"status": "ok", ...counters}

One backbone in memory, every run's adapter by name (:mod:`peftgov.serving`). A micro-batcher
(:class:`Batcher`) collects requests for ``batch_wait_ms`` after the first, then predicts them
together: one forward for the adapters sharing a model (LoRA), one ``predict`` per other run.

Limits (:class:`ServeOptions`): texts per request and characters per text (413), body bytes
(413), requests waiting (503). Errors are JSON ``{"error": "..."}``: 400 body not JSON, 404
unknown adapter, 422 wrong fields. FastAPI and uvicorn come with ``pip install 'peftgov[serve]'``
and are imported here only.
"""

# No ``from __future__ import annotations``: FastAPI reads the handlers' annotations at runtime,
# and ``Request`` is imported inside create_app (peftgov imports without FastAPI).
import asyncio
import json
import queue
import threading
import time
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .errors import PeftgovError

if TYPE_CHECKING:
    from .serving import Pool


def _option(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ServeOptions:
    """Bounds of the server, each a ``peftgov serve --option`` (dashes for underscores)."""

    max_texts: int = _option(64, "texts per request; more is refused with 413")
    max_chars: int = _option(
        2000, "characters per text; a longer text is refused with 413 (the task would cut it to "
        "its max_length tokens anyway)"
    )
    max_body_bytes: int = _option(
        1_000_000, "bytes of a request body; a larger body is refused with 413 before it is read"
    )
    max_queue: int = _option(64, "requests waiting for the model; when full, 503")
    batch_wait_ms: float = _option(
        5.0, "how long the batcher waits for more requests after the first of a batch"
    )
    max_batch_texts: int = _option(256, "texts per batch: the batcher stops collecting beyond")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value < 0 or (value == 0 and f.name != "batch_wait_ms"):
                raise PeftgovError(f"serve: --{f.name.replace('_', '-')} must be positive")


class Refused(Exception):
    """A request the server answers with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Job:
    adapter: str
    texts: list[str]
    future: Future


class Batcher:
    """One thread runs the pool; requests wait in a bounded queue and are predicted in batches."""

    def __init__(self, pool: "Pool", options: ServeOptions) -> None:
        self.pool, self.options = pool, options
        self.batches = 0
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=options.max_queue)
        self._thread = threading.Thread(target=self._work, name="peftgov-batcher", daemon=True)
        self._thread.start()

    def submit(self, adapter: str, texts: list[str]) -> Future:
        job = _Job(adapter, texts, Future())
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise Refused(503, f"busy: {self.options.max_queue} requests are waiting; "
                          "retry later") from None
        return job.future

    def queued(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _work(self) -> None:
        while (first := self._queue.get()) is not None:
            jobs, texts, stop = [first], len(first.texts), False
            deadline = time.monotonic() + self.options.batch_wait_ms / 1000
            while texts < self.options.max_batch_texts:
                if (wait := deadline - time.monotonic()) <= 0:
                    break
                try:
                    job = self._queue.get(timeout=wait)
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
                texts += len(job.texts)
            self._run(jobs)
            if stop:
                return

    def _run(self, jobs: list[_Job]) -> None:
        self.batches += 1
        try:
            results = self.pool.predict([(j.adapter, j.texts) for j in jobs])
        except Exception as exc:  # a bug: every request of the batch hears of it
            results = [exc] * len(jobs)
        for job, result in zip(jobs, results):
            if isinstance(result, Exception):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)


def parse_request(body: bytes, pool: "Pool", options: ServeOptions) -> tuple[str, list[str]]:
    """``(adapter, texts)`` of a ``/v1/predict`` body, or :class:`Refused` saying what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, f"the body is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Refused(422, 'the body must be a JSON object {"adapter": ..., "texts": [...]}')
    unknown = sorted(set(data) - {"adapter", "texts"})
    if unknown:
        raise Refused(422, f"unknown field {unknown[0]!r} (fields: adapter, texts)")
    adapter, texts = data.get("adapter"), data.get("texts")
    if not isinstance(adapter, str):
        raise Refused(422, "adapter: must be a string naming a served adapter")
    if adapter not in pool.served:
        raise Refused(404, f"unknown adapter {adapter!r} (serving: {', '.join(pool.served)})")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise Refused(422, "texts: must be a non-empty list of strings")
    if len(texts) > options.max_texts:
        raise Refused(413, f"texts: {len(texts)} texts, at most {options.max_texts} per request")
    longest = max(range(len(texts)), key=lambda i: len(texts[i]))
    if len(texts[longest]) > options.max_chars:
        raise Refused(413, f"texts[{longest}]: {len(texts[longest])} characters, at most "
                      f"{options.max_chars}")
    return adapter, texts


def _require_server_stack() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise PeftgovError(
            f"peftgov serve needs FastAPI and uvicorn ({exc.name} is not installed): "
            "pip install 'peftgov[serve]'"
        ) from None


def create_app(pool: "Pool", options: ServeOptions) -> Any:
    """The FastAPI application; its batcher starts now and stops when the app shuts down."""
    _require_server_stack()
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from .serving import parameter_bytes

    batcher = Batcher(pool, options)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        batcher.close()

    # No /docs: its pages load scripts from a CDN, which an air-gapped browser cannot reach.
    app = FastAPI(title="peftgov serve", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.batcher = batcher

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(PeftgovError)
    async def unusable(request: Request, exc: PeftgovError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:  # logged by uvicorn too
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "adapters": len(pool.served),
            "queued": batcher.queued(),
            "batches": batcher.batches,
            "shared_forwards": pool.forwards,
            "parameter_bytes": parameter_bytes(pool.models),
        }

    @app.get("/v1/adapters")
    def adapters() -> dict[str, Any]:
        return {"adapters": [s.info for s in pool.served.values()]}

    @app.post("/v1/predict")
    async def predict(request: Request) -> dict[str, Any]:
        adapter, texts = parse_request(await _body(request, options.max_body_bytes), pool, options)
        records = await asyncio.wrap_future(batcher.submit(adapter, texts))
        return {"adapter": adapter, "predictions": records}

    return app


async def _body(request: Any, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"the body has {declared} bytes, at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"the body has more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def serve(run_args: list[str], *, host: str, port: int, options: ServeOptions) -> None:
    """Load the runs and serve them until interrupted."""
    _require_server_stack()
    import sys

    import uvicorn

    from .serving import Pool, parse_run_args

    pool = Pool(parse_run_args(run_args))
    app = create_app(pool, options)
    print(f"peftgov: serving {', '.join(pool.served)} on http://{host}:{port}", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning")
