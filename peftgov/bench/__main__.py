"""``python -m peftgov.bench run|report|peak|scaling ...`` (also ``python -m benchmarks``,
``peftgov bench``)."""

from . import main

raise SystemExit(main())
