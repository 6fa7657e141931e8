"""The setup screen's last choices, remembered in a small JSON file under the user config dir.

``$GREENTUI_CONFIG_DIR`` overrides the folder (tests point it at ``tmp_path``). A missing or unreadable file
simply means "no remembered choices": the setup screen must open whatever is on disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greentui import paths

FILE_NAME = "setup.json"
REMEMBERED = (
    "model_a",
    "model_b",
    "task",
    "limit",
    "schedule",
    "power_source",
    "country",
    "grid_intensity",
    "idle_s",
    "stop_when_settled",
)
"""The SessionConfig fields the setup screen offers and remembers."""


def choices_path() -> Path:
    return paths.config_dir() / FILE_NAME


def load_choices(path: Path | None = None) -> dict[str, Any]:
    """The remembered choices ({} when there are none or the file is unreadable)."""
    try:
        data = json.loads((path or choices_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {key: data[key] for key in REMEMBERED if key in data} if isinstance(data, dict) else {}


def save_choices(choices: dict[str, Any], path: Path | None = None) -> Path:
    """Write the choices (only the remembered keys); returns the file. Raises OSError when it cannot."""
    target = path or choices_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {key: choices[key] for key in REMEMBERED if key in choices}
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(target)  # atomic: a crash never leaves half a file
    return target
