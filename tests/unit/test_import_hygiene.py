"""The headless core never imports the UI, and the command line starts without the heavy libraries."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import greentui.core

CORE_MODULES = sorted(m.name for m in pkgutil.walk_packages(greentui.core.__path__, prefix="greentui.core."))
HEAVY = ("torch", "transformers", "textual")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().split(","))


def test_core_modules_are_discovered() -> None:
    assert "greentui.core.run.session" in CORE_MODULES
    assert "greentui.core.records" in CORE_MODULES


def test_no_core_module_imports_textual_or_rich() -> None:
    imports = "\n".join(f"import {name}" for name in CORE_MODULES)
    loaded = _loaded_after(imports)
    assert "textual" not in loaded, "greentui.core must never import textual"
    assert "rich" not in loaded, "greentui.core must never import rich (renderers live in greentui.text)"


def test_core_without_models_does_not_import_torch() -> None:
    light = [m for m in CORE_MODULES if not m.startswith("greentui.core.models.")]
    loaded = _loaded_after("\n".join(f"import {name}" for name in light))
    assert "torch" not in loaded and "transformers" not in loaded


def test_help_loads_neither_torch_nor_transformers_nor_textual() -> None:
    loaded = _loaded_after(
        "import contextlib, io\nfrom greentui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    )
    for name in HEAVY:
        assert name not in loaded, f"`greentui --help` imported {name}"


def test_sessions_listing_imports_neither_pandas_nor_numpy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`greentui sessions` opens the store and prints a table: sqlite-utils (which imports pandas and numpy when
    they are installed) and the verdict statistics (numpy) stay out, so the listing starts in a blink."""
    from greentui.store import SessionStore
    from tests.helpers.many_sessions import fill_many

    db = tmp_path / "listed.db"
    fill_many(SessionStore(db), 5)
    for argv in (["sessions"], ["sessions", "--json"]):
        loaded = _loaded_after(
            f"import contextlib, io, os\nos.environ['GREENTUI_DB'] = {str(db)!r}\nfrom greentui.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()) as out:\n    assert main({argv!r}) == 0\n"
            "assert 'base-sentiment' in out.getvalue()"
        )
        for name in ("pandas", "numpy", "sqlite_utils", "torch", "textual"):
            assert name not in loaded, f"`greentui {' '.join(argv)}` imported {name}"


def test_no_module_is_over_400_lines() -> None:
    """The layout's size bar (issue 11): a module that grows past it is split, not stretched."""
    from pathlib import Path

    root = Path(greentui.core.__file__).resolve().parents[1]
    lengths = {path.relative_to(root).as_posix(): len(path.read_text().splitlines()) for path in root.rglob("*.py")}
    assert len(lengths) > 100
    assert {name: n for name, n in lengths.items() if n > 400} == {}
