"""``python -m pbitkit`` is the same as the ``pbitkit`` command."""

from pbitkit.cli import main

raise SystemExit(main())
