"""The command line's exit codes and its one-line error (see ``EXIT_STATUS_HELP`` in cli/parser.py)."""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """A problem to report in one line (exit code 2 unless stated)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code
