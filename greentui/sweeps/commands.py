"""``greentui sweep FILE [--plan] [--cluster ...]``, ``greentui sweep show NAME`` and ``greentui sweeps``.

The parser lives beside the commands (``greentui.cli`` only hands over), and every error a user can cause ends in one
:class:`CommandError` line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # imported when a command runs: start-up stays fast
    from greentui.core.run.sweep import PlannedSession, Sweep
    from greentui.store import SessionStore
    from greentui.sweeps.cluster import DaskExecutor
    from greentui.sweeps.driver import SessionResult
    from greentui.sweeps.local import LocalExecutor

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_Parser = TypeVar("_Parser", bound=argparse.ArgumentParser)  # the CLI's own ArgumentParser subclass


class CommandError(Exception):
    """One line for the user and the exit code (2: the command line or a file is wrong, 1: it failed)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def add_parsers(sub: argparse._SubParsersAction[_Parser]) -> None:
    """Add ``sweep`` and ``sweeps`` to the CLI's subparsers."""
    sweep = sub.add_parser(
        "sweep",
        help="run a sweep file (candidates x tasks against one reference), or `sweep show NAME` for its leaderboard",
        description="Run every head-to-head a sweep file describes (each candidate against the reference, on each "
        "task), skipping sessions already done and resuming interrupted ones. `greentui sweep show NAME` prints the "
        "leaderboard of a sweep. The file format is in docs/SWEEPS.md.",
    )
    sweep.add_argument("target", metavar="FILE", help="the sweep file (TOML), or `show`")
    sweep.add_argument("name", nargs="?", metavar="NAME", help="with `show`: the sweep's name")
    sweep.add_argument("--plan", action="store_true", help="print the sessions it would run, run nothing")
    sweep.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run on Dask: tcp://HOST:8786 for a running scheduler, local:N for N local workers on 127.0.0.1 "
        "(default: this machine, one session at a time)",
    )
    sweep.add_argument(
        "--resource",
        metavar="NAME",
        help="the Dask worker resource each session takes one unit of (default: GPU for sessions on a GPU, else CPU)",
    )
    sweep.add_argument(
        "--retry-failed", action="store_true", help="run failed sessions again (resuming them) instead of keeping them"
    )
    sub.add_parser("sweeps", help="list the sweeps in the store")


def run_command(args: argparse.Namespace, *, db_path: Path, open_store: Callable[[bool], SessionStore]) -> int:
    """Dispatch ``sweep`` / ``sweeps``; ``open_store(readonly)`` opens the user's store (raising a one-line error)."""
    if args.command == "sweeps":
        return cmd_sweeps(open_store(True), db_path)
    if args.target == "show" and (args.name or not Path("show").exists()):
        if not args.name:
            raise CommandError("sweep show NAME: give the name of a sweep (greentui sweeps lists them)")
        return cmd_show(open_store(True), args.name)
    if args.name:
        raise CommandError(f"unexpected {args.name!r} after the sweep file (did you mean: greentui sweep show NAME?)")
    return cmd_sweep(args, open_store(args.plan), db_path)


def cmd_sweeps(store: SessionStore, db_path: Path) -> int:
    from greentui.store.sweeps import list_sweeps
    from greentui.text.sweep import print_sweeps

    print_sweeps(list_sweeps(store), db_path)
    return EXIT_OK


def cmd_show(store: SessionStore, name: str) -> int:
    from greentui.store import StoreError
    from greentui.store.sweeps import sweep_board
    from greentui.text.sweep import print_board

    try:
        record, rows = sweep_board(store, name)
    except StoreError as exc:
        raise CommandError(str(exc), EXIT_FAILED) from None
    print_board(record, rows)
    return EXIT_OK


def _planned(path: str) -> tuple[Sweep, list[PlannedSession]]:
    from greentui.core.run.sweep import SweepError, expand, load_sweep

    try:
        sweep = load_sweep(path)
        return sweep, expand(sweep)
    except SweepError as exc:
        raise CommandError(str(exc)) from None


def make_executor(
    store: SessionStore, cluster: str | None, resource: str | None, **options: Any
) -> LocalExecutor | DaskExecutor:
    """The local executor, or a Dask one for ``--cluster`` (raises CommandError for a bad address)."""
    if not cluster:
        from greentui.sweeps.local import LocalExecutor

        if resource:
            raise CommandError("--resource applies to a Dask cluster only (add --cluster)")
        return LocalExecutor(store, **options)
    from greentui.sweeps.cluster import ClusterError, DaskExecutor

    try:
        return DaskExecutor(store, cluster, resource=resource, **options)
    except ClusterError as exc:
        raise CommandError(str(exc)) from None


def cmd_sweep(args: argparse.Namespace, store: SessionStore, db_path: Path) -> int:
    from rich.console import Console
    from rich.text import Text

    from greentui.store.sweeps import sweep_board
    from greentui.sweeps.cluster import ClusterError, DaskExecutor
    from greentui.sweeps.driver import plan_steps, run_sweep
    from greentui.text.sweep import print_plan, print_summary, result_line

    sweep, planned = _planned(args.target)
    where = f"Dask cluster {args.cluster}" if args.cluster else "this machine, one session at a time"
    if args.plan:
        print_plan(plan_steps(store, planned, retry_failed=args.retry_failed), sweep, where)
        return EXIT_OK
    executor = make_executor(store, args.cluster, args.resource)
    console = Console(highlight=False)
    total = len(planned)
    numbers = {p.key: p.index + 1 for p in planned}

    def on_result(result: SessionResult) -> None:
        console.print(result_line(result, numbers[result.step.planned.key], total))

    console.print(Text(f"sweep {sweep.name}: {total} sessions on {where}"))
    try:
        if isinstance(executor, DaskExecutor):  # a cluster: connect, and say what it offers
            executor.open()
            for note in executor.notes:
                console.print(Text(note, style="yellow"))
        outcome = run_sweep(store, sweep, planned, executor, retry_failed=args.retry_failed, on_result=on_result)
    except ClusterError as exc:
        raise CommandError(str(exc), EXIT_FAILED) from None
    finally:
        executor.close()
    _, rows = sweep_board(store, sweep.name)
    print_summary(outcome, sweep.name, rows, db_path)
    if outcome.stopped:
        from greentui import signals

        return signals.exit_code(EXIT_INTERRUPTED)  # 143 / 129 when SIGTERM / SIGHUP stopped it
    return EXIT_OK if outcome.all_done else EXIT_FAILED
