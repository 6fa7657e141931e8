"""The README's pictures, taken from a real run of the real demo on this machine.

    .venv/bin/python scripts/readme_pictures.py                 # the demo's race (SmolLM2 vs SmolLM2 + LoRA)
    .venv/bin/python scripts/readme_pictures.py --quantized     # fp32 vs nf4 instead

It runs ``greentui demo`` in the real TUI (Textual's headless driver, 160 x 48, the real SmolLM2 workers, the real
power source of this machine) into a fresh database, and saves what a user sees:

* ``assets/screen-live.svg``: the live screen once a few items have finished on both sides;
* ``assets/screen-verdict.svg``: the verdict screen the run opens when it is settled or its items run out;
* ``assets/screen-history.svg``: the history screen with that session in it;
* ``assets/screen-setup.svg``: the setup screen with this machine's catalog;
* ``assets/report-demo.html`` and ``assets/report-demo.png``: ``greentui export --format html`` of the session, and
  the same page rendered by headless Chromium (skipped, with a line, where no Chromium is installed);
* ``assets/pictures.json``: when, on which machine, under what load, which session and which greentui commit: the
  README states these under the pictures.

Nothing here is faked: no fake model, no replayed trace. The figures are whatever this machine measured (on a VM
without a power sensor: estimates, marked so on every screen). Expect minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZE = (160, 48)
LIVE_AFTER_ITEMS = 6  # items finished on both sides together before the live picture is taken
BROWSERS = ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome")


def machine() -> dict[str, Any]:
    """What this machine is, in the words the README uses under the pictures."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        import psutil

        memory_gib = round(psutil.virtual_memory().total / 2**30, 1)
    except Exception:  # the pictures do not depend on it
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory_gib, "system": platform.platform()}


def commit() -> str:
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


async def _wait(pilot: Any, condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            app = pilot.app
            shot = Path(tempfile.gettempdir()) / "greentui-pictures-gave-up.svg"
            shot.write_text(app.export_screenshot(), encoding="utf-8")
            notes = [n.message for n in app._notifications]  # what the app told the user, if anything
            raise SystemExit(f"gave up waiting for {what} after {timeout_s:.0f} s (screen: {shot}; notices: {notes})")
        await pilot.pause(0.5)


async def take(config: Any, db: Path, out: Path, timeout_s: float) -> tuple[str, float]:
    """Run the demo in the TUI and save the screens; returns the session id and the seconds from the app's start
    to the verdict screen (the time a user of ``make demo`` waits for the verdict, less the Python start)."""
    # as GreentuiApp.run does: the resource tracker must start while stderr is still a real file (Textual's driver
    # replaces it, and the first spawned model worker would then fail with "bad value(s) in fds_to_keep")
    from multiprocessing import resource_tracker

    from greentui.store import SessionStore
    from greentui.tui.app import make_app
    from greentui.tui.screens.history import HistoryScreen
    from greentui.tui.screens.live import LiveScreen
    from greentui.tui.screens.verdict import VerdictScreen

    resource_tracker.ensure_running()
    store = SessionStore(db)
    app = make_app(store=store, db_path=db, start="demo", session_config=config)
    app_started = time.monotonic()
    async with app.run_test(size=SIZE) as pilot:

        def live() -> LiveScreen | None:
            return next((s for s in app.screen_stack if isinstance(s, LiveScreen)), None)

        await _wait(pilot, lambda: live() is not None, 120, "the live screen")
        screen = live()
        assert screen is not None
        await _wait(pilot, lambda: screen.tally.items_done >= LIVE_AFTER_ITEMS, timeout_s, "the first items")
        await pilot.pause(1.0)  # one more refresh of the lanes and the chart
        (out / "screen-live.svg").write_text(app.export_screenshot(title="greentui: live"), encoding="utf-8")
        await _wait(pilot, lambda: isinstance(app.screen, VerdictScreen), timeout_s, "the verdict")
        verdict_after_s = time.monotonic() - app_started  # polled every 0.5 s: at most that late
        await pilot.pause(1.0)
        (out / "screen-verdict.svg").write_text(app.export_screenshot(title="greentui: verdict"), encoding="utf-8")
        session_id = screen.tally.started.session_id if screen.tally.started else ""
        await pilot.press("h")
        await _wait(pilot, lambda: isinstance(app.screen, HistoryScreen), 60, "the history")
        await pilot.pause(2.0)
        (out / "screen-history.svg").write_text(app.export_screenshot(title="greentui: history"), encoding="utf-8")
    setup = make_app(store=store, db_path=db, start="setup")
    async with setup.run_test(size=SIZE) as pilot:
        await pilot.pause(3.0)  # the catalog and the tasks load off the UI thread
        (out / "screen-setup.svg").write_text(setup.export_screenshot(title="greentui: setup"), encoding="utf-8")
    store.close()
    return session_id, verdict_after_s


def render_png(page: Path, png: Path) -> str | None:
    """The HTML report rendered by headless Chromium; None when no Chromium is installed (said by the caller)."""
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if found is None:
        return None
    with tempfile.TemporaryDirectory(prefix="greentui-chromium-") as profile:
        subprocess.run(
            [
                found,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--force-color-profile=srgb",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                "--window-size=1100,1700",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quantized", action="store_true", help="the fp32-vs-nf4 demo instead of the LoRA one")
    parser.add_argument("--out", type=Path, default=REPO / "assets", help="where the pictures go (default assets/)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the run (default 3600)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from greentui.demo import demo_config
    from greentui.store import SessionStore
    from greentui.text.listing import export_session

    args.out.mkdir(parents=True, exist_ok=True)
    config = demo_config(quantized=args.quantized)
    from greentui.demo import _conversion_needed

    fresh_cache = _conversion_needed()
    before = os.getloadavg()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="greentui-pictures-") as tmp:
        db = Path(tmp) / "pictures.db"
        session_id, verdict_after_s = asyncio.run(take(config, db, args.out, args.timeout))
        store = SessionStore(db, readonly=True)
        page = args.out / "report-demo.html"
        page.write_text(export_session(store, session_id, "html"), encoding="utf-8")
        summary = json.loads(export_session(store, session_id, "json"))
        store.close()
    browser = render_png(page, args.out / "report-demo.png")
    if browser is None:
        print("no headless Chromium here: assets/report-demo.png was not redrawn (apt-get install chromium)")
    verdict = summary.get("verdict") or {}
    record = {
        "taken_unix_s": round(started),
        "taken": time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(started)),
        "seconds": round(time.time() - started),
        "verdict_after_s": round(verdict_after_s, 1),
        "model_cache": "fresh (the first-run conversion included)" if fresh_cache else "already converted",
        "load_average_before": [round(x, 2) for x in before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
        "greentui_commit": commit(),
        "session_id": session_id,
        "demo": "quantized (fp32 vs nf4)" if args.quantized else "fine-tune (SmolLM2-135M vs + LoRA adapter)",
        "models": [config.model_a, config.model_b],
        "task": config.task,
        "items": [(verdict.get("a") or {}).get("n_items"), (verdict.get("b") or {}).get("n_items")],
        "sentence": verdict.get("sentence"),
        "power": summary.get("session", {}).get("power_note"),
        "browser": browser,
    }
    (args.out / "pictures.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
