"""``python -m cairn``: the same as the ``cairn`` command."""

from cairn.cli.main import main

raise SystemExit(main())
