"""The ``lapenna`` command line: train, evaluate, predict, summary, export, datasets, bench.

Run ``lapenna --help`` (or ``python -m lapenna --help``) for the subcommands, and
``lapenna COMMAND --help`` for each one's options.
"""

from lapenna.cli.main import build_parser, main

__all__ = ["main", "build_parser"]
