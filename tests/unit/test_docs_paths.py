"""Every repository path the README and docs/*.md name exists: a moved module must not leave a stale reference.

What counts as a reference:

* a path in code (inline, fenced or indented) or in a heading that starts at one of the repository's top-level
  folders (``greentui/``, ``tests/``, ``benchmarks/``, ``docs/``, ``scripts/``, ``examples/``, ``tasks/``,
  ``assets/``), checked from the repository root;
* the same inside ``greentui/`` written short (``store/listing.py``, ``core/run/``), checked from ``greentui/``; a
  file name or a trailing ``/`` is required there, so ``text/event-stream`` is not a path;
* every relative link target (``[x](docs/STORE.md)``), checked from the document's own folder, as a renderer
  resolves it.

A trailing ``/`` means a folder. URLs and placeholders (``tasks/<id>/``, ``greentui/*.py``, ``{name}``, capitals
such as ``tasks/NAME/``) are not references.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

TOP_LEVEL = ("greentui", "tests", "benchmarks", "docs", "scripts", "examples", "tasks", "assets")
# greentui's packages, as the docs often name them without the leading greentui/
PACKAGES = ("core", "store", "text", "tui", "cli", "sweeps", "gpucheck")

FENCED = re.compile(r"^ {0,3}(```|~~~)[^\n]*\n(.*?)^ {0,3}\1[ \t]*$", re.MULTILINE | re.DOTALL)
# an inline code span may wrap onto the next line of its paragraph, never across a blank line
INLINE = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)")
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*)$", re.MULTILINE)
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
# a path starts a word: not after a letter, a dot, a slash (../x, https://host/tests/...), ~, $ or a colon
CANDIDATE = re.compile(
    r"(?<![\w./~$:@-])((?:" + "|".join(TOP_LEVEL + PACKAGES) + r")/[\w.\-/]*)(?P<after>.?)", re.DOTALL
)
PLACEHOLDER_NEXT = set("<{*$[%")
CAPITALS = re.compile(r"[A-Z][A-Z0-9_]*")  # NAME, FILE, ID: a segment to fill in, not a file
URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _code_paths(code: str) -> list[tuple[int, str]]:
    """(offset in ``code``, path relative to the repository root) of every path named in a piece of code."""
    found = []
    for match in CANDIDATE.finditer(code):
        path, after = match.group(1), match.group("after")
        if after in PLACEHOLDER_NEXT:
            continue  # tasks/<id>/, greentui/*.py, docs/{name}.md
        path = path.rstrip(".-")
        segments = [s for s in path.split("/") if s]
        if any(CAPITALS.fullmatch(s) for s in segments) or "..." in path:
            continue
        if path.split("/", 1)[0] in PACKAGES:
            if not (path.endswith("/") or re.search(r"\.\w+$", segments[-1])):
                continue  # text/plain, core/run: words, not a file or a folder written as one
            path = "greentui/" + path
        found.append((match.start(1), path))
    return found


def references(document: Path) -> list[tuple[int, str, Path]]:
    """(line, path as written, where it must be) for every reference in ``document``."""
    text = document.read_text(encoding="utf-8")
    found: list[tuple[int, str, Path]] = []
    prose = text
    for block in FENCED.finditer(text):
        for offset, path in _code_paths(block.group(2)):
            found.append((_line(text, block.start(2) + offset), path, REPO / path))
        prose = prose[: block.start()] + re.sub(r"[^\n]", " ", block.group()) + prose[block.end() :]
    # indented code blocks: lines indented by four spaces (or a tab) that follow a blank line or one another
    lines = prose.split("\n")
    indented = False
    offset = 0
    for number, line in enumerate(lines):
        after_blank = number == 0 or not lines[number - 1].strip()
        indented = bool(line.strip()) and line.startswith(("    ", "\t")) and (indented or after_blank)
        if indented:
            for start, path in _code_paths(line):
                found.append((_line(text, offset + start), path, REPO / path))
            lines[number] = " " * len(line)
        offset += len(line) + 1
    prose = "\n".join(lines)
    plain = prose
    for span in INLINE.finditer(prose):
        for offset, path in _code_paths(span.group(2)):
            found.append((_line(text, span.start(2) + offset), path, REPO / path))
        plain = plain[: span.start()] + re.sub(r"[^\n]", " ", span.group()) + plain[span.end() :]
    for heading in HEADING.finditer(plain):  # the code spans in headings were read above
        for offset, path in _code_paths(heading.group(1)):
            found.append((_line(text, heading.start(1) + offset), path, REPO / path))
    for link in [*LINK.finditer(prose), *REFERENCE_LINK.finditer(prose)]:
        target = link.group(1).split("#", 1)[0].split("?", 1)[0]
        if not target or URL_SCHEME.match(target) or target.startswith(("/", "//")):
            continue  # a URL, mailto:, an anchor in the same page, an absolute path
        found.append((_line(text, link.start(1)), target, document.parent / target))
    return found


def _exists(path: str, where: Path) -> bool:
    return where.is_dir() if path.endswith("/") else where.exists()


def test_the_documents_are_found() -> None:
    names = {d.relative_to(REPO).as_posix() for d in DOCUMENTS}
    assert {"README.md", "docs/INTERFACES.md", "docs/STORE.md"} <= names


def test_every_path_the_docs_name_exists() -> None:
    missing = [
        f"{document.relative_to(REPO).as_posix()}:{line}: {path}"
        for document in DOCUMENTS
        for line, path, where in references(document)
        if not _exists(path, where)
    ]
    assert not missing, "paths named in the docs that are not in the repository:\n" + "\n".join(missing)


def test_the_docs_name_paths_at_all() -> None:
    """Guards the extraction itself: a regex that silently matched nothing would pass the test above."""
    named = {path for document in DOCUMENTS for _, path, _ in references(document)}
    assert {"greentui/format.py", "docs/SWEEPS.md", "greentui/store/connection.py"} <= named


def test_what_is_and_is_not_a_reference(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "See `greentui/format.py:12` and `core/run/tally.py::Tally`, the `greentui/store/` folder and\n"
        "`python benchmarks/gpu_check.py --items 4`; [the store](docs/STORE.md#top), [up](../x.md).\n"
        "Not paths: `tasks/<id>/task.toml`, `greentui/*.py`, `https://github.com/o/r/tests/x.py`, `../shared/D.md`,\n"
        "`text/event-stream`, `replay:FILE`, `tasks/NAME/items.jsonl`, [web](https://example.org/docs/a.md), [a](#b).\n"
        "```python\n# greentui/core/run/sweep.py\nx = 1\n```\n"
        "## Sweeps (core/run/sweep.py, `greentui/sweeps/`)\n"
        "\n    python scripts/readme_pictures.py ~/greentui/x.py\n",
        encoding="utf-8",
    )
    named = [(line, path) for line, path, _ in references(page)]
    assert named == [
        (6, "greentui/core/run/sweep.py"),
        (11, "scripts/readme_pictures.py"),
        (1, "greentui/format.py"),
        (1, "greentui/core/run/tally.py"),
        (1, "greentui/store/"),
        (2, "benchmarks/gpu_check.py"),
        (9, "greentui/sweeps/"),
        (9, "greentui/core/run/sweep.py"),
        (2, "docs/STORE.md"),
        (2, "../x.md"),
    ]
