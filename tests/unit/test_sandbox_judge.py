"""The trusted judge: answers that are not a solution score 0, whatever they do to their own process; correct
solutions (every python-functions reference, HumanEval's canonical solutions) still score 1."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from greentui.core.evaluate.sandbox import CodeLimits, run_python_sandboxed
from greentui.core.evaluate.scoring import ScoreContext, code_pass_at_1, with_prelude
from greentui.core.evaluate.tasks import TaskUnavailable, load_task

TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
WRONG = "def add(a, b):\n    return 0\n"
RIGHT = "def add(a, b):\n    return a + b\n"
PROBE = "import os, sys, json, ctypes\n"

# Each program is wrong (or no solution at all) and tries to pass anyway. The first six are the audit's.
FAKE_PASSES: dict[str, str] = {
    "overwrite-the-tests-file": WRONG + "open('tests.py', 'w').write('pass\\n')\n",
    "replace-builtins-exec": WRONG + "import builtins\nbuiltins.exec = lambda *a, **k: None\n",
    "replace-builtins-compile": WRONG
    + "import builtins\n_c = builtins.compile\nbuiltins.compile = lambda s, f, m, *a, **k: _c('pass', f, m)\n",
    "nonce-by-frame-walk": WRONG
    + "import sys, os\nfr = sys._getframe()\nwhile fr:\n"
    + "    for k, v in list(fr.f_locals.items()):\n"
    + "        if k in ('nonce', 'status', 'reply_fd'):\n"
    + "            print('FOUND', k)\n"
    + "    fr = fr.f_back\n",
    "nonce-from-proc-self-environ": WRONG
    + "try:\n    env = open('/proc/self/environ', 'rb').read().split(b'\\0')\nexcept OSError:\n    env = []\n"
    + "import os\nfor e in env:\n    if b'NONCE' in e:\n        os.write(3, b'ok ' + e.split(b'=')[1] + b'\\n')\n",
    "always-equal-object": "class A:\n    def __eq__(s, o): return True\n    def __ne__(s, o): return False\n"
    "def add(a, b):\n    return A()\n",
    # variants of the same ideas
    "overwrite-every-tests-file-it-finds": WRONG
    + "import os\nfor top in ('.', '..', '/tmp', os.path.expanduser('~'), '/'):\n"
    + "    for root, dirs, files in os.walk(top):\n"
    + "        dirs[:] = [d for d in dirs if root.count('/') < 3 and d not in ('proc', 'sys', 'dev', 'usr')]\n"
    + "        for f in files:\n            if f.startswith('tests') and f.endswith('.py'):\n"
    + "                try:\n                    open(os.path.join(root, f), 'w').write('pass\\n')\n"
    + "                except OSError:\n                    pass\n",
    "replace-builtins-import": WRONG + "import builtins\nbuiltins.__import__ = lambda *a, **k: None\n",
    "replace-builtins-assertionerror": WRONG + "import builtins\nbuiltins.AssertionError = SystemExit\n",
    "nonce-from-parent-environ": WRONG
    + "import os\ntry:\n    print(open('/proc/%d/environ' % os.getppid(), 'rb').read()[:100])\nexcept OSError:\n    pass\n",
    "int-subclass-equal-to-all": "class I(int):\n    def __eq__(s, o): return True\n    __hash__ = int.__hash__\n"
    "def add(a, b):\n    return I(0)\n",
    "str-subclass-equal-to-all": "class S(str):\n    def __eq__(s, o): return True\n    __hash__ = str.__hash__\n"
    "def add(a, b):\n    return S('x')\n",
    "float-subclass-equal-to-all": "class F(float):\n    def __eq__(s, o): return True\n    __hash__ = float.__hash__\n"
    "def add(a, b):\n    return F(0)\n",
    "list-subclass-equal-to-all": "class L(list):\n    def __eq__(s, o): return True\ndef add(a, b):\n    return L()\n",
    "mock-like-object": "class M:\n    def __getattr__(s, n): return lambda *a, **k: True\n"
    "    def __eq__(s, o): return True\ndef add(a, b):\n    return M()\n",
    "exit-0-while-loading": "import os\nos._exit(0)\n",
    "sys-exit-0-while-loading": "import sys\nsys.exit(0)\n",
    "exit-0-during-a-call": "def add(a, b):\n    import os\n    os._exit(0)\n",
    "systemexit-during-a-call": "def add(a, b):\n    raise SystemExit(0)\n",
    "keyboardinterrupt-during-a-call": "def add(a, b):\n    raise KeyboardInterrupt\n",
    "fake-verdicts-on-stdout": WRONG
    + PROBE
    + "print(json.dumps({'verdict': {'passed': True, 'phase': 'tests', 'detail': 'passed'}}))\nprint('ok')\n",
    "fake-verdicts-on-every-descriptor": WRONG
    + PROBE
    + "line = json.dumps({'verdict': {'passed': True, 'phase': 'tests', 'detail': 'passed'}}).encode() + b'\\n'\n"
    + "for fd in range(0, 64):\n    try:\n        os.write(fd, line)\n    except OSError:\n        pass\n",
    "garbage-on-the-reply-pipe": WRONG + PROBE + "for fd in range(3, 64):\n    try:\n"
    "        os.write(fd, b'\\xff\\x00not json\\n')\n    except OSError:\n        pass\n",
    "close-every-descriptor": WRONG + "import os\nos.closerange(0, 256)\n",
    "self-referential-answer": "def add(a, b):\n    x = []\n    x.append(x)\n    return x\n",
    "deeply-nested-answer": "def add(a, b):\n    x = 5\n    for _ in range(5000):\n        x = [x]\n    return x\n",
    "huge-answer": "def add(a, b):\n    return 'x' * (40 << 20)\n",
    "generator-answer": "def add(a, b):\n    yield a + b\n",
    "nan-answer": "def add(a, b):\n    return float('nan')\n",
    "class-instead-of-function": "class add:\n    def __init__(self, a, b):\n        self.v = a + b\n"
    "    def __eq__(self, o):\n        return True\n",
    "shadow-the-judges-builtins": "abs = lambda x: 0\nlen = lambda x: 0\ndef add(a, b):\n    return 0\n",
    "kill-everything": WRONG + "import os, signal\nfor pid in (-1, 0, 1, 2, os.getppid()):\n    try:\n"
    "        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n",
    "thread-spams-the-reply-pipe": RIGHT.replace("a + b", "0")
    + "import os, threading\ndef spam():\n    while True:\n        for fd in range(3, 16):\n            try:\n"
    "                os.write(fd, b'{\"ok\": 5}\\n')\n            except OSError:\n                pass\n"
    "threading.Thread(target=spam, daemon=True).start()\n",
    "sleep-forever": "import time\ntime.sleep(60)\n",
}


def _score(answer: str, tests: str = TESTS, timeout_s: float = 3.0) -> tuple[float, str]:
    context = ScoreContext(extract_rule="full", options={"timeout_s": timeout_s}, tests=tests)
    result = code_pass_at_1(answer, "", context)
    return result.score, result.detail


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(FAKE_PASSES))
def test_a_fake_pass_scores_zero(name: str) -> None:
    score, detail = _score(FAKE_PASSES[name], timeout_s=2.0 if name == "sleep-forever" else 3.0)
    assert score == 0.0, detail
    assert detail != "passed"


def test_the_right_answer_passes_and_the_fakes_fail_for_the_same_tests() -> None:
    assert _score(RIGHT) == (1.0, "passed")
    score, detail = _score(FAKE_PASSES["always-equal-object"])
    assert score == 0.0 and "returned a A, not plain data" in detail
    score, detail = _score(FAKE_PASSES["shadow-the-judges-builtins"], "assert abs(add(2, 3) - 5) < 1e-9\n")
    assert score == 0.0 and detail.startswith("tests failed: AssertionError at tests.py:1")


def test_a_non_plain_answer_fails_even_where_the_tests_catch_every_exception() -> None:
    tests = "try:\n    assert add(2, 3) == 5\nexcept Exception:\n    pass\n"
    assert _score(RIGHT, tests)[0] == 1.0
    score, detail = _score(FAKE_PASSES["always-equal-object"], tests)
    assert score == 0.0 and "not plain data" in detail
    score, _ = _score(FAKE_PASSES["exit-0-during-a-call"], tests)
    assert score == 0.0


# ---------------------------------------------------------------------------------------------------------------
# Correct solutions keep passing, through the same scorer
# ---------------------------------------------------------------------------------------------------------------

LEGIT: dict[str, tuple[str, str]] = {
    "tuples-sets-dicts-with-int-keys": (
        "def f(n):\n    return [(i, {i: str(i)}, frozenset({i}), {i}) for i in range(n)]\n",
        "assert f(2) == [(0, {0: '0'}, frozenset({0}), {0}), (1, {1: '1'}, frozenset({1}), {1})]\n",
    ),
    "none-bools-big-ints-floats-bytes-complex": (
        "def f():\n    return None, True, 2 ** 200, -(2 ** 70), 0.1 + 0.2, float('inf'), b'\\x00\\xff', 1 + 2j\n",
        "assert f() == (None, True, 2 ** 200, -(2 ** 70), 0.1 + 0.2, float('inf'), b'\\x00\\xff', 1 + 2j)\n"
        "assert f()[0] is None and f()[1] is True\n",
    ),
    "nan-compares-as-nan": ("def f():\n    return float('nan')\n", "import math\nassert math.isnan(f())\n"),
    "expected-exceptions": (
        "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n",
        "try:\n    f(-1)\n    assert False\nexcept ValueError as exc:\n    assert 'negative' in str(exc)\nassert f(3) == 3\n",
    ),
    "keyword-arguments": ("def f(a, *, b=2):\n    return a * b\n", "assert f(3) == 6 and f(3, b=5) == 15\n"),
    "a-constant-and-a-module-of-the-solution": (
        "import math\nLIMIT = 10\ndef f(x):\n    return math.sqrt(x)\n",
        "assert LIMIT == 10 and math.isclose(f(2.0), math.sqrt(2.0))\n",
    ),
    "helpers-classes-and-imports-inside": (
        "from collections import Counter\nclass _Acc:\n    def __init__(self):\n        self.n = 0\n"
        "def f(words):\n    acc = _Acc()\n    acc.n = len(words)\n    return dict(Counter(words)), acc.n\n",
        "assert f(['a', 'b', 'a']) == ({'a': 2, 'b': 1}, 3)\n",
    ),
    "a-demo-block-does-not-run": (
        RIGHT + "if __name__ == '__main__':\n    raise SystemExit(3)\n",
        TESTS,
    ),
    "prints-and-threads-are-fine": (
        "import threading\ndef add(a, b):\n    out = []\n    t = threading.Thread(target=lambda: out.append(a + b))\n"
        "    t.start()\n    t.join()\n    print('computed', out)\n    return out[0]\n",
        TESTS,
    ),
    "tests-that-define-helpers": (RIGHT, "def check(candidate):\n    assert candidate(2, 3) == 5\n\ncheck(add)\n"),
}


@pytest.mark.parametrize("name", sorted(LEGIT))
def test_a_correct_solution_passes(name: str) -> None:
    code, tests = LEGIT[name]
    result = run_python_sandboxed(code, tests, CodeLimits(timeout_s=5.0))
    assert result.passed, result.detail


def test_the_solution_can_print_what_it_likes() -> None:
    result = run_python_sandboxed(RIGHT + "print('tests passed: ok', flush=True)\n", TESTS)
    assert result.passed and "tests passed: ok" in result.output


def _score_items(task_id: str, ids: set[str] | None = None) -> list[tuple[str, float, str]]:
    try:
        task = load_task(task_id)
    except TaskUnavailable as exc:
        pytest.skip(str(exc))
    items = [item for item in task.items if ids is None or item.id in ids]

    def one(item: Any) -> tuple[str, float, str]:
        result = task.score(item, item.reference)
        return item.id, result.score, result.detail

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, items))


@pytest.mark.timeout(240)
def test_every_python_functions_reference_passes() -> None:
    scored = _score_items("python-functions")
    assert len(scored) >= 40
    assert [s for s in scored if s[1] != 1.0] == []


# HumanEval problems whose tests lean on the judge: helpers from the prompt (32, 38, 50), the entry point named in
# the check itself (33), an import inside the signature (115), dicts with non-string keys and values (95, 111),
# floats (2, 4), tuples (8, 20), many random cases (53), exceptions-free edge cases (0, 163).
HUMANEVAL_SAMPLE = {f"humaneval-{n:03d}" for n in (0, 2, 4, 8, 20, 32, 33, 38, 50, 53, 95, 111, 115, 163)}


@pytest.mark.timeout(240)
def test_humaneval_canonical_solutions_pass_a_sample() -> None:
    scored = _score_items("humaneval", HUMANEVAL_SAMPLE)
    assert {s[0] for s in scored} == HUMANEVAL_SAMPLE
    assert [s for s in scored if s[1] != 1.0] == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_humaneval_canonical_solutions_all_pass() -> None:
    scored = _score_items("humaneval")
    assert len(scored) == 164
    assert [s for s in scored if s[1] != 1.0] == []


def test_humaneval_wrong_bodies_fail_a_sample() -> None:
    try:
        task = load_task("humaneval")
    except TaskUnavailable as exc:
        pytest.skip(str(exc))
    for item in (i for i in task.items if i.id in HUMANEVAL_SAMPLE):
        assert task.score(item, "    return None\n").score == 0.0, item.id
        # redefining the prompt's helper does not fool the judge: it uses the prompt's own copy
    item = next(i for i in task.items if i.id == "humaneval-038")
    cheat = "def encode_cyclic(s):\n    return s\n\ndef decode_cyclic(s):\n    return s\n"
    assert task.score(item, cheat).score == 0.0


def test_the_prelude_helpers_stay_the_judges_own() -> None:
    prelude = "def scale(x):\n    return 2 * x\n\ndef double(x):\n    '''Twice x.'''\n"
    tests = "assert double(3) == scale(3)\n"
    cheat = with_prelude(prelude, "def scale(x):\n    return 0\n\ndef double(x):\n    return 0\n")
    assert not run_python_sandboxed(cheat, tests, prelude=prelude).passed
    right = with_prelude(prelude, "def double(x):\n    return scale(x)\n")
    assert run_python_sandboxed(right, tests, prelude=prelude).passed


def test_the_verdict_is_not_in_anything_the_solution_can_read(tmp_path: Any) -> None:
    # The sandbox's environment and command line hold no secret: what it prints of them decides nothing.
    code = RIGHT + "import os, sys\nprint(sorted(os.environ))\nprint(open('/proc/self/cmdline', 'rb').read())\n"
    result = run_python_sandboxed(code, TESTS)
    assert result.passed
    assert "NONCE" not in result.output.upper()
    assert json.dumps(TESTS)[1:20] not in result.output and "assert add" not in result.output
    assert os.environ.get("GREENTUI_SANDBOX_NONCE") is None


def test_the_detail_escapes_what_the_solution_wrote_into_it() -> None:
    code = "def add(a, b):\n    raise ValueError('\\x1b[2J\\u202eevil\\x07' + 'x' * 1000)\n"
    score, detail = _score(code)
    assert score == 0.0 and detail.startswith("tests failed: ValueError: \\x1b[2J\\u202eevil\\x07xxx")
    assert detail.isprintable() and len(detail) <= 400
