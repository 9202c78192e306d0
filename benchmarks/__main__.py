"""``python -m benchmarks run|report|peak|scaling ...``: the code is :mod:`peftgov.bench`."""

from peftgov.bench import main

raise SystemExit(main())
