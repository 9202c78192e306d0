"""``peftgov train | eval | predict | chat | serve | bench`` (also ``python -m peftgov`` and
``accelerate launch -m peftgov train ...``).

User mistakes print one line (``peftgov: error: ...``) and exit 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


DESCRIPTION = """\
Parameter-efficient fine-tuning on frozen backbones (LoRA, QLoRA, DoRA, bottleneck adapters,
BitFit, prompt tuning; full fine-tuning as the baseline), one YAML recipe per experiment."""
EXAMPLES = """examples:
  peftgov train recipes/banking77/lora.yaml
  peftgov train recipes/banking77/lora.yaml train.lr=1e-3 output.dir=runs/lr1e-3
  accelerate launch --config_file recipes/accelerate/cpu.yaml -m peftgov train RECIPE
  peftgov predict RUN_DIR --text "I lost my card"
  peftgov verify RUN_DIR
  peftgov COMMAND --help    (the options of one command)
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="peftgov", description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a recipe")
    t.add_argument("recipe", help="recipe YAML file")
    t.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.lr=1e-4")
    t.add_argument(
        "--mixed-precision",
        choices=["no", "bf16", "fp16"],
        help="shortcut for Accelerate's mixed precision when not using accelerate launch",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument(
        "--check",
        action="store_true",
        help="build the backbone, data and method, say what would train, and stop: nothing "
        "trains and nothing is written (bad rows, unreadable files, sequence limits and a "
        "finished run in output.dir fail as training would)",
    )

    e = sub.add_parser("eval", help="evaluate a finished run")
    e.add_argument("run_dir", help="a finished run's directory (its output.dir)")
    e.add_argument("--split", default="test", choices=["train", "validation", "test"])
    e.add_argument("--data", help="evaluate on this file instead of the recipe's split")
    e.add_argument("--quiet", action="store_true", help="no progress bar")

    r = sub.add_parser("predict", help="predict with a finished run (one JSON line per input)")
    r.add_argument("run_dir", help="a finished run's directory (its output.dir)")
    g = r.add_mutually_exclusive_group(required=True)
    g.add_argument("--text", action="append", help="input text (repeatable)")
    g.add_argument("--input", help="jsonl file with a 'text' field per line, or plain text lines")

    x = sub.add_parser(
        "export",
        help="write a plain transformers model folder with the run's method merged in",
    )
    x.add_argument("run_dir", help="a finished run's directory (its output.dir)")
    x.add_argument("--merged", required=True, metavar="OUT", help="output folder")
    x.add_argument("--force", action="store_true", help="replace OUT if it is not empty")
    x.add_argument("--gguf", nargs="?", const="f16", choices=["f16", "f32"],
                   help="a causal LM also as OUT/model.gguf (llama.cpp), f16 (default) or f32")

    v = sub.add_parser(
        "verify",
        help="recompute a run's SHA-256 / SM3 manifest (artifact, backbone, data, code, lock); "
        "exit 1 naming each mismatch",
    )
    v.add_argument("run_dir", help="a run's directory (its output.dir)")
    v.add_argument("--backbone", help="the backbone folder to check, if it moved since training")

    d = sub.add_parser(
        "redact",
        help="copy a data file (csv / tsv / jsonl / conll) with personal information replaced "
        "by typed placeholders; prints the counts per type (never the values)",
    )
    d.add_argument("input")
    d.add_argument("output")
    d.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    d.add_argument("--ner", metavar="RUN_DIR",
                   help="also replace person names / addresses found by this finished NER run")
    d.add_argument("--ner-types", metavar="TYPE", nargs="+",
                   help="the NER run's entity types to replace (default: person and address)")
    d.add_argument("--ner-keys", metavar="KEY", nargs="+", default=["text", "content"],
                   help="the columns / JSON keys holding prose, the only ones the NER run reads "
                   "(default: text content; labels and roles are left alone)")

    c = sub.add_parser(
        "chat",
        help="chat with a finished dialogue run: one message per stdin line, each reply "
        "printed to stdout; /reset forgets the conversation, /exit or end of input stops",
    )
    c.add_argument("run_dir", help="a finished dialogue run's directory (its output.dir)")
    _serve_parser(sub)
    b = sub.add_parser(
        "bench",
        help="benchmark suites: run / report / peak / scaling (paths relative to the project "
        "root; see benchmarks/README.md)",
        add_help=False,
    )
    b.add_argument("bench_args", nargs=argparse.REMAINDER)
    return p


def _serve_parser(sub: Any) -> None:
    from dataclasses import fields

    from .serve import ServeOptions

    s = sub.add_parser(
        "serve",
        help="serve finished runs of one backbone over HTTP (POST /v1/predict, GET /v1/adapters, "
        "GET /healthz); needs pip install 'peftgov[serve]'",
    )
    s.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directory, or NAME=RUN_DIR")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s)")
    for f in fields(ServeOptions):
        s.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                       help=f"{f.metadata['help']} (default: {f.default})")


def _serve(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from .serve import ServeOptions, serve

    options = ServeOptions(**{f.name: getattr(args, f.name) for f in fields(ServeOptions)})
    serve(args.runs, host=args.host, port=args.port, options=options)
    return 0


def _bench(argv: list[str]) -> int:
    """``peftgov bench ...`` is ``python -m benchmarks ...`` (:mod:`peftgov.bench`)."""
    from .bench.runner import main as bench_main

    return bench_main(argv)


def _chat(run_dir: str) -> int:
    from .errors import PeftgovError
    from .runs import load_run

    run = load_run(run_dir)
    if not run.task.can_chat:
        raise PeftgovError(f"{run_dir}: a {run.task.name} run cannot chat (train a dialogue task)")
    interactive = sys.stdin.isatty()
    history: list[dict[str, str]] = []
    while True:
        if interactive:
            print("you> ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line or line.strip() == "/exit":
            return 0
        text = line.strip()
        if text == "/reset":
            history = []
        elif text:
            history.append({"role": "user", "content": text})
            reply = run.task.reply(run.model, run.tokenizer, history, run.recipe, run.state)
            history.append({"role": "assistant", "content": reply})
            print(reply, flush=True)


def _read_inputs(path: str) -> list[str]:
    from .data import read_text
    from .errors import DataError

    texts = []
    for i, line in enumerate(read_text(Path(path)).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(path, f"invalid JSON ({exc.msg})", line=i) from None
            if not isinstance(value.get("text"), str):
                raise DataError(path, "each JSON line needs a string field 'text'", line=i)
            texts.append(value["text"])
        else:
            texts.append(line)
    return texts


def _check(recipe: Any) -> int:
    """``peftgov train RECIPE --check``: what would train, nothing trained or written."""
    if recipe.continual is not None:
        from .continual import check
    else:
        from .loop import check
    lines = check(recipe)
    if lines is None:  # another process of a multi-process launch: the main one says it
        return 0
    for line in lines:
        print(line)
    print(f"peftgov: check passed: nothing trained, nothing written to {recipe.run_dir()}")
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "bench":
        return _bench(args.bench_args)
    if args.command == "train":
        if args.mixed_precision:
            os.environ["ACCELERATE_MIXED_PRECISION"] = args.mixed_precision
        from . import load_recipe, train

        recipe = load_recipe(args.recipe, overrides=args.overrides)
        if args.check:
            return _check(recipe)
        result = train(recipe, progress=not args.quiet)
        if result.metrics is not None and not args.quiet:
            print(f"peftgov: run directory {result.run_dir}", file=sys.stderr)
        return 0
    if args.command == "eval":
        from . import evaluate

        metrics = evaluate(args.run_dir, split=args.split, data=args.data, progress=not args.quiet)
        print(json.dumps(metrics, indent=2, ensure_ascii=False))
        return 0
    if args.command == "predict":
        from . import predict

        texts = args.text or _read_inputs(args.input)
        for row in predict(args.run_dir, texts):
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if args.command == "chat":
        return _chat(args.run_dir)
    if args.command == "serve":
        return _serve(args)
    if args.command == "export":
        from .runs import export_run

        print(json.dumps(export_run(args.run_dir, args.merged, force=args.force,
                                    gguf=args.gguf), indent=2))
        return 0
    if args.command == "verify":
        from .provenance import summary, verify

        problems = verify(Path(args.run_dir), backbone_path=args.backbone)
        for problem in problems:
            print(f"peftgov: verify: {problem}", file=sys.stderr)
        print(json.dumps({"run_dir": args.run_dir, "verified": not problems,
                          "mismatches": len(problems), **summary(Path(args.run_dir))}, indent=2))
        return 1 if problems else 0
    if args.command == "redact":
        return _redact(args.input, args.output, force=args.force, ner=args.ner,
                       ner_types=args.ner_types, ner_keys=args.ner_keys)
    raise AssertionError(args.command)


def _redact(src: str, dst: str, *, force: bool, ner: str | None = None,
            ner_types: list[str] | None = None, ner_keys: list[str] | None = None) -> int:
    from collections import Counter

    from .data import redacted_copy
    from .errors import DataError
    from .redact import active
    from .redact_ner import NerRedactor
    from .runs import load_run

    out = Path(dst)
    if out.exists() and not force:
        raise DataError(dst, "exists; choose another output or pass --force")
    if Path(src).resolve() == out.resolve():
        raise DataError(dst, "is the input file; write the redacted copy elsewhere")
    counts: Counter = Counter()
    names = NerRedactor(load_run(ner), ner_types) if ner else None
    with active(counts, names):
        text = redacted_copy(Path(src), ner_keys, names=names is not None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(json.dumps({"input": src, "output": dst, "redacted": dict(sorted(counts.items()))},
                     ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    # Overrides may come before or after options: collect leftover key=value words.
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":  # everything after "bench" belongs to the harness
        args.bench_args, extra = list(args.bench_args) + extra, []
    if extra:
        if args.command != "train" or any("=" not in e or e.startswith("-") for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = list(args.overrides) + extra
    from .errors import PeftgovError

    try:
        return _dispatch(args)
    except PeftgovError as exc:
        if args.debug:
            raise
        print(f"peftgov: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("peftgov: interrupted", file=sys.stderr)
        return 130
