"""At 80x24 the setup screen still shows both models with their variants, the task list and the Run button; the
chosen model is highlighted in its list; and every screen's footer keeps quit and help."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Button, Input, OptionList
from textual.widgets._footer import FooterKey

from greentui.store import SessionStore
from greentui.tui.screens import setup as setup_screen
from greentui.tui.screens.setup import SetupScreen
from greentui.tui.widgets.key_footer import KeyFooter
from greentui.tui.widgets.model_picker import ModelPicker
from tests.snapshots.conftest import CATALOG, TASKS
from tests.tui.pilot_helpers import quiet_app, wait_for

SMALL = (80, 24)


@pytest.fixture(autouse=True)
def _fixed_lists(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(setup_screen, "catalog_choices", lambda: list(CATALOG))
    monkeypatch.setattr(setup_screen, "task_choices", lambda: list(TASKS))
    yield


async def loaded_setup(pilot: Any) -> SetupScreen:
    screen = pilot.app.screen
    assert isinstance(screen, SetupScreen)
    await wait_for(pilot, lambda: screen.query_one("#task-list", OptionList).option_count > 0, what="tasks")
    await wait_for(pilot, lambda: screen.query_one(".catalog-list", OptionList).option_count > 0, what="catalog")
    return screen


def visible(widget: Any, screen_size: tuple[int, int]) -> bool:
    region = widget.region
    return region.width > 0 and region.height > 0 and region.right <= screen_size[0] and region.bottom <= screen_size[1]


async def test_setup_fits_80x24(store: SessionStore) -> None:
    app = quiet_app(store=store)
    async with app.run_test(size=SMALL) as pilot:
        screen = await loaded_setup(pilot)
        assert screen.has_class("-compact")
        assert visible(screen.query_one("#run-button", Button), SMALL)
        for side in ("a", "b"):
            spec = screen.query_one(f"#spec-{side}", Input)
            assert visible(spec, SMALL) and spec.content_size.width >= len(spec.value)  # the variant shows
        catalog = screen.query_one("#picker-a .catalog-list", OptionList)
        assert catalog.region.height >= len(CATALOG)  # every catalog model, variant and all
        assert screen.query_one("#task-list", OptionList).region.height >= len(TASKS)
        footer = screen.query_one(KeyFooter)
        actions = [key.action for key in footer.query(FooterKey)]
        assert actions[:2] == ["quit_app", "help"]
        assert all(visible(key, SMALL) for key in footer.query(FooterKey))


async def test_the_chosen_model_is_highlighted(store: SessionStore) -> None:
    app = quiet_app(store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await loaded_setup(pilot)
        picker = screen.query_one("#picker-b", ModelPicker)
        catalog = picker.query_one(OptionList)
        specs = [choice.spec for choice in CATALOG]
        assert catalog.highlighted == specs.index("smollm2-135m@nf4")
        assert "reverse" in str(catalog.get_option_at_index(catalog.highlighted).prompt.spans)  # type: ignore[union-attr]
        screen.query_one("#spec-b", Input).value = "smollm2-135m@bf16"
        await pilot.pause()
        assert catalog.highlighted == specs.index("smollm2-135m@bf16")
        others = [catalog.get_option_at_index(i).prompt for i in range(len(specs)) if specs[i] != "smollm2-135m@bf16"]
        assert not any("reverse" in str(prompt.spans) for prompt in others)  # type: ignore[union-attr]
