"""Where greentui keeps things on disk (XDG locations through platformdirs), each overridable by environment.

Nothing here creates a folder or opens a file at import time; callers ask when they need a path.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "greentui"


def db_path() -> Path:
    """The session database: ``$GREENTUI_DB`` or the user data dir (``~/.local/share/greentui/greentui.db``)."""
    override = os.environ.get("GREENTUI_DB")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "greentui.db"


def config_dir() -> Path:
    """Remembered choices of the setup screen: ``$GREENTUI_CONFIG_DIR`` or the user config dir."""
    override = os.environ.get("GREENTUI_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME))


def state_dir() -> Path:
    """Recovery journals and other state worth keeping: ``$GREENTUI_STATE_DIR`` or the user state dir."""
    override = os.environ.get("GREENTUI_STATE_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_state_dir(APP_NAME))
