"""``python -m peftgov.bench run|report|peak|scaling ...`` (also ``python -m benchmarks``,
``peftgov bench``)."""

from .runner import main

raise SystemExit(main())
