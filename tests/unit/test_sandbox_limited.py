"""The sandbox without namespaces ("limited"): it still runs, still judges honestly, and says what it cannot stop.

Forced with the ``none`` backend. Run as root, the limited sandbox hands the child to user nobody, so that user
must be able to run the interpreter; where greentui's own interpreter lives in root's home (as on the machines
these tests were written on), a system Python is used for the child and the judge instead (both need only the
standard library), and the tests skip with the reason where there is none.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from greentui.core.evaluate.sandbox import CodeLimits, isolation, run_python_sandboxed
from greentui.core.evaluate.sandbox.isolation import SANDBOX_UID, Isolation
from greentui.text.doctor import sandbox_lines

TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
RIGHT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return 0\n"


def _usable_by_the_sandbox_user(python: str) -> bool:
    if not os.path.isfile(python):
        return False
    probe = "import sys, json, ctypes, ast, resource, linecache; print(sys.version_info >= (3, 10))"
    kwargs: dict[str, object] = {}
    if os.geteuid() == 0:
        kwargs = {"user": SANDBOX_UID, "group": SANDBOX_UID, "extra_groups": []}
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-c", probe], capture_output=True, text=True, timeout=30, cwd="/", **kwargs
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.strip() == "True"


@pytest.fixture(scope="module")
def limited() -> Iterator[Isolation]:
    candidates = [isolation.interpreter(), "/usr/bin/python3", "/usr/local/bin/python3", "/usr/bin/python3.11"]
    python = next((c for c in candidates if _usable_by_the_sandbox_user(c)), None)
    if python is None:
        pytest.skip(f"no Python here that user {SANDBOX_UID} may run: the limited sandbox refuses, as it must")
    mp = pytest.MonkeyPatch()
    mp.setattr(isolation, "interpreter", lambda: python)
    iso = isolation.probe("none")  # with an interpreter nobody may run, it does not refuse
    assert iso.backend == "none" and iso.refusal is None, iso.describe()
    yield iso
    mp.undo()


def _run(iso: Isolation, code: str, tests: str = TESTS, **limits: object) -> tuple[bool, str, str]:
    result = run_python_sandboxed(code, tests, CodeLimits(timeout_s=5.0, **limits), isolation=iso)  # type: ignore[arg-type]
    return result.passed, result.detail, result.output


def test_it_says_limited_and_what_it_cannot_stop(limited: Isolation) -> None:
    text = limited.describe()
    assert text.startswith("limited (namespaces not used: GREENTUI_SANDBOX_BACKEND=none)")
    assert "cannot stop: " in text and "seeing other processes" in text
    if limited.seccomp:
        assert "connecting to the network" not in text  # the filter refuses sockets
    console = Console(record=True, width=200, color_system=None)
    for line in sandbox_lines(limited):
        console.print(line)
    shown = console.export_text()
    assert "Code sandbox: limited" in shown and "cannot stop: seeing other processes" in shown


def test_it_still_judges_correct_and_wrong_code(limited: Isolation) -> None:
    assert _run(limited, RIGHT)[0]
    passed, detail, _ = _run(limited, WRONG)
    assert not passed and detail.startswith("tests failed: AssertionError at tests.py:1")


@pytest.mark.parametrize(
    "code",
    [
        WRONG + "open('tests.py', 'w').write('pass\\n')\n",
        WRONG + "import builtins\nbuiltins.exec = lambda *a, **k: None\n",
        "class A:\n    def __eq__(s, o): return True\ndef add(a, b):\n    return A()\n",
        WRONG + "import os\nprint(os.environ)\n",
        "import os\nos._exit(0)\n",
    ],
    ids=["overwrite-tests", "replace-exec", "always-equal", "read-environ", "exit-0"],
)
def test_fake_passes_still_fail(limited: Isolation, code: str) -> None:
    assert not _run(limited, code)[0]


def test_the_child_is_nobody_and_greentui_is_out_of_its_reach(limited: Isolation, tmp_path: Path) -> None:
    got: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda n, _f: got.append(n))
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    home_marker = Path.home() / f"greentui-limited-{os.getpid()}"
    as_root = os.geteuid() == 0  # as an ordinary user, the limited sandbox is that user: the home is its own
    code = (
        "import os, socket, ctypes\n"
        "print('uid', os.getuid())\n"
        f"for what, fn in [('kill', lambda: os.kill({os.getpid()}, 10)),\n"
        f"                 ('tcp', lambda: socket.create_connection(('127.0.0.1', {port}), timeout=1)),\n"
        f"                 ('write', lambda: open({str(home_marker) if as_root else '/proc/1/mem'!r}, 'w'))]:\n"
        "    try:\n        fn()\n        print('ESCAPED', what)\n"
        "    except OSError as exc:\n        print('held', what, exc)\n" + RIGHT
    )
    try:
        passed, detail, output = _run(limited, code)
        with pytest.raises(OSError):
            server.accept()
    finally:
        signal.signal(signal.SIGUSR1, previous)
        server.close()
    assert passed, detail
    assert "ESCAPED" not in output and output.count("held") == 3
    if os.geteuid() == 0:
        assert f"uid {SANDBOX_UID}" in output
    assert got == [] and not home_marker.exists()


@pytest.mark.timeout(60)
def test_strays_are_found_by_their_marker_and_killed(limited: Isolation) -> None:
    name = f"gtlim{os.getpid() % 100000}"
    code = (
        "import ctypes, os, time\n"
        "for i in range(6):\n"
        "    if os.fork() == 0:\n"
        f"        ctypes.CDLL(None).prctl(15, {name.encode()!r}, 0, 0, 0)\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n" + RIGHT
    )
    passed, detail, _ = _run(limited, code, max_processes=16)
    assert passed, detail
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    alive += [entry.name] if state != "Z" else []
            except OSError:
                pass
    assert alive == []


def test_no_scratch_folder_is_left_behind(limited: Isolation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    os.chmod(tmp_path, 0o755)
    _run(limited, RIGHT + "open('x', 'w').write('x')\n")
    assert [p for p in os.listdir(tmp_path) if p.startswith("greentui-sandbox-")] == []
    assert sys.platform.startswith("linux")
