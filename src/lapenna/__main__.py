"""``python -m lapenna``: the same as the ``lapenna`` command."""

from lapenna.cli import main

raise SystemExit(main())
