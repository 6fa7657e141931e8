"""greentui's command line: the TUI by default, and headless commands for scripts and CI.

Start-up must stay fast: this package imports only the standard library and argparse at the top; every command
imports what it needs when it runs (``greentui --help`` never loads torch, transformers or textual).
Errors a user can cause end in one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

from greentui.cli.entry import SESSION_COMMANDS, dispatch, main
from greentui.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError
from greentui.cli.parser import build_parser

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "SESSION_COMMANDS",
    "CliError",
    "build_parser",
    "dispatch",
    "main",
]
