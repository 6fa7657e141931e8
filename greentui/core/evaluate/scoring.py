"""Scorers: pure functions registered by name, and the answer-extraction rules a task declares.

A scorer takes the *extracted* answer, the reference and a :class:`ScoreContext` and returns a
:class:`ScoreResult` with a score in [0, 1]. :func:`score_output` applies the extraction rule first, so a scorer
never sees raw model output it cannot use. Model output is untrusted: SQL and code only ever run inside
``core.evaluate.sandbox``.
"""

from __future__ import annotations

import re
import string
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from greentui.core.evaluate.sandbox import CodeLimits, QueryResult, SqlError, run_python_sandboxed, run_readonly_query

EXTRACT_RULES = ("first_number", "last_number", "label", "sql", "code", "full")


@dataclass(frozen=True)
class ScoreResult:
    score: float  # in [0, 1]
    answer: str | None  # what the extraction rule took out of the output (None: nothing usable found)
    detail: str  # one line for the user: why this score


@dataclass(frozen=True)
class ScoreContext:
    """What a scorer may need beyond answer and reference: the task's declarations and the item's tests."""

    extract_rule: str = "full"
    labels: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)  # the task's [scorer_options]
    base_dir: Path | None = None  # the task folder: relative option paths resolve against it
    tests: str | None = None  # code_pass_at_1: the item's test source
    prelude: str | None = None  # code_pass_at_1: trusted task code run before the model's (imports, helpers)


Scorer = Callable[[str, str, ScoreContext], ScoreResult]


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    fn: Scorer
    continuous: bool  # True: scores anywhere in [0, 1] (bootstrap CI); False: 0 or 1 (Wilson CI)
    default_rule: str  # extraction rule when the task declares none
    metric: str  # the default name shown for the score
    options: Mapping[str, type] = field(default_factory=dict)  # allowed [scorer_options] and their types
    required_options: tuple[str, ...] = ()
    default_max_new_tokens: int = 32


SCORERS: dict[str, ScorerInfo] = {}


def register_scorer(
    name: str,
    *,
    default_rule: str,
    metric: str = "accuracy",
    continuous: bool = False,
    options: Mapping[str, type] | None = None,
    required_options: tuple[str, ...] = (),
    default_max_new_tokens: int = 32,
) -> Callable[[Scorer], Scorer]:
    """Decorator: add a scorer to :data:`SCORERS` under ``name``."""

    def decorate(fn: Scorer) -> Scorer:
        SCORERS[name] = ScorerInfo(
            name, fn, continuous, default_rule, metric, dict(options or {}), required_options, default_max_new_tokens
        )
        return fn

    return decorate


def score_output(scorer: str, output: str, reference: str, context: ScoreContext) -> ScoreResult:
    """Extract the answer from ``output`` with the context's rule and score it; never raises on bad output."""
    info = SCORERS[scorer]
    answer = extract_answer(context.extract_rule, output, context.labels)
    if answer is None or not answer.strip():
        what = {
            "first_number": "no number",
            "last_number": "no number",
            "label": "no label",
            "sql": "no SQL statement",
            "code": "no code",
        }.get(context.extract_rule, "no answer")
        return ScoreResult(0.0, None, f"{what} found in the output")
    try:
        return info.fn(answer, reference, context)
    except Exception as exc:  # a scorer must not take a session down over one strange output
        return ScoreResult(0.0, answer, f"scorer {scorer} failed: {type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------------------------------------------------
# Extraction
# ------------------------------------------------------------------------------------------------------------------

# A number not glued to a word: optional sign and currency, thousands separators, decimals ("12." reads as 12).
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-\u2212+])?(?:[$\u20ac\u00a3\u00a5]\s?)?"
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?|\.\d+)"
)
_FENCE = re.compile(r"```[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n(?P<body>.*?)(?:```|\Z)", re.S)
_CTE_START = r"WITH\s+(?:RECURSIVE\s+)?[\w\"`\[\]]+\s*(?:\([^)]*\))?\s+AS\s*\("
_SQL_LANGS = {"", "sql", "sqlite", "sqlite3", "postgresql", "postgres", "mysql"}
_CODE_LANGS = {"", "python", "py", "python3"}
_CODE_START = re.compile(r"^(?:def |class |import |from |@)", re.M)


def find_numbers(text: str) -> list[Decimal]:
    """Every number in ``text``, in order: ``1,200`` / ``1200.0`` / ``$1200`` read as 1200, ``-3`` as -3."""
    numbers = []
    for match in _NUMBER.finditer(text):
        try:
            value = Decimal(match.group("digits").replace(",", ""))
        except InvalidOperation:
            continue
        numbers.append(-value if match.group("sign") in ("-", "\u2212") else value)
    return numbers


def parse_number(text: str) -> Decimal | None:
    """``text`` as one number (surrounding markup and words allowed), or None when it holds none or several."""
    numbers = find_numbers(text)
    return numbers[0] if len(numbers) == 1 else None


def format_number(value: Decimal) -> str:
    """Shortest plain form: 1200, -3, 0.5 (never 1.2E+3)."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def normalize_text(text: str) -> str:
    """Case-folded, punctuation and markup replaced by spaces, whitespace collapsed."""
    table = str.maketrans(dict.fromkeys(string.punctuation + "‘’“”", " "))
    return " ".join(text.casefold().translate(table).split())


def find_label(text: str, labels: tuple[str, ...]) -> str | None:
    """The declared label whose first whole-word occurrence comes first (the longest on a tie)."""
    haystack = f" {normalize_text(text)} "
    best: tuple[int, int, str] | None = None
    for label in labels:
        needle = normalize_text(label)
        pos = haystack.find(f" {needle} ") if needle else -1
        if pos >= 0 and (best is None or (pos, -len(needle)) < (best[0], best[1])):
            best = (pos, -len(needle), label)
    return best[2] if best else None


def extract_sql(text: str) -> str | None:
    """SQL from a ``` fence (sql or unnamed), else from the first SELECT / WITH ... AS ( statement."""
    for match in _FENCE.finditer(text):
        if match.group("lang").lower() in _SQL_LANGS and match.group("body").strip():
            return match.group("body").strip()
    start = None
    for flags in (0, re.I):  # upper-case SQL first: "select" is also an English word
        found = re.search(rf"\bSELECT\b|{_CTE_START}", text, flags)
        if found:
            start = found.start()
            break
    if start is None:
        return None
    return _statement_end(text, start).strip() or None


def _statement_end(text: str, start: int) -> str:
    """From ``start`` up to the first ``;``, blank line or fence outside quotes."""
    quote = None
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "[":
            quote = "]"
        elif ch == ";" or text.startswith("\n\n", i) or text.startswith("```", i):
            break
        i += 1
    return text[start:i]


def extract_code(text: str) -> str | None:
    """Python from a ```python (or unnamed) fence -- the first one that defines something -- else the whole output;
    when the whole output does not compile, from its first ``def``/``class``/``import`` line on."""
    blocks = [m.group("body") for m in _FENCE.finditer(text) if m.group("lang").lower() in _CODE_LANGS]
    blocks = [b for b in blocks if b.strip()]
    if blocks:
        defining = [b for b in blocks if re.search(r"^\s*(?:def|class)\s", b, re.M)]
        return (defining or blocks)[0]
    if _compiles(text):
        return text
    start = _CODE_START.search(text)
    if start and _compiles(text[start.start() :]):
        return text[start.start() :]
    return text


def _compiles(source: str) -> bool:
    try:
        compile(source, "<answer>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def extract_answer(rule: str, output: str, labels: tuple[str, ...] = ()) -> str | None:
    """Apply one extraction rule to a model's output; None when the output holds no such answer."""
    if rule in ("first_number", "last_number"):
        numbers = find_numbers(output)
        if not numbers:
            return None
        return format_number(numbers[0] if rule == "first_number" else numbers[-1])
    if rule == "label":
        return find_label(output, labels)
    if rule == "sql":
        return extract_sql(output)
    if rule == "code":
        return extract_code(output)
    if rule == "full":
        return output.strip()
    raise ValueError(f"unknown extraction rule {rule!r}")


# ------------------------------------------------------------------------------------------------------------------
# Scorers
# ------------------------------------------------------------------------------------------------------------------


def _exact_form(text: str) -> str:
    """Trimmed, case-folded, whitespace collapsed, wrapping markup/quotes and a final full stop removed."""
    text = " ".join(text.casefold().split())
    return text.strip("*_`\"'\u201c\u201d\u2018\u2019 ").rstrip(".").strip()


@register_scorer("exact", default_rule="full", default_max_new_tokens=32)
def exact(answer: str, reference: str, context: ScoreContext) -> ScoreResult:
    ok = _exact_form(answer) == _exact_form(reference)
    return ScoreResult(float(ok), answer, "exact match" if ok else "differs from the reference")


@register_scorer("numeric", default_rule="last_number", default_max_new_tokens=48)
def numeric(answer: str, reference: str, context: ScoreContext) -> ScoreResult:
    got = parse_number(answer)
    if got is None:
        numbers = find_numbers(answer)
        got = numbers[-1] if numbers else None
    want = parse_number(reference)
    if got is None or want is None:
        return ScoreResult(0.0, answer, "no number to compare")
    ok = abs(got - want) <= Decimal("1e-9") * max(Decimal(1), abs(want))
    return ScoreResult(float(ok), format_number(got), "equal" if ok else f"{format_number(got)} is not {reference}")


@register_scorer("label", default_rule="label", default_max_new_tokens=8)
def label(answer: str, reference: str, context: ScoreContext) -> ScoreResult:
    ok = normalize_text(answer) == normalize_text(reference)
    return ScoreResult(float(ok), answer, "right label" if ok else f"said {answer!r}, expected {reference!r}")


_rouge_lock = threading.Lock()


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer  # imported on first use: it pulls in nltk

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


@register_scorer("rouge_l", default_rule="full", metric="ROUGE-L F1", continuous=True, default_max_new_tokens=96)
def rouge_l(answer: str, reference: str, context: ScoreContext) -> ScoreResult:
    with _rouge_lock:  # the Porter stemmer keeps a cache; two sessions may score at once
        f1 = _rouge().score(reference, answer)["rougeL"].fmeasure
    return ScoreResult(float(f1), answer, f"ROUGE-L F1 {f1:.3f}")


def has_top_level_order_by(sql: str) -> bool:
    """True when ORDER BY appears outside every parenthesis (not in a subquery, CTE or window), ignoring comments
    and quoted text: then the order of the result rows is part of the answer."""
    text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
    text = re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]", " x ", text)
    depth = 0
    previous = ""
    for token in re.findall(r"\(|\)|[A-Za-z_]+", text):
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(0, depth - 1)
        else:
            if depth == 0 and previous == "ORDER" and token.upper() == "BY":
                return True
            previous = token.upper() if depth == 0 else ""
    return False


def _comparable(result: QueryResult) -> list[tuple[Any, ...]]:
    """Rows with floats rounded to 6 decimals, so 2.0 == 2 and harmless rounding noise does not count."""
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in result.rows]


@lru_cache(maxsize=4096)
def _gold_result(db_path: str, _db_mtime_ns: int, _db_size: int, sql: str, timeout_s: float) -> QueryResult:
    """Gold results, cached per (database file version, SQL): each item's gold query runs once per process."""
    return run_readonly_query(Path(db_path), sql, timeout_s=timeout_s)


def _database(context: ScoreContext) -> Path:
    path = Path(str(context.options["database"]))
    return path if path.is_absolute() or context.base_dir is None else context.base_dir / path


@register_scorer(
    "sql_execution",
    default_rule="sql",
    metric="execution accuracy",
    options={"database": str, "timeout_s": float, "max_rows": int, "max_bytes": int, "memory_mb": int},
    required_options=("database",),
    default_max_new_tokens=128,
)
def sql_execution(answer: str, reference: str, context: ScoreContext) -> ScoreResult:
    db = _database(context).resolve()
    timeout_s = float(context.options.get("timeout_s", 5.0))
    max_rows = int(context.options.get("max_rows", 100_000))
    bounds = {key: int(context.options[key]) for key in ("max_bytes", "memory_mb") if key in context.options}
    try:
        stat = db.stat()
        gold = _gold_result(str(db), stat.st_mtime_ns, stat.st_size, reference, timeout_s)
    except (OSError, SqlError) as exc:
        return ScoreResult(0.0, answer, f"the gold query failed ({exc}): the task is broken")
    try:
        got = run_readonly_query(db, answer, timeout_s=timeout_s, max_rows=max_rows, **bounds)
    except SqlError as exc:
        return ScoreResult(0.0, answer, f"query failed: {exc}")
    if len(got.columns) != len(gold.columns):
        return ScoreResult(0.0, answer, f"{len(got.columns)} columns, the gold query returns {len(gold.columns)}")
    ordered = has_top_level_order_by(reference)
    a, b = _comparable(got), _comparable(gold)
    same = a == b if ordered else Counter(a) == Counter(b)
    if same:
        return ScoreResult(1.0, answer, "same result" + (" in the same order" if ordered else ""))
    if not ordered or Counter(a) != Counter(b):
        return ScoreResult(0.0, answer, f"different result: {len(a)} rows, the gold query returns {len(b)}")
    return ScoreResult(0.0, answer, "same rows in a different order (the gold query has ORDER BY)")


@register_scorer(
    "code_pass_at_1",
    default_rule="code",
    metric="pass@1",
    options={"timeout_s": float, "memory_mb": int, "output_kb": int, "file_mb": int},
    default_max_new_tokens=256,
)
def code_pass_at_1(answer: str, reference: str, context: ScoreContext) -> ScoreResult:
    if not context.tests:
        return ScoreResult(0.0, answer, "the item has no tests: the task is broken")
    options = context.options
    limits = CodeLimits(
        timeout_s=float(options.get("timeout_s", 5.0)),
        memory_mb=int(options.get("memory_mb", 256)),
        output_kb=int(options.get("output_kb", 64)),
        file_mb=int(options.get("file_mb", 16)),
    )
    result = run_python_sandboxed(with_prelude(context.prelude, answer), context.tests, limits, prelude=context.prelude)
    return ScoreResult(1.0 if result.passed else 0.0, answer, result.detail)


def with_prelude(prelude: str | None, code: str) -> str:
    """The program a code item runs: the task's prelude (HumanEval's prompt: imports, helpers, the signature and
    docstring), then the model's code. A reply that starts a definition or an import at the left margin is a whole
    program part and follows the prelude after blank lines (redefining the entry point); anything else is read as
    the body that continues the prelude's signature, as in HumanEval's original completion format."""
    if not prelude:
        return code
    if _CODE_START.search(code):
        return f"{prelude.rstrip()}\n\n\n{code}"
    return prelude + code
