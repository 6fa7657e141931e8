"""The setup screen accepts a served model's spec and says whether its server answers before the race starts."""

from __future__ import annotations

import socket

from greentui.store import SessionStore
from greentui.tui.screens.setup import SetupScreen
from greentui.tui.widgets.model_picker import ModelPicker
from tests.helpers.openai_server import start_server
from tests.tui.pilot_helpers import quiet_app, wait_for

SIZE = (160, 48)


async def type_into(pilot, app, widget_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    assert app.focused is not None and app.focused.id == widget_id, f"focus is on {app.focused!r}"
    await pilot.press("end", "ctrl+u", *text)


async def test_a_served_spec_is_checked_against_its_server(store: SessionStore) -> None:
    server = start_server()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = probe.getsockname()[1]
    try:
        app = quiet_app(store=store)
        async with app.run_test(size=SIZE) as pilot:
            setup = app.screen
            assert isinstance(setup, SetupScreen)
            picker = setup.query_one("#picker-a", ModelPicker)
            check = picker.query_one(".spec-check")
            await type_into(pilot, app, "spec-a", server.spec("ok"))
            await wait_for(pilot, lambda: picker.probe is not None, what="the server's answer")
            assert picker.spec is not None and picker.spec.is_served
            shown = str(check.render())
            assert f"ok · 127.0.0.1:{server.port}" in shown and "✓ server answers: serves ok" in shown
            assert not check.has_class("-unreachable") and not check.has_class("-invalid")

            await type_into(pilot, app, "spec-a", f"openai:http://127.0.0.1:{nobody}/v1?model=x")
            await wait_for(pilot, lambda: picker.probe is not None, what="the refusal")
            assert "✗ server does not answer: connection refused" in str(check.render())
            assert check.has_class("-unreachable")
            assert setup.choices()["model_a"] == f"openai:http://127.0.0.1:{nobody}/v1?model=x"  # still runnable
    finally:
        server.shutdown()
        server.server_close()
