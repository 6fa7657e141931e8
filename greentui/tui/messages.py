"""What thread workers hand back to the screens: one typed message per kind of result, and one for failures.

A worker function posts its result as a message (past tense: ``CatalogLoaded``, ``SessionOpened``) to the screen
or widget that started it, so that node handles each result by its type, never by a worker's group name or
description; results do not bubble further. Any exception in the work becomes a :class:`WorkFailed`, which bubbles
up to the app: its one handler shows the user one line (:func:`greentui.errors.one_line`), never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import NoActiveWorker, get_current_worker

from greentui.errors import one_line

if TYPE_CHECKING:
    from greentui.core.verdict.compute import Verdict
    from greentui.store.tradeoff import RunPoint
    from greentui.tui.comparison import SessionComparison
    from greentui.tui.feeds import FeedEnd
    from greentui.tui.replay import FoldedSession
    from greentui.tui.widgets.model_picker import CatalogChoice
    from greentui.tui.widgets.task_picker import TaskChoice


@dataclass
class WorkFailed(Message):
    """Work off the UI thread failed: ``title`` says what could not be done, ``line`` why (one line)."""

    title: str
    line: str
    timeout_s: float = 10.0


@dataclass
class CatalogLoaded(Message, bubble=False):
    """The model catalog, with what is available on this machine."""

    choices: list[CatalogChoice]


@dataclass
class TasksLoaded(Message, bubble=False):
    """The built-in tasks."""

    tasks: list[TaskChoice]


@dataclass
class SessionOpened(Message, bubble=False):
    """A stored session replayed from the store into a tally, a power trace and its verdict."""

    session: FoldedSession


@dataclass
class SessionsCompared(Message, bubble=False):
    """Two stored sessions, folded and compared."""

    comparison: SessionComparison


@dataclass
class RunsLoaded(Message, bubble=False):
    """Every stored run of one task, for the trade-off chart."""

    runs: list[RunPoint]


@dataclass
class FeedEnded(Message, bubble=False):
    """The live screen's feed returned: ``end`` says how (None: it raised, and a WorkFailed said why)."""

    end: FeedEnd | None


@dataclass
class VerdictComputed(Message, bubble=False):
    """The verdict on what had finished when the user asked (``state``: the live state then)."""

    verdict: Verdict
    state: str


def post_result(node: MessagePump, work: Callable[[], Message], *, failure: str, timeout_s: float = 10.0) -> None:
    """Call ``work`` (in a thread worker) and post the message it returns to ``node``.

    An exception becomes a :class:`WorkFailed` titled ``failure``. Nothing is posted once the worker has been
    cancelled: a newer worker of its exclusive group replaced it, and only the newest result may be shown.
    """
    try:
        message: Message = work()
    except Exception as exc:
        message = WorkFailed(failure, one_line(exc), timeout_s)
    try:
        cancelled = get_current_worker().is_cancelled
    except NoActiveWorker:  # called outside a worker (a test): nothing can have replaced it
        cancelled = False
    if not cancelled:
        node.post_message(message)
