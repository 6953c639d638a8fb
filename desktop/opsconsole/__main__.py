"""``python -m opsconsole``: the same as the ``opsconsole`` command."""

from opsconsole.cli import main

raise SystemExit(main())
