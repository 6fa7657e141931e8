"""``greentui``'s entry point: parse, dispatch to a command, and turn every error into one line and an exit code."""

from __future__ import annotations

import argparse
import os
import sys

from greentui.cli.commands import (
    cmd_delete,
    cmd_doctor,
    cmd_export,
    cmd_models,
    cmd_recover,
    cmd_sessions,
    cmd_show,
    cmd_tasks,
    db_path,
    open_store,
)
from greentui.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, CliError
from greentui.cli.parser import build_parser
from greentui.cli.running import (
    announce_demo,
    cmd_resume,
    cmd_run,
    cmd_tui,
    config_from_args,
    demo_config_from_args,
    prewarm,
)


def dispatch(args: argparse.Namespace) -> int:
    command = args.command
    # The store opens (and takes a write) before any worker imports torch: a database that cannot be written is
    # refused before anything loads.
    if command is None:
        store = open_store(args)
        prewarm(["setup-a", "setup-b"])  # the setup screen: the models are not chosen yet, the libraries are known
        return cmd_tui(args, store=store)
    if command in ("run", "demo"):
        config = config_from_args(args) if command == "run" else demo_config_from_args(args)
        store = open_store(args)
        # before the workers start importing torch on every core: the demo's estimate times a CPU probe now
        notice = announce_demo(args, config) if command == "demo" else None
        prewarm([config.model_a, config.model_b])
        if args.headless:
            if notice:
                print(notice, flush=True)
            return cmd_run(args, config, store=store)
        return cmd_tui(args, start="live", config=config, store=store, notice=notice)
    if command == "history":
        return cmd_tui(args, start="history")
    if command in ("sweep", "sweeps"):
        from greentui.sweeps.commands import CommandError, run_command

        try:
            return run_command(args, db_path=db_path(args), open_store=lambda ro: open_store(args, readonly=ro))
        except CommandError as exc:
            raise CliError(str(exc), exc.code) from None
    handlers = {
        "resume": cmd_resume,
        "recover": cmd_recover,
        "sessions": cmd_sessions,
        "show": cmd_show,
        "export": cmd_export,
        "delete": cmd_delete,
        "doctor": cmd_doctor,
        "tasks": cmd_tasks,
        "models": cmd_models,
    }
    return handlers[command](args)


SESSION_COMMANDS = (None, "run", "demo", "resume", "history", "sweep")  # SIGTERM / SIGHUP stop their sessions


def main(argv: list[str] | None = None) -> int:
    import contextlib

    from greentui import signals

    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        with signals.handled() if args.command in SESSION_COMMANDS else contextlib.nullcontext():
            code = dispatch(args)
    except CliError as exc:
        print(f"greentui: {exc}", file=sys.stderr)
        code = exc.code
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM / SIGHUP before a session started (greentui.signals)
        from greentui import signals

        print(f"greentui: {exc or 'interrupted'}", file=sys.stderr)
        code = signals.exit_code(EXIT_INTERRUPTED)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        from greentui.errors import debugging, one_line

        if debugging():
            raise
        print(f"greentui: {one_line(exc)}", file=sys.stderr)
        code = EXIT_FAILED
    return code
