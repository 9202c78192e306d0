"""peftgov's benchmarks: suites of recipes x methods x seeds, run one subprocess per run by
:mod:`benchmarks.harness`, reported (tables, statistics, plots) by :mod:`benchmarks.report`
from the result JSON files alone. See ``benchmarks/README.md``."""
