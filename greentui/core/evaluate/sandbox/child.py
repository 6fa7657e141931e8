"""The program that runs model code inside the sandbox (``python -I -S -B -X utf8 child.py SETUP_FD``).

Started by path, never imported by greentui's own process for its work; standard library only (it loads
``confine.py`` and ``wire.py`` beside it by path). It reads its configuration from a pipe, confines itself
(:mod:`.confine`: mounts, user, limits, seccomp), says hello, and then only answers the judge's requests, one
JSON line each, on its reply pipe:

* ``{"op": "load", "source": ...}``: run the model's program (as module ``solution``, so its demo block under
  ``if __name__ == "__main__"`` does not run);
* ``{"op": "describe", "names": [...]}``: which of those names the program defines, and how (a function to call,
  a plain value, something else);
* ``{"op": "call", "name": ..., "args": [...], "kwargs": [[key, value], ...]}``: call one of its functions.

Answers are ``{"ok": VALUE}``, ``{"raise": {"type", "builtin", "message", "where"}}`` or ``{"bad": WHY}``
(a result that is not plain data, see :mod:`.wire`). The tests never come here: the judge holds them and decides;
this process cannot reach the judge, only answer it. Whatever the model's code does to this process (replacing
builtins, walking frames, writing to the reply pipe itself) changes nothing but the values it answers with.
"""

from __future__ import annotations

import builtins
import json
import os
import sys

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs every sandboxed item

MAX_REQUEST_BYTES = 256 << 20  # requests come from the trusted judge; this only bounds a broken one


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
    from typing import Any

    from greentui.core.evaluate.sandbox import confine, wire
else:
    confine = _sibling("confine")
    wire = _sibling("wire")


def read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def print_solution_traceback(exc: BaseException) -> None:
    """The traceback from the model's own first frame on (the sandbox's frames are noise to its reader)."""
    import traceback  # only when something failed: every import delays every item

    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != "solution.py":
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)


def describe_exception(exc: BaseException, filename: str) -> dict[str, Any]:
    """What the judge needs to re-raise it: the class name, whether it is the built-in class, message, place."""
    kind = type(exc)
    name = str(type.__dict__["__name__"].__get__(kind))[:80]
    try:
        text = str(exc)[:500]
    except BaseException:
        text = "<the message could not be read>"
    import traceback

    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == filename]
    where = f"{filename}:{frames[-1].lineno}: {(frames[-1].line or '').strip()[:160]}" if frames else ""
    return {"type": name, "builtin": getattr(builtins, name, None) is kind, "message": text, "where": where}


class Solution:
    """The model's program and the requests it answers."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "load":
            return self.load(str(request["source"]))
        if op == "describe":
            return {"ok": {str(name): self.describe(str(name)) for name in request["names"]}}
        if op == "call":
            return self.call(str(request["name"]), request["args"], request["kwargs"])
        return {"raise": {"type": "RuntimeError", "builtin": True, "message": f"unknown op {op!r}", "where": ""}}

    def load(self, source: str) -> dict[str, Any]:
        try:  # the file is only for tracebacks and linecache; the source runs from memory
            with open("solution.py", "w", encoding="utf-8") as handle:
                handle.write(source)
        except OSError:
            pass
        try:
            exec(compile(source, "solution.py", "exec"), self.namespace)
        except BaseException as exc:
            print_solution_traceback(exc)
            return {"raise": describe_exception(exc, "solution.py")}
        return {"ok": None}

    def describe(self, name: str) -> Any:
        if name not in self.namespace or name == "__builtins__":
            return "missing"
        value = self.namespace[name]
        if isinstance(value, type(sys)):  # `import math` in the solution, used by the tests: the judge imports it
            return {"module": str(getattr(value, "__name__", ""))[:100]}
        if callable(value):
            return "call"
        try:
            return {"value": wire.to_wire(value)}
        except wire.NotPlain:
            return "other"

    def call(self, name: str, args: list[Any], kwargs: list[list[Any]]) -> dict[str, Any]:
        function = self.namespace.get(name)
        try:
            if function is None or not callable(function):
                raise NameError(f"name {name!r} is not a function of the solution")
            result = function(*[wire.from_wire(a) for a in args], **{str(k): wire.from_wire(v) for k, v in kwargs})
        except BaseException as exc:
            print_solution_traceback(exc)
            return {"raise": describe_exception(exc, "solution.py")}
        try:
            return {"ok": wire.to_wire(result)}
        except wire.NotPlain as exc:
            return {"bad": f"{name}() returned {exc}, not plain data"}
        except RecursionError:
            return {"bad": f"{name}() returned a value nested too deeply"}

    def serve(self, requests: wire.LineReader, reply_fd: int) -> None:
        """Answer requests until the judge closes the pipe."""
        while True:
            request = requests.read_message()
            if request is None:
                return
            answer = self.handle(request)
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
            wire.write_all(reply_fd, wire.message(answer))


def confine_self(cfg: dict[str, Any]) -> dict[str, Any]:
    """Every step of :mod:`.confine` that this configuration asks for; returns what now holds (for the hello)."""
    drop_to = cfg.get("drop_to")
    linux = sys.platform.startswith("linux")
    if cfg.get("mounts"):
        confine.lay_out_mounts(cfg["mounts"], tuple(drop_to) if drop_to else None)
    if drop_to:
        confine.drop_user(int(drop_to[0]), int(drop_to[1]))
    elif linux and os.getuid() == 0 and cfg.get("user_namespace"):
        confine.drop_capabilities()
    os.chdir(str(cfg["scratch"]))
    confine.set_limits(cfg)
    if linux:
        confine.die_with_parent()
        confine.not_dumpable()
    bpf = cfg.get("seccomp_bpf")
    if bpf:
        confine.load_seccomp(bytes.fromhex(bpf))
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "pid": os.getpid(),
        "capabilities": confine.effective_capabilities() if linux else None,
        "seccomp": bool(bpf),
        "mounts": cfg.get("mounts_by") or "none",
    }


def main(argv: list[str]) -> int:
    cfg = json.loads(read_all(int(argv[1])))
    reply_fd = int(cfg["reply_fd"])
    try:
        facts = confine_self(cfg)
    except Exception as exc:
        wire.write_all(reply_fd, wire.message({"setup_failed": f"{type(exc).__name__}: {exc}"[:300]}))
        return 70
    wire.write_all(reply_fd, wire.message({"hello": facts}))
    Solution().serve(wire.LineReader(0, MAX_REQUEST_BYTES), reply_fd)
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    for _stream in (sys.stdout, sys.stderr):
        try:
            _stream.flush()
        except BaseException:
            pass
    os._exit(code)  # no atexit handlers or finalizers of the model's code
