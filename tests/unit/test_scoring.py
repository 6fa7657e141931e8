"""Scorers and extraction rules on hand-made cases, chatter and markup included."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from greentui.core.evaluate import scoring
from greentui.core.evaluate.scoring import (
    SCORERS,
    ScoreContext,
    ScoreResult,
    extract_answer,
    extract_code,
    extract_sql,
    find_label,
    find_numbers,
    has_top_level_order_by,
    register_scorer,
    score_output,
)

# ---------------------------------------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1,200", ["1200"]),
        ("1200.0", ["1200.0"]),
        ("$1200", ["1200"]),
        ("-3", ["-3"]),
        ("12.", ["12"]),
        ("**The answer is 19.**", ["19"]),
        ("It costs $1,234,567.50 in total", ["1234567.50"]),
        ("5-3=2", ["5", "3", "2"]),  # a minus between numbers is not a sign
        ("from 3,4 to 5", ["3", "4", "5"]),  # "3,4" is a list, not a thousand
        ("H2O and x2", []),  # digits glued to words are not answers
        ("temperature of \u22125 degrees", ["-5"]),
        ("no digits here", []),
    ],
)
def test_find_numbers(text: str, expected: list[str]) -> None:
    assert find_numbers(text) == [Decimal(v) for v in expected]


@pytest.mark.parametrize(
    "output, rule, answer",
    [
        ("**The answer is 19.**", "last_number", "19"),
        ("3 x 4 = 12, and 12 + 7 = 19. The answer is 19.", "last_number", "19"),
        ("3 x 4 = 12, and 12 + 7 = 19. The answer is 19.", "first_number", "3"),
        ("The total is $1,200.00.", "last_number", "1200"),
        ("The answer is 0.50", "last_number", "0.5"),
        ("I don't know.", "last_number", None),
    ],
)
def test_number_rules(output: str, rule: str, answer: str | None) -> None:
    assert extract_answer(rule, output) == answer


def _score(scorer: str, output: str, reference: str, **context: object) -> ScoreResult:
    ctx = ScoreContext(extract_rule=context.pop("rule", SCORERS[scorer].default_rule), **context)  # type: ignore[arg-type]
    return score_output(scorer, output, reference, ctx)


@pytest.mark.parametrize(
    "output, score",
    [
        ("19", 1.0),
        ("**The answer is 19.**", 1.0),
        ("Let me think. 12 + 7 = 19. So the answer is 19.0!", 1.0),
        ("The answer is $19", 1.0),
        ("12 + 7 = 18. The answer is 18.", 0.0),
        ("The answer is 19 or maybe 20", 0.0),  # the last number counts
    ],
)
def test_numeric_scorer(output: str, score: float) -> None:
    assert _score("numeric", output, "19").score == score


def test_numeric_scorer_without_a_number_says_so() -> None:
    result = _score("numeric", "I cannot solve this.", "19")
    assert result == ScoreResult(0.0, None, "no number found in the output")


def test_numeric_scorer_reads_thousands_and_decimals() -> None:
    assert _score("numeric", "That is 1,200 dollars.", "1200").score == 1.0
    assert _score("numeric", "That is 1200.0 dollars.", "1,200").score == 1.0
    assert _score("numeric", "-3", "-3").score == 1.0
    assert _score("numeric", "3", "-3").score == 0.0


# ---------------------------------------------------------------------------------------------------------------
# labels and exact
# ---------------------------------------------------------------------------------------------------------------

LABELS = ("positive", "negative")


@pytest.mark.parametrize(
    "output, label",
    [
        ("positive", "positive"),
        ("**Negative**", "negative"),
        ("Sentiment: NEGATIVE.", "negative"),
        ("I think it's positive, not negative", "positive"),  # the first label mentioned wins
        ("'positive'", "positive"),
        ("positively glowing", None),  # whole words only
        ("neutral", None),
    ],
)
def test_find_label(output: str, label: str | None) -> None:
    assert find_label(output, LABELS) == label


def test_label_scorer() -> None:
    assert _score("label", "Negative.", "negative", labels=LABELS).score == 1.0
    wrong = _score("label", "positive", "negative", labels=LABELS)
    assert wrong.score == 0.0 and wrong.answer == "positive"
    assert _score("label", "it is mixed", "negative", labels=LABELS).detail == "no label found in the output"


def test_longest_label_wins_a_tie() -> None:
    assert find_label("very positive!", ("positive", "very positive")) == "very positive"


@pytest.mark.parametrize(
    "output, score",
    [
        ("  Paris ", 1.0),
        ("PARIS.", 1.0),
        ("**Paris**", 1.0),
        ("Paris, France", 0.0),
        ("", 0.0),
    ],
)
def test_exact_scorer(output: str, score: float) -> None:
    assert _score("exact", output, "Paris").score == score


# ---------------------------------------------------------------------------------------------------------------
# ROUGE-L
# ---------------------------------------------------------------------------------------------------------------


def test_rouge_l_is_continuous_and_stems() -> None:
    assert SCORERS["rouge_l"].continuous
    reference = "Anna will bring the cake and Tom buys the drinks."
    assert _score("rouge_l", reference, reference).score == pytest.approx(1.0)
    assert _score("rouge_l", "anna will bring the cakes and tom buy the drink", reference).score == pytest.approx(1.0)
    partial = _score("rouge_l", "Anna brings a cake.", reference).score
    assert 0.0 < partial < 1.0
    assert _score("rouge_l", "Completely unrelated words here.", reference).score == 0.0


# ---------------------------------------------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output, sql",
    [
        ("```sql\nSELECT name FROM book;\n```\nThis lists the books.", "SELECT name FROM book;"),
        ("Here you go:\n```\nSELECT 1\n```", "SELECT 1"),
        (
            "The query is SELECT name FROM book WHERE price > 5; it returns names.",
            "SELECT name FROM book WHERE price > 5",
        ),
        ("You can select the titles with:\nSELECT title FROM book\n\nThat's it.", "SELECT title FROM book"),
        ("SELECT ';' AS semi FROM book; DROP TABLE book", "SELECT ';' AS semi FROM book"),
        (
            "WITH cheap AS (SELECT * FROM book WHERE price < 5) SELECT count(*) FROM cheap",
            "WITH cheap AS (SELECT * FROM book WHERE price < 5) SELECT count(*) FROM cheap",
        ),
        ("I would start with the books.\nSELECT * FROM book", "SELECT * FROM book"),
        ("```sql\nSELECT name FROM book", "SELECT name FROM book"),  # fence cut off by max_new_tokens
        ("I do not know SQL.", None),
    ],
)
def test_extract_sql(output: str, sql: str | None) -> None:
    assert extract_sql(output) == sql


@pytest.mark.parametrize(
    "sql, ordered",
    [
        ("SELECT a FROM t ORDER BY a", True),
        ("select a from t order  by a desc limit 3", True),
        ("SELECT a FROM (SELECT a FROM t ORDER BY a)", False),
        ("WITH x AS (SELECT a FROM t ORDER BY a) SELECT a FROM x", False),
        ("SELECT a, rank() OVER (ORDER BY a) FROM t", False),
        ("SELECT 'ORDER BY' FROM t -- ORDER BY a", False),
        ("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1", True),
    ],
)
def test_has_top_level_order_by(sql: str, ordered: bool) -> None:
    assert has_top_level_order_by(sql) is ordered


@pytest.fixture
def library(tmp_path: Path) -> ScoreContext:
    conn = sqlite3.connect(tmp_path / "library.sqlite")
    conn.executescript(
        "CREATE TABLE book(id INTEGER PRIMARY KEY, title TEXT, price REAL, year INTEGER);"
        "INSERT INTO book VALUES (1, 'Dune', 9.5, 1965), (2, 'Emma', 4.0, 1815), (3, 'Ulysses', 12.0, 1922),"
        " (4, 'Beloved', 9.5, 1987);"
    )
    conn.commit()
    conn.close()
    return ScoreContext(extract_rule="sql", options={"database": "library.sqlite", "timeout_s": 1.0}, base_dir=tmp_path)


def _sql(output: str, gold: str, ctx: ScoreContext) -> ScoreResult:
    return score_output("sql_execution", output, gold, ctx)


def test_sql_rows_compare_as_multisets_without_order_by(library: ScoreContext) -> None:
    gold = "SELECT title FROM book WHERE price > 5"
    assert _sql("SELECT title FROM book WHERE price > 5 ORDER BY title DESC", gold, library).score == 1.0
    assert _sql("```sql\nSELECT title FROM book WHERE price >= 9.5\n```", gold, library).score == 1.0
    assert _sql("SELECT title FROM book", gold, library).score == 0.0


def test_sql_order_matters_when_the_gold_query_orders(library: ScoreContext) -> None:
    gold = "SELECT title FROM book ORDER BY year"
    assert _sql("SELECT title FROM book ORDER BY year ASC", gold, library).score == 1.0
    reversed_ = _sql("SELECT title FROM book ORDER BY year DESC", gold, library)
    assert reversed_.score == 0.0 and "different order" in reversed_.detail


def test_sql_multiset_counts_duplicates(library: ScoreContext) -> None:
    assert _sql("SELECT DISTINCT price FROM book", "SELECT price FROM book", library).score == 0.0
    assert _sql("SELECT price FROM book", "SELECT price FROM book", library).score == 1.0


def test_sql_column_names_do_not_matter_but_counts_do(library: ScoreContext) -> None:
    assert _sql("SELECT count(*) AS n FROM book", "SELECT count(id) FROM book", library).score == 1.0
    assert _sql("SELECT 4.0", "SELECT count(*) FROM book", library).score == 1.0  # 4.0 == 4
    assert "columns" in _sql("SELECT title, year FROM book", "SELECT title FROM book", library).detail


@pytest.mark.timeout(10)
def test_bad_model_sql_scores_zero_with_a_reason(library: ScoreContext) -> None:
    gold = "SELECT title FROM book"
    assert "syntax error" in _sql("SELECT titel FRM book", gold, library).detail
    dropped = _sql("```sql\nDROP TABLE book\n```", gold, library)
    assert dropped.score == 0.0 and "not allowed" in dropped.detail
    two = _sql("```sql\nSELECT title FROM book; DROP TABLE book;\n```", gold, library)
    assert two.score == 0.0 and "single statement" in two.detail
    slow = _sql("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n", gold, library)
    assert slow.score == 0.0 and "limit" in slow.detail
    assert _sql("no sql here", gold, library).detail == "no SQL statement found in the output"
    assert _sql(gold, gold, library).score == 1.0  # the table is still there


def test_gold_results_are_cached_per_query(library: ScoreContext) -> None:
    scoring._gold_result.cache_clear()
    for _ in range(3):
        _sql("SELECT 1", "SELECT year FROM book", library)
    info = scoring._gold_result.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_a_broken_gold_query_is_reported(library: ScoreContext) -> None:
    result = _sql("SELECT 1", "SELECT nope FROM book", library)
    assert result.score == 0.0 and "gold query failed" in result.detail


# ---------------------------------------------------------------------------------------------------------------
# code
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "output, expected",
    [
        ("```python\ndef f():\n    return 1\n```\nThis returns one.", "def f():\n    return 1\n"),
        (
            "Example:\n```python\nprint(f())\n```\nCode:\n```python\ndef f():\n    return 1\n```",
            "def f():\n    return 1\n",
        ),
        ("def f():\n    return 1\n", "def f():\n    return 1\n"),
        ("Sure! Here it is:\ndef f():\n    return 1\n", "def f():\n    return 1\n"),
        ("```py\ndef f():\n    return 1", "def f():\n    return 1"),  # unterminated fence
    ],
)
def test_extract_code(output: str, expected: str) -> None:
    assert extract_code(output) == expected


def _code(output: str, tests: str | None) -> ScoreResult:
    ctx = ScoreContext(extract_rule="code", options={"timeout_s": 2.0}, tests=tests)
    return score_output("code_pass_at_1", output, "", ctx)


def test_code_pass_at_1() -> None:
    tests = "assert is_even(4)\nassert not is_even(7)\n"
    chatty = "Here is my solution:\n```python\ndef is_even(n):\n    return n % 2 == 0\n```\nHope it helps!"
    assert _code(chatty, tests).score == 1.0
    wrong = _code("def is_even(n):\n    return True\n", tests)
    assert wrong.score == 0.0 and "tests.py:2" in wrong.detail
    assert _code("def is_even(n): return True", None).detail == "the item has no tests: the task is broken"


# ---------------------------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------------------------


def test_registry_holds_the_six_scorers() -> None:
    assert set(SCORERS) >= {"exact", "numeric", "label", "rouge_l", "sql_execution", "code_pass_at_1"}
    assert [name for name, info in SCORERS.items() if info.continuous] == ["rouge_l"]
    assert SCORERS["sql_execution"].required_options == ("database",)


def test_a_registered_scorer_is_used_and_its_crash_is_contained() -> None:
    @register_scorer("test-crash", default_rule="full")
    def crash(answer: str, reference: str, context: ScoreContext) -> ScoreResult:
        raise RuntimeError("boom")

    try:
        result = score_output("test-crash", "x", "y", ScoreContext())
        assert result.score == 0.0 and result.detail == "scorer test-crash failed: RuntimeError: boom"
    finally:
        del SCORERS["test-crash"]
