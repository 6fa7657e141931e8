"""The commands that run a session: ``run`` and ``demo`` (headless or in the TUI), ``resume`` and the TUI itself.

Their configuration comes from the parsed arguments (:func:`config_from_args`); the store opens, and takes a write,
before any model worker imports torch (see cli/entry.py).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Literal

from greentui.cli.commands import db_path, open_store
from greentui.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, CliError

if TYPE_CHECKING:  # imported when a command runs: start-up stays fast
    from greentui.core.records import Side
    from greentui.core.run.session import SessionConfig
    from greentui.store import SessionStore


def config_from_args(args: argparse.Namespace) -> SessionConfig:
    from greentui.core.run.session import SessionConfig

    return SessionConfig(
        model_a=args.model_a,
        model_b=args.model_b,
        task=args.task,
        limit=args.limit,
        schedule=args.schedule,
        power_source=args.power_source,
        sample_hz=args.sample_hz,
        idle_s=args.idle_seconds,
        country=args.country,
        grid_intensity=args.grid_intensity,
        pue=args.pue,
        codecarbon=args.codecarbon,
        scorer=args.scorer,
        seed=args.seed,
        max_new_tokens=args.max_new_tokens,
        fixed_length=args.fixed_length,
        prompt_cache=args.prompt_cache,
        load_timeout_s=args.load_timeout,
        trust_remote_code=args.trust_remote_code,
        stop_on_failure=args.stop_on_failure,
        training_emissions_g=args.training_emissions_g,
        amortize_answers=args.amortize_answers,
        requests_per_day=args.requests_per_day,
        stop_when_settled=args.stop_when_settled,
        alpha=args.alpha,
        delta=args.margin / 100.0,
        max_items=args.max_items,
        order_seed=args.order_seed,
    )


def demo_config_from_args(args: argparse.Namespace) -> SessionConfig:
    from greentui.demo import demo_config

    return demo_config(
        quantized=args.quantized,
        task=args.task,
        limit=args.limit if args.quantized else None,
        max_items=None if args.quantized else args.limit,
        country=args.country,
        power_source=args.power_source,
    )


def announce_demo(args: argparse.Namespace, config: SessionConfig) -> str:
    """What the demo races and how long it expects to take here (an estimate from measured figures)."""
    from greentui import demo

    line = demo.describe(config)
    if not args.quantized:
        store = None
        try:
            store = open_store(args, readonly=True)
        except CliError:
            pass  # the run reports an unusable store itself; the estimate goes without history
        try:
            line += "\n" + demo.expected_duration(config, store).line()
        finally:
            if store is not None:
                store.close()
        if demo.adapter_folder() is None:
            line += "\nwarning: the bundled adapter is missing (greentui/adapters/lora-arithmetic): model B fails"
    return line


def cmd_run(
    args: argparse.Namespace,
    config: SessionConfig,
    *,
    store: SessionStore | None = None,
    session_id: str | None = None,
    skip_items: dict[Side, set[str]] | None = None,
) -> int:
    from greentui import signals
    from greentui.services import SessionError, SessionRun
    from greentui.text.printer import HeadlessPrinter

    store = store if store is not None else open_store(args)
    run = SessionRun(
        config,
        store,
        session_id=session_id,
        skip_items=skip_items,
        on_store_error=lambda e: printer.store_error(e),
        on_store_status=lambda status: printer.store_status(status),
    )
    printer = HeadlessPrinter(db_path=db_path(args), tally=run.tally)
    try:
        run.prepare()
    except SessionError as exc:
        run.close()
        raise CliError(str(exc)) from None
    run.subscribe(printer.handle)
    try:
        outcome = run.run()  # SIGTERM / SIGHUP stop it like Ctrl-C (main() installs the handler)
    except SessionError as exc:  # found before the session started (e.g. an unreadable power trace)
        raise CliError(str(exc)) from None
    printer.finish(run.tally, outcome)
    if outcome.unsaved:  # results are in a recovery journal (or nowhere): never a plain success
        return EXIT_FAILED
    if outcome.status == "interrupted":
        return signals.exit_code(EXIT_INTERRUPTED)
    return {"completed": EXIT_OK}.get(outcome.status, EXIT_FAILED)


def cmd_resume(args: argparse.Namespace) -> int:
    from greentui.core.evaluate.tasks import TaskError, load_task
    from greentui.services import resume_config
    from greentui.store import StoreError

    store = open_store(args)  # refused here, before any model loads, when it cannot be written
    try:
        session_id, config, done = resume_config(store, args.session_id)
        stored = store.get_session(session_id)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    prewarm([config.model_a, config.model_b])
    if stored.status == "completed":
        raise CliError(f"session {session_id} is already completed; nothing to resume")
    if stored.status == "running":
        raise CliError(f"session {session_id} is still running in another process (pid {stored.pid})")
    try:
        task = load_task(config.task, scorer=config.scorer)
    except TaskError as exc:
        raise CliError(f"cannot resume {session_id}: {exc}") from None
    if stored.task_version and task.version != stored.task_version:
        raise CliError(
            f"cannot resume {session_id}: task {task.id!r} changed since the session started "
            f"(version {stored.task_version[:12]} then, {task.version[:12]} now)"
        )
    return cmd_run(args, config, store=store, session_id=session_id, skip_items=done)


def cmd_tui(
    args: argparse.Namespace,
    *,
    start: Literal["setup", "live", "demo", "history"] = "setup",
    config: SessionConfig | None = None,
    store: SessionStore | None = None,
    notice: str | None = None,
) -> int:
    from greentui import signals
    from greentui.tui.app import make_app

    store = store if store is not None else open_store(args, readonly=start == "history")
    app = make_app(store=store, db_path=db_path(args), start=start, session_config=config, notice=notice)
    app.run()  # SIGTERM / SIGHUP: the app stops its sessions and exits (GreentuiApp.on_mount)
    lines, unsaved = app.session_report()
    try:
        for line in lines:  # the TUI is gone: say where its sessions' results are
            print(line)
    except OSError:  # the terminal hung up (SIGHUP): nobody to tell
        pass
    if unsaved:
        return EXIT_FAILED
    return signals.exit_code(int(app.return_code or 0))


def prewarm(specs: list[str]) -> None:
    """Start the model workers' imports of torch and transformers now, while the task loads and the store opens
    (or while the user fills in the setup screen): the seconds they take are then hidden from the wait for the
    models. Never for fake models, and never an error (a worker that cannot start early starts later)."""
    from greentui.core.models.worker import prewarm_for

    prewarm_for(specs)
