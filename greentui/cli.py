"""greentui's command line: the TUI by default, and headless commands for scripts and CI.

Start-up must stay fast: this module imports only the standard library and argparse at the top; every command
imports what it needs when it runs (``greentui --help`` never loads torch, transformers or textual).
Errors a user can cause end in one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Literal, NoReturn

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
JSON_HELP = "print JSON for scripts instead of a table (keys: docs/JSON_OUTPUT.md)"

EXIT_STATUS_HELP = """exit status:
  0    done (a session completed, a listing printed)
  1    the work failed: a model failed, the database could not be read or written (results kept in a
       recovery journal then: see `greentui recover`), a file could not be written
  2    usage error: an unknown option, a value out of range, an unknown task or model spec, a task or
       trace file that cannot be read (the message names the file and line)
  130  interrupted with Ctrl-C (SIGINT); 143 with SIGTERM; 129 with SIGHUP (finished items are kept,
       the session is marked interrupted: `greentui resume ID` finishes it)"""


class CliError(Exception):
    """A problem to report in one line (exit code 2 unless stated)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------------------------------------------
# argument parsing
# --------------------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _checked(kind: type[int] | type[float], *, low: float, inclusive: bool = True, what: str = "") -> Any:
    """An argparse ``type=`` that parses ``kind`` and refuses values below ``low`` (or equal, if not
    ``inclusive``), NaN and infinity, so out-of-range values end as usage errors (exit 2) before any work."""
    bound = f"{'at least' if inclusive else 'more than'} {low:g}" + (f" ({what})" if what else "")

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'a whole number' if kind is int else 'a number'}, not {text!r}"
            ) from None
        if value != value or value in (float("inf"), float("-inf")) or value < low or (not inclusive and value == low):
            raise argparse.ArgumentTypeError(f"must be {bound}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


_COUNT = _checked(int, low=1)
_SECONDS = _checked(float, low=0)
_POSITIVE = _checked(float, low=0, inclusive=False)


def _add_session_options(p: argparse.ArgumentParser, *, models_required: bool) -> None:
    p.add_argument(
        "--model-a",
        required=models_required,
        metavar="SPEC",
        help="model A, e.g. smollm2-135m@fp32, Qwen/Qwen2.5-0.5B-Instruct@nf4, ./folder, file.gguf; or a served "
        "model: openai:http://HOST:PORT/v1?model=NAME[&key_env=VAR&params=1.5B&pid=N&tokenizer=PATH&timeout=S], "
        "ollama:NAME, vllm:NAME, llama-server:NAME, lmstudio:NAME, tgi:NAME, transformers:NAME "
        "(docs/SERVED_MODELS.md)",
    )
    p.add_argument("--model-b", required=models_required, metavar="SPEC", help="model B (same forms)")
    p.add_argument(
        "--task",
        required=models_required,
        metavar="TASK",
        help="a built-in task id (see `greentui tasks`), a task folder, or a .jsonl file with --scorer",
    )
    p.add_argument("--scorer", metavar="NAME", help="scorer for a .jsonl task: exact, numeric, label, rouge_l, ...")
    p.add_argument("--limit", type=_COUNT, metavar="N", help="run only the first N items of the task (1 or more)")
    p.add_argument(
        "--schedule",
        choices=("alternate", "sequential", "parallel"),
        default="alternate",
        help="alternate (A1 B1 B2 A2 ..., default), sequential (all A then all B), parallel "
        "(only for models on different devices)",
    )
    p.add_argument(
        "--power-source",
        default="auto",
        metavar="SOURCE",
        help="auto (default), nvml, rapl, estimate, or replay:FILE.csv",
    )
    p.add_argument("--sample-hz", type=_POSITIVE, default=10.0, metavar="HZ", help="power sampling rate (default 10)")
    p.add_argument(
        "--idle-seconds",
        type=_SECONDS,
        default=3.0,
        metavar="S",
        help="idle baseline measured before the first item (default 3, 0 skips)",
    )
    p.add_argument("--country", metavar="ISO3", help="grid carbon intensity of this country (codecarbon data)")
    p.add_argument("--grid-intensity", type=_SECONDS, metavar="G", help="grid carbon intensity in g CO2e per kWh")
    p.add_argument(
        "--pue",
        type=_checked(float, low=1.0, what="facility energy / IT energy"),
        default=1.0,
        help="power usage effectiveness of the site (1.0 or more, default 1.0)",
    )
    p.add_argument(
        "--codecarbon",
        action="store_true",
        help="also measure the run with codecarbon's OfflineEmissionsTracker, as a cross-check",
    )
    p.add_argument("--seed", type=int, help="sample with this seed instead of greedy decoding")
    p.add_argument("--max-new-tokens", type=_COUNT, metavar="N", help="override the task's token limit (1 or more)")
    p.add_argument(
        "--fixed-length",
        action="store_true",
        help="every answer runs to exactly the token limit (end-of-sequence and stop strings ignored), so both "
        "models do the same work per item: for energy and speed benchmarks; the scores then mean little",
    )
    p.add_argument("--load-timeout", type=_POSITIVE, default=900.0, metavar="S", help="time limit to load a model")
    p.add_argument("--trust-remote-code", action="store_true", help="allow a model's own Python code to run")
    p.add_argument(
        "--stop-on-failure",
        action="store_true",
        help="stop the session when one model fails (default: the other model finishes)",
    )
    p.add_argument(
        "--training-emissions-g",
        type=_SECONDS,
        metavar="G",
        help="fine-tune mode: g CO2e spent training the adapter (e.g. from a codecarbon log)",
    )
    p.add_argument(
        "--amortize-answers", type=_POSITIVE, metavar="N", help="spread the training emissions over this many answers"
    )
    p.add_argument(
        "--requests-per-day",
        type=_POSITIVE,
        default=1e6,
        metavar="N",
        help="request rate for the at-scale figures (default 1,000,000 a day)",
    )
    _add_stopping_options(p)


def _add_stopping_options(p: argparse.ArgumentParser) -> None:
    """Stopping when settled (anytime-valid confidence sequences, DESIGN section 3)."""
    from greentui.core.verdict.model import DEFAULT_ALPHA, DEFAULT_DELTA  # not sequential: it imports numpy

    group = p.add_argument_group("stopping when settled")
    group.add_argument(
        "--stop-when-settled",
        action="store_true",
        help="stop as soon as the accuracy comparison is settled: items run in a seeded random order and "
        "anytime-valid confidence sequences are checked after every A/B pair (looking after every item does not "
        "inflate false winners)",
    )
    group.add_argument(
        "--alpha",
        type=_checked(float, low=0, inclusive=False),
        default=DEFAULT_ALPHA,
        metavar="A",
        help=f"error level of the stopping rule, split between accuracy and energy (default {DEFAULT_ALPHA:g})",
    )
    group.add_argument(
        "--margin",
        type=_POSITIVE,
        default=DEFAULT_DELTA * 100,
        metavar="POINTS",
        help=f"equivalence margin in percentage points (default {DEFAULT_DELTA * 100:g})",
    )
    group.add_argument("--max-items", type=_COUNT, metavar="N", help="at most N items per side (1 or more)")
    group.add_argument(
        "--order-seed",
        type=int,
        metavar="S",
        help="run the items in the order this seed shuffles them (default with --stop-when-settled: a fresh "
        "seed, stored with the session)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="greentui",
        description="Is the small model good enough, and what does each answer cost in energy and carbon? "
        "Runs two language models head to head on one task. With no command, opens the TUI.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--db", type=Path, metavar="PATH", help="session database (default: $GREENTUI_DB or the user data folder)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    exits: dict[str, Any] = {"epilog": EXIT_STATUS_HELP, "formatter_class": argparse.RawDescriptionHelpFormatter}
    run = sub.add_parser("run", help="run two models head to head on a task", **exits)
    _add_session_options(run, models_required=True)
    run.add_argument("--headless", action="store_true", help="print progress as text instead of the TUI")

    demo = sub.add_parser(
        "demo",
        help="the offline demo: SmolLM2-135M against itself + a bundled LoRA adapter, stopping when settled",
        **exits,
    )
    demo.add_argument("--headless", action="store_true", help="print progress as text instead of the TUI")
    demo.add_argument(
        "--quantized",
        action="store_true",
        help="race fp32 against nf4 (the same GGUF-derived weights, then bitsandbytes nf4) on dialogue-summary",
    )
    demo.add_argument("--limit", type=_COUNT, metavar="N", help="items per model (default: 60 at most, 20 quantized)")
    demo.add_argument("--task", help="any task (default arithmetic; dialogue-summary with --quantized)")
    demo.add_argument("--country", metavar="ISO3", help="grid carbon intensity of this country (codecarbon data)")
    demo.add_argument(
        "--power-source",
        default="auto",
        metavar="SOURCE",
        help="auto (default), nvml, rapl, estimate, or replay:FILE.csv",
    )

    resume = sub.add_parser("resume", help="finish an interrupted session (same models, same task version)", **exits)
    resume.add_argument("session_id", metavar="ID")

    recover = sub.add_parser(
        "recover",
        help="bring a recovery journal's results into the database (after a disk full, read-only or locked database)",
        **exits,
    )
    recover.add_argument("journal", type=Path, metavar="FILE", help="the journal file the failed session named")

    sessions = sub.add_parser("sessions", help="list stored sessions")
    sessions.add_argument("--task")
    sessions.add_argument("--model", help="sessions where either model's spec contains this text")
    sessions.add_argument("--status", choices=("running", "completed", "interrupted", "failed"))
    sessions.add_argument("--since", metavar="YYYY-MM-DD")
    sessions.add_argument("--until", metavar="YYYY-MM-DD")
    sessions.add_argument("--limit", type=_COUNT, default=50, metavar="N", help="at most N sessions (default 50)")
    sessions.add_argument("--json", action="store_true", help=JSON_HELP)

    show = sub.add_parser("show", help="a session's summary and verdict")
    show.add_argument("session_id", metavar="ID")
    show.add_argument("--json", action="store_true", help=JSON_HELP)

    export = sub.add_parser("export", help="export a session")
    export.add_argument("session_id", metavar="ID")
    export.add_argument(
        "--format",
        choices=("csv", "json", "md", "html"),
        default="md",
        help="md (default), csv (items, for spreadsheets), json (everything, re-importable), html (one "
        "self-contained page: verdict, CEGI, power trace, per-model figures)",
    )
    export.add_argument("--output", "-o", type=Path, metavar="FILE", help="write here instead of stdout")

    delete = sub.add_parser("delete", help="delete a session")
    delete.add_argument("session_id", metavar="ID")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    doctor = sub.add_parser("doctor", help="which power sources work here, and why not")
    doctor.add_argument("--country", metavar="ISO3")

    sub.add_parser("tasks", help="list the built-in tasks").add_argument("--json", action="store_true", help=JSON_HELP)
    models = sub.add_parser("models", help="list the model catalog and what is available here")
    models.add_argument("--json", action="store_true", help=JSON_HELP)
    sub.add_parser("history", help="open the TUI on the history screen")
    from greentui.sweeps.commands import add_parsers as add_sweep_parsers

    add_sweep_parsers(sub)
    return parser


def _config_from_args(args: argparse.Namespace) -> Any:
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


def _demo_config(args: argparse.Namespace) -> Any:
    from greentui.demo import demo_config

    return demo_config(
        quantized=args.quantized,
        task=args.task,
        limit=args.limit if args.quantized else None,
        max_items=None if args.quantized else args.limit,
        country=args.country,
        power_source=args.power_source,
    )


def _announce_demo(args: argparse.Namespace, config: Any) -> str:
    """What the demo races and how long it expects to take here (an estimate from measured figures)."""
    from greentui import demo

    line = demo.describe(config)
    if not args.quantized:
        store = None
        try:
            store = _open_store(args, readonly=True)
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


# --------------------------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------------------------


def _db_path(args: argparse.Namespace) -> Path:
    from greentui import paths

    return args.db.expanduser() if args.db else paths.db_path()


def _open_store(args: argparse.Namespace, *, readonly: bool = False) -> Any:
    """Open the session store.

    ``readonly=False`` (commands that write): it must open read-write and take a real write now, so a read-only,
    full or damaged database is refused in one line before any model loads (a lock held by another process is
    not refused: the writer waits for it). ``readonly=True`` (commands that read): read-write when possible, so
    sessions left ``running`` by a killed process are marked interrupted, else read-only (a read-only file, or
    another process holding the lock an upgrade would need); they never wait behind a writer."""
    from greentui.store import (  # not services: it imports the engine
        SessionStore,
        StoreBusyError,
        StoreError,
        StoreFullError,
        StoreReadOnlyError,
    )

    try:
        if not readonly:
            store = SessionStore(_db_path(args))
            store.check_writable()
            return store
        try:
            return SessionStore(_db_path(args))
        except (StoreReadOnlyError, StoreBusyError, StoreFullError):
            return SessionStore(_db_path(args), readonly=True)
    except StoreError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None


def cmd_run(
    args: argparse.Namespace,
    config: Any,
    *,
    store: Any = None,
    session_id: str | None = None,
    skip_items: Any = None,
) -> int:
    from greentui import signals
    from greentui.services import SessionError, SessionRun
    from greentui.text.printer import HeadlessPrinter

    store = store if store is not None else _open_store(args)
    run = SessionRun(
        config,
        store,
        session_id=session_id,
        skip_items=skip_items,
        on_store_error=lambda e: printer.store_error(e),
        on_store_status=lambda status: printer.store_status(status),
    )
    printer = HeadlessPrinter(db_path=_db_path(args), tally=run.tally)
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

    store = _open_store(args)  # refused here, before any model loads, when it cannot be written
    try:
        session_id, config, done = resume_config(store, args.session_id)
        stored = store.get_session(session_id)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    _prewarm([config.model_a, config.model_b])
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


def cmd_recover(args: argparse.Namespace) -> int:
    """Bring a recovery journal's results into the database (``--db`` or the default one)."""
    from greentui.services import recover
    from greentui.store import JournalError, StoreError

    store = _open_store(args)
    try:
        report = recover(store, args.journal)
    except JournalError as exc:  # not a journal, a damaged line, or the wrong database: the input is wrong
        raise CliError(str(exc), EXIT_USAGE) from None
    except StoreError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    if report.truncated:
        print(f"{args.journal}: its last line was cut short (the process ended while writing it): skipped")
    for recovered in report.sessions:
        print(
            f"session {recovered.session_id}: {recovered.items_added} finished items added "
            f"({recovered.items_in_journal} in the journal, the others were already there), {recovered.status}"
        )
    print(f"recovered {args.journal} into {_db_path(args)} (recovering it again adds nothing)")
    return EXIT_OK


def cmd_sessions(args: argparse.Namespace) -> int:
    from greentui.text.listing import print_sessions

    store = _open_store(args, readonly=True)
    since = _parse_date(args.since, "--since")
    until = _parse_date(args.until, "--until", end_of_day=True)
    where = {
        "task": args.task,
        "model": args.model,
        "status": args.status,
        "since_unix_s": since,
        "until_unix_s": until,
    }
    rows = store.list_sessions(**where, limit=args.limit)
    matching = store.count_sessions(**where) if len(rows) == args.limit else len(rows)
    if args.json:
        from greentui.text.listing_json import sessions_json

        sys.stdout.write(sessions_json(rows, matching=matching, db_path=_db_path(args), limit=args.limit))
    else:
        print_sessions(rows, _db_path(args), matching=matching)
    return EXIT_OK


def _parse_date(text: str | None, flag: str, *, end_of_day: bool = False) -> float | None:
    import datetime as dt

    if not text:
        return None
    try:
        day = dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise CliError(f"{flag} {text!r}: expected a date as YYYY-MM-DD") from None
    if end_of_day:
        day += dt.timedelta(days=1)
    return day.timestamp()


def cmd_show(args: argparse.Namespace) -> int:
    from greentui.text.listing import print_session, session_json

    store = _open_store(args, readonly=True)
    if args.json:
        sys.stdout.write(session_json(store, args.session_id))
    else:
        print_session(store, args.session_id)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from greentui.text.listing import export_session

    store = _open_store(args, readonly=True)
    text = export_session(store, args.session_id, args.format)
    if args.output:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}", EXIT_FAILED) from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    store = _open_store(args)
    session = store.get_session(args.session_id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("refusing to delete without confirmation: add --yes")
        answer = input(
            f"delete session {session.id} ({session.task_id}, {session.model_a} vs {session.model_b})? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("kept", file=sys.stderr)
            return EXIT_OK
    store.delete(session.id)
    print(f"deleted session {session.id}", file=sys.stderr)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from rich.console import Console

    from greentui.core.doctor import collect
    from greentui.text.doctor import render_doctor

    Console().print(render_doctor(collect(country_iso3=args.country)))
    return EXIT_OK


def cmd_tasks(args: argparse.Namespace) -> int:
    if args.json:
        from greentui.text.listing_json import tasks_json

        sys.stdout.write(tasks_json())
        return EXIT_OK
    from greentui.text.listing import print_tasks

    print_tasks()
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    if args.json:
        from greentui.text.listing_json import models_json

        sys.stdout.write(models_json())
        return EXIT_OK
    from greentui.text.listing import print_models

    print_models()
    return EXIT_OK


def cmd_tui(
    args: argparse.Namespace,
    *,
    start: Literal["setup", "live", "demo", "history"] = "setup",
    config: Any = None,
    store: Any = None,
    notice: str | None = None,
) -> int:
    from greentui import signals
    from greentui.tui.app import make_app

    store = store if store is not None else _open_store(args, readonly=start == "history")
    app = make_app(store=store, db_path=_db_path(args), start=start, session_config=config, notice=notice)
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


def _prewarm(specs: list[str]) -> None:
    """Start the model workers' imports of torch and transformers now, while the task loads and the store opens
    (or while the user fills in the setup screen): the seconds they take are then hidden from the wait for the
    models. Never for fake models, and never an error (a worker that cannot start early starts later)."""
    from greentui.core.models.worker import prewarm_for

    prewarm_for(specs)


def dispatch(args: argparse.Namespace) -> int:
    command = args.command
    # The store opens (and takes a write) before any worker imports torch: a database that cannot be written is
    # refused before anything loads.
    if command is None:
        store = _open_store(args)
        _prewarm(["setup-a", "setup-b"])  # the setup screen: the models are not chosen yet, the libraries are known
        return cmd_tui(args, store=store)
    if command in ("run", "demo"):
        config = _config_from_args(args) if command == "run" else _demo_config(args)
        store = _open_store(args)
        _prewarm([config.model_a, config.model_b])
        notice = _announce_demo(args, config) if command == "demo" else None
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
            return run_command(args, db_path=_db_path(args), open_store=lambda ro: _open_store(args, readonly=ro))
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


if __name__ == "__main__":
    sys.exit(main())
