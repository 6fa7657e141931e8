"""The HTML report in a real browser: headless Chromium renders it to a PNG in which the charts' colours are
found; hostile model output stays text in the browser's DOM; the file fetches nothing.

Chromium is Debian's ``chromium`` package: ``make test`` installs it when it is missing and the user is root
with apt; elsewhere these tests are skipped and say why.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from greentui.cli import main
from greentui.core.records import ItemScored
from greentui.store import SessionStore
from greentui.text.html_chart import COLOURS, TINTS
from tests.helpers.png import colour_counts
from tests.helpers.store_events import LiveSession

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src="http://evil.example/x.png" onerror="alert(2)">',
    "</pre></td></tr></table><h1>forged verdict</h1>",
    "\x1b]52;c;aGVsbG8=\x07 clipboard",
    "\x1b[2J\x1b[31mred\x1b[0m",
    "&amp; &lt;b&gt; <!-- comment --> ]]> {{x}}",
    "abc\u202edcba",
    '" onmouseover="alert(3)',
]
BROWSERS = ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "no headless Chromium on this machine: `make test` installs Debian's chromium when run as root where apt "
        "exists (apt-get install chromium); otherwise install it to run the browser tests of the HTML report"
    )


def chromium(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    profile.mkdir()
    command = [
        browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--force-color-profile=srgb",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def record(store: SessionStore, live: LiveSession, outputs: list[str] | None = None) -> None:
    writer = store.writer()
    for event in live.events():
        if outputs and isinstance(event, ItemScored):
            payload = outputs[event.index % len(outputs)]
            event = dataclasses.replace(event, output=payload, answer=payload, prompt=f"prompt {payload}")
        writer.handle(event)
    writer.close()
    assert writer.error is None


def export_html(db: Path, session_id: str, out: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GREENTUI_DB", str(db))
    assert main(["export", session_id, "--format", "html", "--output", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def test_the_report_renders_with_its_charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    browser()
    db = tmp_path / "g.db"
    store = SessionStore(db)
    record(store, LiveSession("s-report", n_items=6, sample_hz=20.0))
    record(store, LiveSession("s-no-trace", n_items=6, sample_hz=20.0, started_unix_s=1_780_001_000.0))
    store._write("drop the samples", lambda d: d.execute("DELETE FROM channels WHERE session_id = 's-no-trace'"))
    store.close()
    counts = {}
    for session_id in ("s-report", "s-no-trace"):
        page = tmp_path / f"{session_id}.html"
        export_html(db, session_id, page, monkeypatch)
        png = tmp_path / f"{session_id}.png"
        done = chromium(f"--screenshot={png}", "--window-size=1000,1200", page.as_uri(), tmp_path=tmp_path)
        assert png.is_file(), done.stderr[-2000:]
        counts[session_id] = colour_counts(png)
    drawn = counts["s-report"]
    # each model's item windows are shaded in its tint, the line is drawn in its colour
    assert drawn[TINTS["A"]] > 5000 and drawn[TINTS["B"]] > 5000, drawn.most_common(12)
    assert drawn[COLOURS["A"]] > 300 and drawn[COLOURS["B"]] > 300, drawn.most_common(12)
    without = counts["s-no-trace"]  # the same page without samples: no trace, so none of the tints
    assert without[TINTS["A"]] == 0 and without[TINTS["B"]] == 0


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_hostile_output_is_text_in_the_file_and_in_the_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "g.db"
    store = SessionStore(db)
    record(store, LiveSession("s-hostile", n_items=len(HOSTILE)), HOSTILE)
    store.close()
    page = tmp_path / "hostile.html"
    html = export_html(db, "s-hostile", page, monkeypatch)

    parsed = _Collect()
    parsed.feed(html)
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "a", "form", "input"}
    assert sum(1 for tag, _ in parsed.tags if tag == "h1") == 1  # only the page's own title
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name, _ in attrs)
    text = "".join(parsed.text)
    assert "<script>alert(1)</script>" in text and "</pre></td></tr></table><h1>forged verdict</h1>" in text
    assert "\\x1b]52;c;aGVsbG8=\\x07 clipboard" in text and "\\u202e" in text  # controls as visible escapes
    assert "&amp; &lt;b&gt; <!-- comment -->" in text
    assert not any(ch in html for ch in "\x1b\x07\u202e\x00")

    if not any(shutil.which(name) for name in BROWSERS):
        pytest.skip("no headless Chromium: the file was checked, the browser's reading of it was not")
    done = chromium("--dump-dom", page.as_uri(), tmp_path=tmp_path)
    dom = done.stdout
    assert "<main>" in dom, done.stderr[-2000:]
    seen = _Collect()  # the page as the browser built it
    seen.feed(dom)
    assert not {tag for tag, _ in seen.tags} & {"script", "img", "iframe", "object", "embed", "link", "a"}
    assert not any(name.startswith("on") for _, attrs in seen.tags for name, _ in attrs)
    assert sum(1 for tag, _ in seen.tags if tag == "h1") == 1
    assert "<script>alert(1)</script>" in "".join(seen.text)


def test_the_report_fetches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "g.db"
    store = SessionStore(db)
    record(store, LiveSession("s-offline", n_items=4))
    store.close()
    html = export_html(db, "s-offline", tmp_path / "offline.html", monkeypatch)
    parsed = _Collect()
    parsed.feed(html)
    fetching = [(tag, name, value) for tag, attrs in parsed.tags for name, value in attrs if name in ("src", "href")]
    assert fetching == []
    assert "@import" not in html and "url(" not in html and "<script" not in html
    assert "default-src 'none'" in html  # and the policy forbids loading anything, should anything slip in
    assert "<svg" in html and "</html>" in html
