"""Copy the accepted SVG snapshots to ``assets/`` under the names the README uses.

    .venv/bin/python tests/snapshots/copy_to_assets.py

Run it after ``pytest tests/snapshots --snapshot-update`` when a screen changed on purpose: the README's
screenshots are then the very pictures the snapshot tests check.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAPSHOTS = HERE / "__snapshots__" / "test_snapshots"
ASSETS = HERE.parent.parent / "assets"
NAMES = {
    "test_setup_screen[160x48].svg": "screen-setup.svg",
    "test_live_screen_mid_race[160x48].svg": "screen-live.svg",
    "test_verdict_screen[160x48].svg": "screen-verdict.svg",
    "test_history_screen[160x48].svg": "screen-history.svg",
    "test_live_screen_mid_race[100x30].svg": "screen-live-100x30.svg",
}


def main() -> None:
    ASSETS.mkdir(exist_ok=True)
    for snapshot, asset in NAMES.items():
        shutil.copyfile(SNAPSHOTS / snapshot, ASSETS / asset)
        print(f"assets/{asset}")


if __name__ == "__main__":
    main()
