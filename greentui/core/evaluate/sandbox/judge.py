"""The trusted judge: runs an item's tests in its own process against the sandboxed solution's *answers*.

Run by path (``python -I -S -B -X utf8 judge.py FDS``) as greentui's user, outside the sandbox; standard library
only. It reads the job (tests, trusted prelude, the model's program) from its stdin, which only greentui holds, so
the tests never touch a disk the solution can write. It:

1. waits for the sandboxed child's hello (sent before any model code runs) and passes it on to greentui;
2. has the child run the model's program, and asks which names the tests use that the program defines;
3. runs the tests itself (the task's trusted prelude first, for helpers such as HumanEval's ``poly``), with each
   function of the solution replaced by a proxy: a call sends the arguments as plain data and gets plain data back
   (:mod:`.wire`), so every ``==``, ``assert`` and ``is`` runs on values the judge built itself;
4. writes ``{"verdict": {"passed", "phase", "detail"}}`` to greentui.

Nothing the solution can read decides the result (there is no nonce), and nothing it writes counts but its
answers: an answer that is not plain data, a garbled or oversized message, or the child going away during a call
fails the item even where the tests would have caught the exception.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import sys

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs every sandboxed item


def _sibling(name: str) -> ModuleType:
    """A module beside this file. Run as a script (``-I`` leaves greentui off sys.path) it is executed from its
    path, without importlib machinery: the sandbox starts an interpreter per item, and every import costs."""
    if __package__:
        __import__(f"{__package__}.{name}")
        return sys.modules[f"{__package__}.{name}"]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    module = type(sys)(f"_greentui_sandbox_{name}")
    module.__file__ = path
    sys.modules[module.__name__] = module
    with open(path, encoding="utf-8") as handle:
        exec(compile(handle.read(), path, "exec"), module.__dict__)
    return module


if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, NoReturn

    from greentui.core.evaluate.sandbox import wire
else:
    wire = _sibling("wire")


class SolutionGone(BaseException):
    """The child stopped answering (exited, was killed, or broke the protocol). A BaseException, so that a
    test's ``except Exception`` cannot swallow it."""


class SolutionError(Exception):
    """An exception of a class the solution defined (only built-in exception classes are re-raised as such)."""


class Channel:
    """Requests to the sandboxed child and its answers; latches the first protocol failure."""

    def __init__(self, request_fd: int, reply_fd: int, max_reply_bytes: int) -> None:
        self.request_fd = request_fd
        self.replies = wire.LineReader(reply_fd, max_reply_bytes)
        self.problem: str | None = None  # set once: the item fails whatever the tests did

    def fail(self, problem: str) -> NoReturn:
        if self.problem is None:
            self.problem = problem
        raise SolutionGone(problem)

    def receive(self) -> dict[str, Any]:
        if self.problem is not None:
            raise SolutionGone(self.problem)
        try:
            answer = self.replies.read_message()
        except ValueError as exc:
            self.fail(f"the sandbox sent {exc}")
        if answer is None:
            self.fail("gone")
        return answer

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.problem is not None:
            raise SolutionGone(self.problem)
        try:
            wire.write_all(self.request_fd, wire.message(request))
        except OSError:
            self.fail("gone")
        return self.receive()

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            request = {
                "op": "call",
                "name": name,
                "args": [wire.to_wire(a) for a in args],
                "kwargs": [[k, wire.to_wire(v)] for k, v in kwargs.items()],
            }
        except wire.NotPlain as exc:  # the task's own test passes something the sandbox cannot receive
            raise TypeError(f"the tests pass {exc} to {name}(): only plain data can reach the solution") from None
        answer = self.ask(request)
        if "ok" in answer:
            try:
                return wire.from_wire(answer["ok"])
            except wire.NotPlain as exc:
                self.fail(f"{name}() answered with {exc}")
        if "raise" in answer:
            raise rebuild_exception(answer["raise"])
        if "bad" in answer:
            self.fail(str(answer["bad"])[:300])
        self.fail("the sandbox sent an answer of no known kind")


def rebuild_exception(info: Any) -> Exception:
    """The solution's exception as the judge raises it: the built-in class where it was one, else SolutionError."""
    if not isinstance(info, dict):
        return SolutionError("an exception the sandbox could not describe")
    name, message = str(info.get("type", "Exception"))[:80], str(info.get("message", ""))[:500]
    kind = getattr(builtins, name, None) if info.get("builtin") is True else None
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(message)
        except Exception:
            pass
    return SolutionError(f"{name}: {message}" if message else name)


class SolutionFunction:
    """Stands in for one function of the solution inside the tests."""

    def __init__(self, channel: Channel, name: str) -> None:
        self._channel = channel
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.call(self.__name__, args, kwargs)

    def __repr__(self) -> str:
        return f"<function {self.__name__} of the solution>"


def loaded_names(tree: ast.AST) -> set[str]:
    """Every name the tests read, minus built-ins and dunder names (those always mean the judge's own)."""
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return {name for name in names if not hasattr(builtins, name) and not name.startswith("__")}


def stub_functions(prelude: str) -> set[str]:
    """Functions the prelude only declares (signature and docstring): the solution must supply them."""
    try:
        tree = ast.parse(prelude)
    except SyntaxError:
        return set()
    stubs = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if all(_is_declaration(statement) for statement in node.body):
                stubs.add(node.name)
    return stubs


def _is_declaration(node: ast.stmt) -> bool:
    """A docstring, ``pass``, ``...`` or an import (HumanEval/115's prompt imports inside its signature)."""
    if isinstance(node, (ast.Pass, ast.Import, ast.ImportFrom)):
        return True
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and type(node.value.value) in (str, type(...))
    )


def _standard_module(name: str) -> ModuleType | None:
    """The judge's own copy of a standard-library module the solution imported (never anything else)."""
    if name.split(".")[0] not in getattr(sys, "stdlib_module_names", ()):
        return None
    try:
        __import__(name)
    except Exception:
        return None
    return sys.modules.get(name)


_SOURCES: dict[str, str] = {}  # file name -> source, for the lines failure details quote


def _frames_in(exc: BaseException | None, filename: str) -> list[Any]:
    """The traceback frames of ``exc`` in ``filename`` (traceback and linecache load only when something failed)."""
    if exc is None:
        return []
    import linecache
    import traceback

    for name, source in _SOURCES.items():
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    return [fr for fr in traceback.extract_tb(exc.__traceback__) if fr.filename == filename]


def verdict(passed: bool, phase: str, detail: str) -> dict[str, Any]:
    """The verdict; the detail quotes the solution's own words, so control and bidi characters are escaped."""
    printable = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in detail[:400])
    return {"passed": passed, "phase": phase, "detail": printable}


def failure_detail(exc: BaseException, filename: str) -> str:
    """``Type: message at file:line: source``, as the old in-sandbox runner reported it."""
    what = f"{type(exc).__name__}: {exc}".rstrip(": ")[:200]
    frames = _frames_in(exc, filename)
    where = f" at {filename}:{frames[-1].lineno}: {(frames[-1].line or '').strip()}" if frames else ""
    return what + where


def judge(job: dict[str, Any], channel: Channel) -> dict[str, Any]:
    """Load the solution, run the tests against it, return the verdict (never raises for the solution's doing)."""
    tests, prelude = str(job["tests"]), job.get("prelude")
    _SOURCES["tests.py"] = tests
    try:
        tree = ast.parse(tests, "tests.py")
        code = compile(tree, "tests.py", "exec")
    except SyntaxError as exc:
        return verdict(False, "task", f"the task's tests do not compile: {exc}")
    namespace: dict[str, Any] = {"__name__": "tests", "__builtins__": builtins}
    trusted: set[str] = set()
    if prelude:
        try:  # trusted task code (HumanEval's prompt): its helpers are the judge's own, not the solution's
            exec(compile(str(prelude), "prelude.py", "exec"), namespace)
            trusted = set(namespace) - stub_functions(str(prelude))
        except Exception:
            namespace = {"__name__": "tests", "__builtins__": builtins}
    try:
        answer = channel.ask({"op": "load", "source": str(job["solution"])})
        if "raise" in answer:
            info = answer["raise"] if isinstance(answer["raise"], dict) else {}
            where = f" at {info['where']}" if info.get("where") else ""
            what = f"{info.get('type', 'error')}: {info.get('message', '')}".rstrip(": ")[:200]
            return verdict(False, "solution", f"the code failed: {what}{where}")
        if answer != {"ok": None}:
            channel.fail("the sandbox answered the load with something else")
        wanted = sorted(loaded_names(tree) - trusted)
        described = channel.ask({"op": "describe", "names": wanted})
        if set(described) != {"ok"} or not isinstance(described["ok"], dict):
            channel.fail("the sandbox answered the names with something else")
    except SolutionGone:
        return _gone(channel, "before the tests ran")
    for name, kind in described["ok"].items():
        if name not in wanted:
            continue
        if kind == "call":
            namespace[name] = SolutionFunction(channel, name)
        elif isinstance(kind, dict) and "value" in kind:
            try:
                namespace[name] = wire.from_wire(kind["value"])
            except wire.NotPlain:
                pass
        elif isinstance(kind, dict) and isinstance(kind.get("module"), str):
            module = _standard_module(kind["module"])
            if module is not None:
                namespace[name] = module
    try:
        exec(code, namespace)
    except BaseException as exc:
        if channel.problem is not None:
            return _gone(channel, "during the tests", exc)
        return verdict(False, "tests", f"tests failed: {failure_detail(exc, 'tests.py')}")
    if channel.problem is not None:  # the tests caught it; the item fails all the same
        return _gone(channel, "during the tests")
    return verdict(True, "tests", "passed")


def _gone(channel: Channel, when: str, exc: BaseException | None = None) -> dict[str, Any]:
    """The verdict when the channel failed: the child went away, or answered with something that is not data."""
    frames = _frames_in(exc, "tests.py")
    where = f" at tests.py:{frames[-1].lineno}: {(frames[-1].line or '').strip()}" if frames else ""
    if channel.problem == "gone":
        return verdict(False, "gone", f"the code stopped {when}{where}")
    return verdict(False, "protocol", f"tests failed: {channel.problem}{where}")


def main(argv: list[str]) -> int:
    fds = json.loads(argv[1])
    out = int(fds["verdict_fd"])
    job = json.loads(sys.stdin.buffer.read())
    _limit_self(job)
    channel = Channel(int(fds["request_fd"]), int(fds["reply_fd"]), int(job["max_reply_bytes"]))
    try:
        first = channel.receive()
    except SolutionGone:
        first = {}
    if "hello" not in first:
        why = first.get("setup_failed") or "it exited before saying hello"
        wire.write_all(out, wire.message({"verdict": verdict(False, "setup", f"the sandbox did not start: {why}")}))
        return 0
    wrong = unexpected(first["hello"], job.get("expect", {}))
    if wrong:  # before any model code runs: a sandbox that is not what greentui asked for runs nothing
        wire.write_all(
            out, wire.message({"verdict": verdict(False, "setup", f"the sandbox is not as planned: {wrong}")})
        )
        return 0
    wire.write_all(out, wire.message({"hello": first["hello"]}))
    wire.write_all(out, wire.message({"verdict": judge(job, channel)}))
    return 0


def unexpected(hello: Any, expect: dict[str, Any]) -> str:
    """What in the child's hello differs from what greentui set up ("" when nothing)."""
    if not isinstance(hello, dict):
        return "no facts"
    if expect.get("seccomp") and hello.get("seccomp") is not True:
        return "no seccomp filter"
    if expect.get("not_root") and hello.get("uid") in (0, None):
        return "still root"
    capabilities = hello.get("capabilities")
    if expect.get("no_capabilities") and isinstance(capabilities, int) and capabilities != 0:
        return f"capabilities left ({capabilities:#x})"
    return ""


def _limit_self(job: dict[str, Any]) -> None:
    """The judge runs trusted code, but a test may loop: cap its memory; keep other processes out of it."""
    try:
        import resource

        memory = int(job.get("judge_memory_bytes", 0))
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: /proc/<judge>/mem and fd are root-only


if __name__ == "__main__":
    sys.exit(main(sys.argv))
