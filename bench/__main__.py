"""``python -m bench [names...]``: run the named benchmarks (all of them without names)."""

from bench.run import main

raise SystemExit(main())
