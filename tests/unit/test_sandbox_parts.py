"""The sandbox's parts on their own: the plain-data wire format, the judge's protocol handling, the child's request
handling, the mount plan and command lines, and the seccomp filter loaded into a bare process."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greentui.core.evaluate.sandbox import child, confine, isolation, judge, seccomp_filter, wire
from greentui.core.evaluate.sandbox.isolation import Isolation, MountPlan

REPO = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------------------------------------------
# wire
# ---------------------------------------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.complex_numbers(allow_nan=False)
)
hashables = st.recursive(
    scalars, lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3), max_leaves=6
)
plain = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(hashables, inner, max_size=4)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(plain)
def test_plain_values_cross_unchanged_with_their_exact_types(value: Any) -> None:
    line = wire.dumps(value)
    assert "\n" not in line and line.isascii()
    back = wire.loads(line)
    assert back == value and _types(back) == _types(value)


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return ("dict", sorted(repr((_types(k), _types(v))) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return (type(value).__name__, sorted(repr(_types(v)) for v in value))
    return type(value).__name__


def test_non_finite_floats_and_big_ints_cross_tagged() -> None:
    for value in (float("inf"), float("-inf"), 2**64, -(2**100), 10**5000):
        assert wire.loads(wire.dumps(value)) == value
    assert str(wire.loads(wire.dumps(float("nan")))) == "nan"
    assert wire.dumps(2**64) == '{"int":"0x10000000000000000"}'


class Sneaky(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize(
    "value",
    [Sneaky(1), [Sneaky(1)], {"k": object()}, (x for x in ()), range(3), type, print, Exception("x"), bytearray],
    ids=[
        "int-subclass",
        "inside-a-list",
        "object-value",
        "generator",
        "range",
        "class",
        "builtin",
        "exception",
        "type",
    ],
)
def test_anything_else_is_refused(value: Any) -> None:
    with pytest.raises(wire.NotPlain):
        wire.dumps(value)


def test_self_containing_and_deep_values_are_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(wire.NotPlain, match="deeper"):
        wire.dumps(loop)
    deep: Any = 1
    for _ in range(wire.MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(wire.NotPlain, match="deeper"):
        wire.dumps(deep)


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]",  # a raw list: every container is tagged
        '{"a": 1}',  # a raw object
        '{"list": [1], "tuple": []}',  # two tags
        '{"evil": 1}',
        '{"set": [{"list": []}]}',  # unhashable in a set
        '{"dict": [[1]]}',
        '{"bytes": "zz"}',
        '{"float": "1.5"}',
        '{"complex": [1, 2]}',
        '{"int": "12"}',
        "NaN",
        "1" * 5000,  # more digits than Python's int conversion allows
        "[" * 100_000 + "]" * 100_000,
        "not json",
    ],
)
def test_malformed_data_is_refused(text: str) -> None:
    with pytest.raises(wire.NotPlain):
        wire.loads(text)


def test_the_line_reader_bounds_each_message() -> None:
    r, w = os.pipe()
    try:
        os.write(w, b'{"ok": 1}\n' + b"x" * 5000 + b"\n")
        os.close(w)
        reader = wire.LineReader(r, 1000)
        assert reader.read_message() == {"ok": 1}
        with pytest.raises(wire.LineTooLong):
            reader.read_line()
    finally:
        os.close(r)


# ---------------------------------------------------------------------------------------------------------------
# the judge's side of the protocol, in process, against a scripted child
# ---------------------------------------------------------------------------------------------------------------


def _judge_with(script: list[bytes], tests: str = "assert add(2, 3) == 5\n", close: bool = True) -> dict[str, Any]:
    """Run judge.judge() against a fake child that answers with ``script`` lines (whatever is asked)."""
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()

    def fake_child() -> None:
        for line in script:
            os.read(req_r, 1 << 20)
            os.write(rep_w, line)
        if close:
            os.close(rep_w)

    thread = threading.Thread(target=fake_child, daemon=True)
    thread.start()
    try:
        channel = judge.Channel(req_w, rep_r, 1 << 16)
        return judge.judge({"tests": tests, "prelude": None, "solution": "x"}, channel)
    finally:
        thread.join(timeout=5)
        for fd in (req_r, req_w, rep_r):
            os.close(fd)
        if not close:
            os.close(rep_w)


LOADED = b'{"ok": null}\n'
DESCRIBED = b'{"ok": {"add": "call"}}\n'


@pytest.mark.parametrize(
    ("script", "phase", "detail"),
    [
        ([LOADED, DESCRIBED, b'{"ok": 5}\n'], "tests", "passed"),
        ([LOADED, DESCRIBED, b'{"ok": 4}\n'], "tests", "tests failed: AssertionError at tests.py:1"),
        ([LOADED, DESCRIBED, b'{"ok": {"float": "nan"}}\n'], "tests", "tests failed: AssertionError"),
        ([LOADED, DESCRIBED, b'{"ok": [5]}\n'], "protocol", "add() answered with malformed data"),
        ([LOADED, DESCRIBED, b'{"bad": "add() returned a A, not plain data"}\n'], "protocol", "returned a A"),
        ([LOADED, DESCRIBED, b"garbage\n"], "protocol", "not JSON"),
        ([LOADED, DESCRIBED, b"[1]\n"], "protocol", "not a JSON object"),
        ([LOADED, DESCRIBED, b'{"what": 1}\n'], "protocol", "no known kind"),
        ([LOADED, DESCRIBED, b"x" * 70_000 + b"\n"], "protocol", "longer than"),
        ([LOADED, DESCRIBED], "gone", "the code stopped during the tests at tests.py:1"),
        ([LOADED], "gone", "the code stopped before the tests ran"),
        ([b'{"ok": 1}\n'], "protocol", "answered the load with something else"),
        ([LOADED, b'{"ok": [1]}\n'], "protocol", "answered the names with something else"),
        (
            [b'{"raise": {"type": "NameError", "builtin": true, "message": "x", "where": "solution.py:1: x"}}\n'],
            "solution",
            "the code failed: NameError: x at solution.py:1: x",
        ),
        (
            [LOADED, DESCRIBED, b'{"raise": {"type": "ValueError", "builtin": true, "message": "neg", "where": ""}}\n'],
            "tests",
            "tests failed: ValueError: neg at tests.py:1",
        ),
        (
            [LOADED, DESCRIBED, b'{"raise": {"type": "MyError", "builtin": false, "message": "m", "where": ""}}\n'],
            "tests",
            "tests failed: SolutionError: MyError: m",
        ),
    ],
    ids=[
        "right",
        "wrong",
        "nan",
        "raw-list",
        "not-plain",
        "garbage",
        "not-an-object",
        "unknown-kind",
        "too-long",
        "gone-in-a-call",
        "gone-before",
        "bad-load-answer",
        "bad-names-answer",
        "load-failed",
        "builtin-exception",
        "own-exception",
    ],
)
def test_the_judge_reads_each_answer_strictly(script: list[bytes], phase: str, detail: str) -> None:
    verdict = _judge_with(script)
    assert verdict["phase"] == phase and detail in verdict["detail"], verdict
    assert verdict["passed"] is (detail == "passed")


def test_a_protocol_failure_fails_even_when_the_tests_catch_it() -> None:
    tests = "try:\n    add(2, 3)\nexcept BaseException:\n    pass\n"
    verdict = _judge_with([LOADED, DESCRIBED, b'{"bad": "add() returned a A, not plain data"}\n'], tests)
    assert not verdict["passed"] and "returned a A" in verdict["detail"]


def test_tests_that_do_not_compile_blame_the_task() -> None:
    verdict = _judge_with([], tests="assert (\n")
    assert verdict["phase"] == "task" and "do not compile" in verdict["detail"]


def test_stub_functions_and_loaded_names() -> None:
    prelude = (
        "import math\n\ndef helper(x):\n    return x + 1\n\n"
        "def entry(x):\n    import math\n    '''Doc.'''\n\ndef other(x):\n    ...\n"
    )
    assert judge.stub_functions(prelude) == {"entry", "other"}
    assert judge.stub_functions("def (:") == set()
    tree = judge.ast.parse("def check(c):\n    assert c(1) == len([x for x in y]) and __name__\ncheck(entry)\n")
    assert judge.loaded_names(tree) == {"c", "x", "y", "check", "entry"}


def test_a_solution_function_stands_for_calls_only() -> None:
    proxy = judge.SolutionFunction(judge.Channel(-1, -1, 10), "add")
    assert proxy.__name__ == "add" and "of the solution" in repr(proxy)
    with pytest.raises(TypeError, match="only plain data"):
        proxy(object())


# ---------------------------------------------------------------------------------------------------------------
# the child's side, in process (no confinement: only the request handling)
# ---------------------------------------------------------------------------------------------------------------


def test_the_child_answers_load_describe_and_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    solution = child.Solution()
    source = (
        "import math\nLIMIT = 3\nclass A:\n    pass\ndef add(a, b):\n    return a + b\ndef bad():\n    return A()\n"
    )
    assert solution.handle({"op": "load", "source": source}) == {"ok": None}
    assert (tmp_path / "solution.py").read_text() == source
    described = solution.handle({"op": "describe", "names": ["add", "LIMIT", "math", "A", "nope", "__builtins__"]})
    assert described == {
        "ok": {
            "add": "call",
            "LIMIT": {"value": 3},
            "math": {"module": "math"},
            "A": "call",
            "nope": "missing",
            "__builtins__": "missing",
        }
    }
    assert solution.handle({"op": "call", "name": "add", "args": [2, 3], "kwargs": []}) == {"ok": 5}
    assert solution.handle({"op": "call", "name": "add", "args": [1], "kwargs": [["b", 1]]}) == {"ok": 2}
    assert "not plain data" in solution.handle({"op": "call", "name": "bad", "args": [], "kwargs": []})["bad"]
    raised = solution.handle({"op": "call", "name": "add", "args": [1], "kwargs": []})["raise"]
    assert raised["type"] == "TypeError" and raised["builtin"] is True
    missing = solution.handle({"op": "call", "name": "LIMIT", "args": [], "kwargs": []})["raise"]
    assert missing["type"] == "NameError"
    assert solution.handle({"op": "nope"})["raise"]["type"] == "RuntimeError"


def test_the_child_reports_where_the_solution_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    answer = child.Solution().handle({"op": "load", "source": "x = 1\n\nraise KeyError('k')\n"})
    assert answer["raise"]["where"] == "solution.py:3: raise KeyError('k')"
    assert answer["raise"]["message"] == "'k'"


def test_the_childs_serve_loop_over_pipes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    os.write(req_w, wire.message({"op": "load", "source": "def f():\n    return (1, 'a')\n"}))
    os.write(req_w, wire.message({"op": "call", "name": "f", "args": [], "kwargs": []}))
    os.close(req_w)
    child.Solution().serve(wire.LineReader(req_r, 1 << 20), rep_w)
    os.close(rep_w)
    replies = wire.LineReader(rep_r, 1 << 20)
    assert replies.read_message() == {"ok": None}
    assert wire.from_wire(replies.read_message()["ok"]) == (1, "a")  # type: ignore[index]
    for fd in (req_r, rep_r):
        os.close(fd)


def test_mountinfo_paths_are_unescaped_and_parents_come_first() -> None:
    assert confine._unescape("/a\\040b\\011c\\134d") == "/a b\tc\\d"
    points = confine.mount_points()
    assert points[0] == "/" and points == sorted(points, key=lambda p: (p.count("/"), p))


# ---------------------------------------------------------------------------------------------------------------
# the isolation plan and command lines
# ---------------------------------------------------------------------------------------------------------------


def test_the_mount_plan_hides_homes_temp_and_the_checkout_but_keeps_python_and_the_scripts() -> None:
    plan = isolation.mount_plan("/tmp/greentui-sandbox-x", 1 << 20)
    assert "/tmp" in plan.hide and "/dev/shm" in plan.hide and "/run" in plan.hide
    home = os.path.realpath(Path.home())
    assert home == "/" or any(home == h or home.startswith(h + "/") for h in plan.hide)
    assert not set(plan.hide) & isolation.SYSTEM_DIRS
    # the checkout is hidden: itself, or inside a hidden folder (a clone under /tmp is covered by /tmp's tmpfs)
    repo = os.path.realpath(REPO)
    assert repo in plan.hide or plan.covering(repo) is not None or not str(isolation.SANDBOX_DIR).startswith(repo)
    exe = isolation.interpreter()
    for needed in (exe, str(isolation.SANDBOX_DIR / "child.py")):
        covered = [h for h in plan.hide if needed.startswith(h + "/")]
        kept = [k for k in plan.keep if needed.startswith(k + "/")]
        assert not covered or kept, f"{needed} would be hidden"
    for kind, path in plan.ordered():  # parents first
        assert all(path.count("/") >= p.count("/") for _, p in plan.ordered()[: plan.ordered().index((kind, path))])


def test_bubblewraps_command_line_follows_the_plan(tmp_path: Path) -> None:
    hidden, kept = tmp_path / "home", tmp_path / "home" / "py" / "versions" / "3.11"
    kept.mkdir(parents=True)
    plan = MountPlan((str(hidden), "/tmp"), (str(kept),), "/tmp/sb", 4 << 20)
    root = Isolation("bwrap", tool="/usr/bin/bwrap", as_root=True)
    args = isolation.bwrap_args(root, plan)
    text = " ".join(args)
    assert "--unshare-pid --unshare-net --unshare-ipc --unshare-uts" in text and "--unshare-user" not in args
    assert "--die-with-parent --as-pid-1 --ro-bind / /" in text
    assert f"--perms 0755 --dir {hidden}/py --perms 0755 --dir {hidden}/py/versions --ro-bind {kept} {kept}" in text
    assert "--perms 01777 --size 4194304 --tmpfs /tmp/sb" in text
    assert f"--remount-ro {hidden}" in text and "--remount-ro /tmp" in text and args[-2:] == ["--chdir", "/tmp/sb"]
    assert "--cap-add CAP_SETUID --cap-add CAP_SETGID" in text
    user = isolation.bwrap_args(dataclasses.replace(root, as_root=False), plan)
    assert "--unshare-user" in user and "CAP_SETUID" not in user and "0700" in user


def test_unshares_command_line() -> None:
    root = Isolation("unshare", tool="/usr/bin/unshare", as_root=True)
    assert isolation.unshare_args(root)[1:] == [
        "--pid", "--net", "--mount", "--ipc", "--uts", "--cgroup", "--fork", "--kill-child", "--mount-proc"
    ]  # fmt: skip
    assert isolation.unshare_args(dataclasses.replace(root, as_root=False))[-2:] == ["--user", "--map-root-user"]


@pytest.mark.parametrize(
    ("iso", "starts", "gaps"),
    [
        (Isolation("bwrap", tool_version="bubblewrap 0.8.0", as_root=True, seccomp=True, seccomp_note="lib"), "isolated: user 65534", 0),
        (Isolation("unshare", tool_version="unshare 2.38", seccomp=False, seccomp_note="no lib"), "limited (no lib): your user", 2),
        (Isolation("none", as_root=True, seccomp=True, why_no_namespaces=("bwrap: x", "unshare: y")), "limited (bwrap: x; unshare: y)", 3),
        (Isolation("none", seccomp=False, why_no_namespaces=("z",)), "limited (z): your user", 7),
        (Isolation("none", refusal="nope"), "refused: nope", -1),
    ],
    ids=["isolated", "no-seccomp", "no-namespaces", "neither", "refused"],
)  # fmt: skip
def test_the_description_says_what_holds_and_what_does_not(iso: Isolation, starts: str, gaps: int) -> None:
    assert iso.describe().startswith(starts)
    if gaps >= 0:
        assert len(iso.cannot_stop()) == gaps
    if gaps > 0:
        assert "cannot stop: " in iso.describe() and "cannot stop" not in iso.describe(gaps=False)


def test_an_unknown_forced_backend_is_refused() -> None:
    assert "is not one of bwrap, unshare, none" in (isolation.probe("docker").refusal or "")


# ---------------------------------------------------------------------------------------------------------------
# the seccomp filter
# ---------------------------------------------------------------------------------------------------------------

NAMED_IN_THE_ISSUE = (
    "kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal ptrace process_vm_readv process_vm_writev "
    "mount umount2 setns unshare fork vfork clone clone3 execve"
).split()


def test_the_filter_is_built_from_names_and_covers_the_issues_list() -> None:
    ok, library = seccomp_filter.available()
    if not ok:
        pytest.skip(f"no seccomp here: {library}")
    compiled = seccomp_filter.compile_filter(1, allow_fork=False, allow_unix_sockets=True)
    assert library.startswith("libseccomp ") and "pyseccomp" in library
    assert set(NAMED_IN_THE_ISSUE) <= set(compiled.refused)
    assert len(compiled.bpf) % 8 == 0 and len(compiled.bpf) > 100
    assert "fork" not in seccomp_filter.compile_filter(1, allow_fork=True, allow_unix_sockets=True).refused


SECCOMP_PROBE = r"""
import ctypes, errno, json, os, signal, socket, struct, sys, threading
from pyseccomp import Arch, resolve_syscall
from greentui.core.evaluate.sandbox import confine, seccomp_filter
P = os.getppid()
nr = lambda name: resolve_syscall(Arch.NATIVE, name)
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
info = ctypes.create_string_buffer(struct.pack("iii", 10, 0, -1) + bytes(116))
confine.load_seccomp(seccomp_filter.compile_filter(os.getpid(), allow_fork=False, allow_unix_sockets=False).bpf)
got = []
signal.signal(signal.SIGUSR2, lambda *a: got.append(1))
results = {}
def attempt(name, fn):
    ctypes.set_errno(0)
    try:
        rc = fn()
    except OSError as exc:
        results[name] = errno.errorcode[exc.errno]
        return
    results[name] = errno.errorcode.get(ctypes.get_errno(), "ok") if rc == -1 else "ok"
attempt("kill", lambda: libc.kill(P, 10))
attempt("kill-self", lambda: libc.kill(os.getpid(), signal.SIGUSR2))
attempt("tkill", lambda: libc.syscall(nr("tkill"), P, 10))
attempt("tgkill", lambda: libc.syscall(nr("tgkill"), P, P, 10))
attempt("rt_sigqueueinfo", lambda: libc.syscall(nr("rt_sigqueueinfo"), P, 10, info))
attempt("rt_tgsigqueueinfo", lambda: libc.syscall(nr("rt_tgsigqueueinfo"), P, P, 10, info))
attempt("pidfd_open", lambda: libc.syscall(nr("pidfd_open"), P, 0))
attempt("pidfd_send_signal", lambda: libc.syscall(nr("pidfd_send_signal"), 3, 10, None, 0))
attempt("ptrace", lambda: libc.ptrace(16, P, 0, 0))
attempt("process_vm_readv", lambda: libc.syscall(nr("process_vm_readv"), P, None, 0, None, 0, 0))
attempt("mount", lambda: libc.mount(b"none", b"/mnt", b"tmpfs", 0, None))
attempt("umount2", lambda: libc.umount2(b"/mnt", 0))
attempt("setns", lambda: libc.setns(0, 0))
attempt("unshare", lambda: libc.unshare(0x10000000))
attempt("fork", os.fork)
attempt("clone", lambda: libc.syscall(nr("clone"), 17, 0, 0, 0, 0))
attempt("clone3", lambda: libc.syscall(nr("clone3"), None, 0))
attempt("execve", lambda: os.execv("/bin/true", ["true"]))
attempt("socket", lambda: socket.socket().close())
attempt("setsid", os.setsid)
attempt("setuid", lambda: os.setuid(0))
t = threading.Thread(target=lambda: results.__setitem__("thread", "ok"))
t.start(); t.join()
results["self-signal-arrived"] = bool(got)
print(json.dumps(results))
"""


def test_the_filter_alone_refuses_each_call_against_this_process() -> None:
    ok, library = seccomp_filter.available()
    if not ok:
        pytest.skip(f"no seccomp here: {library}")
    got: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda n, _f: got.append(n))
    try:
        done = subprocess.run(
            [sys.executable, "-c", SECCOMP_PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])},
            check=False,
        )
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    allowed = {"kill-self", "thread", "self-signal-arrived"}
    assert results["clone3"] == "ENOSYS"
    refused = {k: v for k, v in results.items() if k not in allowed | {"clone3"}}
    assert refused == dict.fromkeys(refused, "EPERM")
    assert results["kill-self"] == "ok" and results["thread"] == "ok" and results["self-signal-arrived"] is True
    assert got == []


def test_the_judge_refuses_a_sandbox_that_is_not_as_planned() -> None:
    expect = {"seccomp": True, "not_root": True, "no_capabilities": True}
    good = {"uid": 65534, "seccomp": True, "capabilities": 0}
    assert judge.unexpected(good, expect) == ""
    assert judge.unexpected(good | {"seccomp": False}, expect) == "no seccomp filter"
    assert judge.unexpected(good | {"uid": 0}, expect) == "still root"
    assert judge.unexpected(good | {"capabilities": 0x80}, expect) == "capabilities left (0x80)"
    assert judge.unexpected("hello", expect) == "no facts"
    # run as an ordinary user in a user namespace, uid 0 inside is that user, without capabilities
    assert judge.unexpected(good | {"uid": 0}, expect | {"not_root": False}) == ""
