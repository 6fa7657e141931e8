"""Bad input on the command line: one line naming what is wrong (and the file and line), and the documented exit
status (2 for usage errors, 1 for runtime failures), before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greentui import cli

FAKE = "fake:oracle?tps=400&tokens=4"
RUN = ["run", "--model-a", FAKE, "--model-b", FAKE, "--headless", "--idle-seconds", "0"]


def main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own exit
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    task = tmp_path / "task"
    task.mkdir()
    (task / "task.toml").write_text(
        'id = "t"\nname = "T"\ndescription = "d"\ncategory = "nlp"\nscorer = "exact"\nmetric = "accuracy"\n'
        'baseline = 0.0\nmax_new_tokens = 8\n[prompt]\nuser = "{text}"\n',
        encoding="utf-8",
    )
    lines = [json.dumps({"id": f"i{n}", "input": {"text": f"q{n}"}, "reference": "a"}) for n in range(5)]
    (task / "items.jsonl").write_bytes(
        ("\n".join(lines[:3]) + "\n").encode() + b'{"id": "i3", "input": {"text": "caf\xe9"}}\n'
    )
    bad_toml = tmp_path / "badtoml"
    bad_toml.mkdir()
    (bad_toml / "task.toml").write_bytes(b'id = "t"\nname = "\xff\xfe"\n')
    (bad_toml / "items.jsonl").write_text(lines[0] + "\n", encoding="utf-8")
    quick = tmp_path / "quick.jsonl"
    quick.write_bytes(b"\n".join(line.encode() for line in lines[:4]) + b"\n\x80\n")
    trace = tmp_path / "trace.csv"
    trace.write_bytes(b"t_s,power_w\n0,10\n1,10\n2,1\xb0\n")
    jtrace = tmp_path / "trace.jsonl"
    jtrace.write_bytes(b'{"t_s": 0, "power_w": 1}\n{"t_s": 1, "power_w": "\xc3("}\n')
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    return {"task": task, "badtoml": bad_toml, "quick": quick, "trace": trace, "jtrace": jtrace, "bom": bom}


# (arguments, exit status, what the one line must say); "{task}" and the like name the files above
CASES = [
    (["--limit", "0"], 2, "--limit: must be at least 1, not 0"),
    (["--limit", "-3"], 2, "--limit: must be at least 1, not -3"),
    (["--limit", "two"], 2, "--limit: expected a whole number, not 'two'"),
    (["--max-new-tokens", "0"], 2, "--max-new-tokens: must be at least 1, not 0"),
    (["--max-new-tokens", "-1"], 2, "--max-new-tokens: must be at least 1, not -1"),
    (["--max-new-tokens", "1.5"], 2, "--max-new-tokens: expected a whole number"),
    (["--pue", "0.5"], 2, "--pue: must be at least 1"),
    (["--pue", "nan"], 2, "--pue: must be at least 1"),
    (["--pue", "inf"], 2, "--pue: must be at least 1"),
    (["--grid-intensity", "-1"], 2, "--grid-intensity: must be at least 0"),
    (["--sample-hz", "0"], 2, "--sample-hz: must be more than 0"),
    (["--sample-hz", "-5"], 2, "--sample-hz: must be more than 0"),
    (["--idle-seconds", "-1"], 2, "--idle-seconds: must be at least 0"),
    (["--load-timeout", "0"], 2, "--load-timeout: must be more than 0"),
    (["--training-emissions-g", "-2"], 2, "--training-emissions-g: must be at least 0"),
    (["--amortize-answers", "0"], 2, "--amortize-answers: must be more than 0"),
    (["--requests-per-day", "-1"], 2, "--requests-per-day: must be more than 0"),
    (["--schedule", "random"], 2, "--schedule: invalid choice"),
    (["--no-such-option"], 2, "unrecognized arguments: --no-such-option"),
    (["--task", "no-such-task"], 2, "unknown task 'no-such-task'"),
    (["--task", "{task}"], 2, "{task}/items.jsonl:4: not UTF-8 text (byte 0xe9 at column 36)"),
    (["--task", "{badtoml}"], 2, "{badtoml}/task.toml:2: not UTF-8 text (byte 0xff at column 9)"),
    (["--task", "{quick}", "--scorer", "exact"], 2, "{quick}:5: not UTF-8 text (byte 0x80 at column 1)"),
    (["--power-source", "replay:{trace}"], 2, "{trace}:4: not UTF-8 text (byte 0xb0 at column 4)"),
    (["--power-source", "replay:{jtrace}"], 2, "{jtrace}:2: not UTF-8 text (byte 0xc3 at column 24)"),
    (["--power-source", "replay:/no/such/trace.csv"], 2, "/no/such/trace.csv"),
    (["--power-source", "bogus"], 2, "bogus"),
]


@pytest.mark.parametrize(("args", "code", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_run_input_is_one_line_with_the_documented_status(
    args: list[str], code: int, message: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {key: str(path) for key, path in files.items()}
    argv = ["--db", str(tmp_path / "g.db"), *RUN, *[a.format(**names) for a in args]]
    if "--task" not in args:
        argv += ["--task", "arithmetic", "--limit", "1"] if "--limit" not in args else ["--task", "arithmetic"]
    got, err = main(argv, capsys)
    assert got == code, err
    assert err.count("\n") == 1, err
    assert message.format(**names) in err
    assert "Traceback" not in err and "UnicodeDecodeError" not in err


def test_a_byte_order_mark_is_accepted(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from greentui.core.evaluate.tasks import load_task

    task = load_task(str(files["bom"]), scorer="exact")
    assert [item.id for item in task.items][:2] == ["i0", "i1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sessions", "--limit", "0"], "--limit: must be at least 1"),
        (["sessions", "--since", "yesterday"], "--since 'yesterday': expected a date as YYYY-MM-DD"),
        (["demo", "--limit", "0", "--headless"], "--limit: must be at least 1"),
        (["export", "nope", "--format", "xlsx"], "--format: invalid choice"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_other_usage_errors_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = main(["--db", str(tmp_path / "g.db"), *argv], capsys)
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["run", "--help"], ["resume", "--help"]):
        with pytest.raises(SystemExit) as done:
            cli.main(argv)
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert "exit status:" in out and "2    usage error" in out and "1    the work failed" in out
        assert "143 with SIGTERM" in out and "129 with SIGHUP" in out


def test_a_database_that_is_not_ours_is_a_runtime_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("not a database\n")
    code, err = main(["--db", str(db), *RUN, "--task", "arithmetic", "--limit", "1"], capsys)
    assert code == 1 and "is not a greentui database" in err and err.count("\n") == 1
