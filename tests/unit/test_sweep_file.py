"""Sweep files: checked with file:line messages, expanded into head-to-head sessions keyed by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from greentui.core.run.sweep import SweepError, content_key, expand, load_sweep, parse_sweep

ISSUE_EXAMPLE = """\
name = "small-vs-today"
reference = "qwen2.5-1.5b@bf16"
candidates = ["qwen2.5-0.5b", "qwen2.5-1.5b@nf4", "smollm2-1.7b"]
tasks = ["arithmetic", "sentiment"]
limit = 200                 # and the other per-session options
schedule = "sequential"
country = "FRA"
seed = 7
"""


def identity(task: str, scorer: str | None) -> tuple[str, str]:
    return Path(task).name, f"v-{Path(task).name}"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


def test_the_issue_example_expands_into_candidate_vs_reference_per_task() -> None:
    sweep = parse_sweep(ISSUE_EXAMPLE)
    assert sweep.reference == "qwen2.5-1.5b@bf16"
    assert dict(sweep.options) == {"limit": 200, "schedule": "sequential", "country": "FRA", "seed": 7}
    planned = expand(sweep, task_identity=identity)
    assert [(p.task_id, p.candidate) for p in planned] == [
        (task, candidate)
        for task in ("arithmetic", "sentiment")
        for candidate in ("qwen2.5-0.5b", "qwen2.5-1.5b@nf4", "smollm2-1.7b")
    ]
    first = planned[0].config
    assert (first.model_a, first.model_b, first.task) == ("qwen2.5-1.5b@bf16", "qwen2.5-0.5b", "arithmetic")
    assert (first.limit, first.schedule, first.country, first.seed) == (200, "sequential", "FRA", 7)
    assert first.sweep_id == "small-vs-today" and first.sweep_key == planned[0].key
    assert len({p.key for p in planned}) == 6


def test_real_tasks_are_identified_by_their_files() -> None:
    planned = expand(parse_sweep(ISSUE_EXAMPLE))
    assert planned[0].task_id == "arithmetic" and len(planned[0].task_version) >= 32


def test_keys_follow_what_determines_the_figures() -> None:
    base = expand(parse_sweep(ISSUE_EXAMPLE), task_identity=identity)
    again = expand(parse_sweep(ISSUE_EXAMPLE), task_identity=identity)
    assert [p.key for p in base] == [p.key for p in again]
    more_items = expand(parse_sweep(ISSUE_EXAMPLE.replace("limit = 200", "limit = 300")), task_identity=identity)
    assert not {p.key for p in base} & {p.key for p in more_items}
    patient = expand(parse_sweep(ISSUE_EXAMPLE + "load_timeout_s = 5000\n"), task_identity=identity)
    assert [p.key for p in patient] == [p.key for p in base]  # a timeout does not change what is measured
    assert patient[0].config.load_timeout_s == 5000.0
    renamed = parse_sweep(ISSUE_EXAMPLE.replace('"small-vs-today"', '"other"'))
    assert [p.key for p in expand(renamed, task_identity=identity)] == [p.key for p in base]
    changed_task = expand(parse_sweep(ISSUE_EXAMPLE), task_identity=lambda t, s: (t, "v-changed"))
    assert not {p.key for p in base} & {p.key for p in changed_task}


def test_an_option_at_its_default_does_not_change_the_key() -> None:
    plain = content_key("a", "b", "t", "v", {})
    assert content_key("a", "b", "t", "v", {"schedule": "alternate", "pue": 1.0}) == plain
    assert content_key("a", "b", "t", "v", {"pue": 1.2}) != plain


def test_precisions_multiply_the_candidates_without_their_own_options() -> None:
    sweep = parse_sweep(
        'name = "p"\nreference = "smollm2-135m@fp32"\ncandidates = ["smollm2-360m", "smollm2-135m@bf16"]\n'
        'precisions = ["fp32", "nf4"]\ntasks = ["arithmetic"]\n'
    )
    assert sweep.candidates == ("smollm2-360m@fp32", "smollm2-360m@nf4", "smollm2-135m@bf16")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = ["fake:b"]\ntasks = ["arithmetic"]\nlimt = 5\n', 5,
         "unknown key 'limt'"),
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = ["fake:b"]\ntasks = ["arithmetic"]\nlimit = "5"\n', 5,
         "limit must be a whole number"),
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = ["fake:b"]\ntasks = ["arithmetic"]\nlimit = 0\n', 5,
         "limit must be at least 1"),
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = [\n  "fake:b",\n  "smollm2-135m@zz9",\n]\n'
         'tasks = ["arithmetic"]\n', 5, "candidate 'smollm2-135m@zz9'"),
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = ["smollm2-135m"]\ntasks = ["arithmetic"]\n', 3,
         "is the reference itself"),
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = ["fake:b", "fake:b"]\ntasks = ["arithmetic"]\n', 3,
         "listed twice"),
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = ["fake:b"]\n', 1, "missing field 'tasks'"),
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = ["fake:b"]\ntasks = ["arithmetic"]\n'
         'schedule = "random"\n', 5, "schedule must be one of"),
        ('name = "has space"\nreference = "smollm2-135m"\ncandidates = ["fake:b"]\ntasks = ["a"]\n', 1,
         "name must be"),
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = ["fake:b"\ntasks = ["a"]\n', 4, "TOML syntax error"),
        ('name = "x"\nreference = "smollm2-135m"\ncandidates = ["fake:b"]\ntasks = ["a"]\nidle_s = true\n', 5,
         "idle_s must be a number"),
    ],
)  # fmt: skip
def test_mistakes_are_reported_with_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SweepError) as caught:
        load_sweep(path)
    assert str(caught.value).startswith(f"{path}:{line}: "), str(caught.value)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unknown_task_names_the_tasks_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "x"\nreference = "fake:a"\ncandidates = ["fake:b"]\n\ntasks = ["no-such-task"]\n')
    with pytest.raises(SweepError, match=rf"^{path}:5: task 'no-such-task': unknown task"):
        expand(load_sweep(path))


def test_a_task_folder_is_read_relative_to_the_sweep_file(tmp_path: Path) -> None:
    builtin = Path(__file__).parents[2] / "tasks" / "arithmetic"
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("task.toml", "items.jsonl"):
        (mine / name).write_text((builtin / name).read_text().replace('id = "arithmetic"', 'id = "mine"'))
    path = write(tmp_path, 'name = "x"\nreference = "fake:a"\ncandidates = ["fake:b"]\ntasks = ["./mine"]\n')
    planned = expand(load_sweep(path))
    assert planned[0].task_id == "mine" and Path(planned[0].config.task) == tmp_path / "mine"


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match="no such sweep file"):
        load_sweep(tmp_path / "nope.toml")


HEAD = 'name = "x"\nreference = "fake:a"\ncandidates = ["fake:b"]\ntasks = ["arithmetic"]\n'


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("sample_hz = -3", "sample_hz must be more than 0 (the power sampling rate in Hz), not -3"),
        ("sample_hz = 0", "sample_hz must be more than 0"),
        ("sample_hz = nan", "sample_hz must be a finite number"),
        ("idle_s = -1", "idle_s must be at least 0"),
        ("pue = 0.2", "pue must be at least 1 (facility energy / IT energy), not 0.2"),
        ("max_new_tokens = 0", "max_new_tokens must be at least 1"),
        ("grid_intensity = -5", "grid_intensity must be at least 0"),
        ("item_timeout_s = 0", "item_timeout_s must be more than 0"),
        ("requests_per_day = inf", "requests_per_day must be a finite number"),
        ('power_source = "bogus"', "power_source must be one of auto, nvml, rapl, estimate or replay:FILE"),
        ('power_source = "replay:"', "power_source replay: needs a file"),
        ('country = "France"', "country must be an ISO 3166 alpha-3 code"),
        ('country = "ZZZ"', "country 'ZZZ' is not in codecarbon's grid data"),
    ],
)
def test_options_out_of_range_are_refused_as_greentui_run_refuses_them(
    tmp_path: Path, option: str, message: str
) -> None:
    path = write(tmp_path, HEAD + "limit = 2\n" + option + "\n")
    with pytest.raises(SweepError) as caught:
        load_sweep(path)
    assert str(caught.value).startswith(f"{path}:6: "), str(caught.value)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_options_in_range_are_kept() -> None:
    text = HEAD + 'sample_hz = 20\nidle_s = 0\npue = 1.0\nmax_new_tokens = 1\npower_source = "replay:t.csv"\n'
    sweep = parse_sweep(text + 'country = "fra"\ngrid_intensity = 0\n')
    assert sweep.options["sample_hz"] == 20.0 and sweep.options["power_source"] == "replay:t.csv"
    assert sweep.options["country"] == "fra"
