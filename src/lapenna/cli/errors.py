"""The two kinds of failure the command reports, and the exit codes they map to.

``lapenna`` exits with 0 when a command succeeds, 1 when it fails at run time (a missing or
unreadable file, a dataset whose files are absent, a model that does not fit the data) and
2 for a command line that cannot be carried out as written (unknown model or option
values, conflicting options), as argparse does for its own usage errors.
"""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A run-time failure: printed as one line on stderr, exit code 1."""

    exit_code = EXIT_FAILURE


class UsageError(CommandError):
    """A command line that cannot be carried out: printed as one line, exit code 2."""

    exit_code = EXIT_USAGE
