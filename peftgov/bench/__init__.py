"""Benchmark suites: recipes x methods x seeds, one subprocess per run, reported (tables,
statistics, plots) from the result JSON files alone. ``python -m benchmarks`` and
``peftgov bench`` run :mod:`peftgov.bench.cli`.

Modules, one job each: :mod:`.suite` (the suite file schema and loader), :mod:`.plan` (the
runs of a suite), :mod:`.fewshot` (examples-per-class samples), :mod:`.runner` (running a suite:
skip finished runs, ``failed/``, interrupts) with :mod:`.process` (one run's subprocess,
timeouts) and :mod:`.provenance` (hashes, git, records), :mod:`.results` (reading result
files), :mod:`.stats`, :mod:`.tables`, :mod:`.targets`, :mod:`.plots` and :mod:`.report` (the
report), :mod:`.scaling` (step time vs sequence length and batch size), :mod:`.cli`.

The data lives in the project's ``benchmarks/`` folder (suites, results, the baseline
scripts), found next to this package (peftgov installed editable from its checkout, ``pip
install -e .``); paths inside suites are relative to the working directory, the project root.
See ``benchmarks/README.md``.
"""
