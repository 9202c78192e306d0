"""``python -m benchmarks run|report SUITE.yaml``"""

from .harness import main

raise SystemExit(main())
