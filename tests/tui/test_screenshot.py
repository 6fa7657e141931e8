"""ctrl+p "Screenshot" saves an SVG in greentui's data folder (created when missing) and names the file."""

from __future__ import annotations

import os
from pathlib import Path

from greentui import paths
from greentui.store import SessionStore
from tests.tui.pilot_helpers import quiet_app, wait_for


async def test_the_palette_screenshot_goes_to_the_data_folder(store: SessionStore, tmp_path: Path) -> None:
    folder = paths.screenshots_dir()
    assert str(folder).startswith(os.environ["GREENTUI_DATA_DIR"]) and not folder.exists()
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Screenshot")
        await pilot.pause(0.3)  # the palette searches its commands
        await pilot.press("enter")
        await wait_for(pilot, lambda: folder.is_dir() and any(folder.glob("*.svg")), what="the screenshot file")
        (saved,) = folder.glob("*.svg")
        assert saved.read_text(encoding="utf-8").lstrip().startswith("<svg") and "history" in saved.read_text()
        await wait_for(
            pilot, lambda: any(str(saved) in str(n.message) for n in app._notifications), what="the notification"
        )


async def test_a_data_folder_that_cannot_be_made_is_said_in_one_line(
    store: SessionStore, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GREENTUI_DATA_DIR", str(blocker / "data"))
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.deliver_screenshot() is None
        await pilot.pause()
        (note,) = list(app._notifications)
        assert note.severity == "error" and str(blocker / "data" / "screenshots") in note.message
