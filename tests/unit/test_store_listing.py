"""The paged session list: pages that add up to the whole list, filters and the search box in SQL, counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from greentui.store import SessionStore, StoreError
from greentui.store.listing import SORT_SQL, parse_search
from tests.helpers.many_sessions import VERDICT_SENTENCE, fill_many

N = 300


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> SessionStore:
    store = SessionStore(Path(tmp_path_factory.mktemp("listing")) / "many.db")
    fill_many(store, N)
    return store


def test_pages_add_up_to_the_whole_list_in_the_same_order(many: SessionStore) -> None:
    whole = many.list_sessions()
    assert len(whole) == N == many.count_sessions()
    starts = [s.started_unix_s for s in whole]
    assert starts == sorted(starts, reverse=True)  # newest first
    paged = [s for offset in range(0, N, 70) for s in many.list_sessions(limit=70, offset=offset)]
    assert [s.id for s in paged] == [s.id for s in whole]
    assert many.list_sessions(limit=10, offset=N) == []


@pytest.mark.parametrize("order_by", sorted(SORT_SQL))
@pytest.mark.parametrize("descending", [True, False])
def test_every_sort_key_pages_without_gaps_or_repeats(many: SessionStore, order_by: str, descending: bool) -> None:
    whole = many.list_sessions(order_by=order_by, descending=descending)
    paged = [
        s
        for offset in range(0, N, 64)
        for s in many.list_sessions(order_by=order_by, descending=descending, limit=64, offset=offset)
    ]
    assert [s.id for s in paged] == [s.id for s in whole] and len({s.id for s in paged}) == N


def test_sorting_by_task_and_energy(many: SessionStore) -> None:
    by_task = [s.task_id for s in many.list_sessions(order_by="task", descending=False)]
    assert by_task == sorted(by_task) and by_task[0] == "arithmetic" and by_task[-1] == "sql"
    energy = [(s.a.energy_j or 0) + (s.b.energy_j or 0) for s in many.list_sessions(order_by="energy")]
    assert energy == sorted(energy, reverse=True) and energy[0] > 0


def test_search_box_words_and_sweeps_are_filtered_in_sql(many: SessionStore) -> None:
    with_verdict = many.list_sessions(search="88% of A's")  # words of the verdict sentence
    assert len(with_verdict) == many.count_sessions(search="88% of A's") == N // 3
    assert all(s.verdict_sentence == VERDICT_SENTENCE for s in with_verdict)
    assert many.count_sessions(search="ARITHMETIC") == N // 3  # case-insensitive, task id
    assert many.count_sessions(search="running") == N // 3  # the unfinished base (this process wrote it)
    assert many.count_sessions(search="base-sql-000007") == 1  # an id
    assert many.count_sessions(search="no such words") == 0
    assert many.count_sessions(search="50%_x") == 0  # LIKE wildcards are plain characters here
    assert many.count_sessions(search="sweep:nightly") == 0
    many._write(
        "tag a sweep", lambda db: db.execute("UPDATE sessions SET sweep_id = 'nightly' WHERE id LIKE '%-00000_'")
    )
    try:
        in_sweep = many.list_sessions(search="sweep:nightly arith")
        assert {s.id for s in in_sweep} == {f"base-arith-{k:06d}" for k in range(1, 10)}
        assert many.count_sessions(search="SWEEP:nightly") == 27
    finally:
        many._write("untag", lambda db: db.execute("UPDATE sessions SET sweep_id = NULL"))


def test_filters_combine_with_paging_and_counts(many: SessionStore) -> None:
    failed_b = many.list_sessions(task="arithmetic", limit=5, offset=5)
    assert len(failed_b) == 5 and all(s.task_id == "arithmetic" and s.b.failure for s in failed_b)
    assert many.count_sessions(task="arithmetic") == N // 3
    assert many.count_sessions(model="ORACLE?accuracy=0.9") == N
    assert many.count_sessions(status="running") == N // 3
    newest = many.list_sessions(limit=1)[0]
    assert many.count_sessions(since_unix_s=newest.started_unix_s) == 1


def test_bad_paging_arguments_are_one_line_errors(many: SessionStore) -> None:
    with pytest.raises(StoreError, match="cannot sort sessions by 'colour'"):
        many.list_sessions(order_by="colour")
    with pytest.raises(StoreError, match="offset of 0 or more"):
        many.list_sessions(limit=5, offset=-1)
    with pytest.raises(StoreError, match="unknown session status"):
        many.count_sessions(status="paused")


def test_parse_search() -> None:
    assert parse_search("  sweep:a  Model   x sweep:b ") == (["a", "b"], "Model x")
    assert parse_search("") == ([], "")
