"""The command line's arguments: every subcommand and option, checked as argparse reads them.

Only the standard library is imported here (``greentui --help`` must stay fast); the sweep commands add their own
subparsers from greentui.sweeps.commands when the parser is built.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from greentui.cli.exits import EXIT_USAGE

JSON_HELP = "print JSON for scripts instead of a table (keys: docs/JSON_OUTPUT.md)"

EXIT_STATUS_HELP = """exit status:
  0    done (a session completed, a listing printed)
  1    the work failed: a model failed, the database could not be read or written (results kept in a
       recovery journal then: see `greentui recover`), a file could not be written
  2    usage error: an unknown option, a value out of range, an unknown task or model spec, a task or
       trace file that cannot be read (the message names the file and line)
  130  interrupted with Ctrl-C (SIGINT); 143 with SIGTERM; 129 with SIGHUP (finished items are kept,
       the session is marked interrupted: `greentui resume ID` finishes it)"""


# --------------------------------------------------------------------------------------------------------------
# argument parsing
# --------------------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _checked(
    kind: type[int] | type[float], *, low: float, inclusive: bool = True, what: str = ""
) -> Callable[[str], int | float]:
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
    p.add_argument(
        "--no-prompt-cache",
        dest="prompt_cache",
        action="store_false",
        help="prefill every item's whole prompt (default: transformers models reuse the key/value cache of the "
        "prompt prefix items share, the task's system text and few-shot turns, as inference servers do)",
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
