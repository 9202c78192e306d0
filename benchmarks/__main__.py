"""``python -m benchmarks run|report|peak|scaling ...``: the code is :mod:`peftgov.bench`."""

from peftgov.bench.runner import main

raise SystemExit(main())
