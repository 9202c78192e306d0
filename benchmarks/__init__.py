"""peftgov's benchmark data: suites (``suites/``), result files and reports (``results/``), the
plain-Trainer baseline script (``baselines/``). The code that runs and reports them is the
installed :mod:`peftgov.bench`; ``python -m benchmarks`` runs its command line. See
``benchmarks/README.md``."""
