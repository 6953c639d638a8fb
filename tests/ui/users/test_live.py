"""Live user events: a change made elsewhere shows in the visible row, a new user marks the list stale."""

from __future__ import annotations

from typing import Any

import pytest

from opsconsole.users import User, UsersClient

pytestmark = pytest.mark.slow


def test_a_change_made_elsewhere_updates_the_visible_row(open_console: Any) -> None:
    console = open_console(live=True)
    view = console.users()
    console.qtbot.waitUntil(lambda: view.live.status == "live", timeout=15_000)
    row = next(i for i, u in enumerate(view.model.state.rows) if u.email == "viewer@sandbox.test")

    async def rename(client: UsersClient) -> User:
        return await client.update_user(
            await client.find_user("viewer@sandbox.test"), name="Renamed Elsewhere"
        )

    with console.qtbot.waitSignal(view.model.dataChanged, timeout=15_000):
        console.other(rename)
    assert view.model.data(view.model.index(row, 1)) == "Renamed Elsewhere"
    assert not view.stale.isVisible()

    async def create(client: UsersClient) -> User:
        return await client.create_user(email="new.colleague@example.org", name="New Colleague")

    console.other(create)
    console.qtbot.waitUntil(lambda: view.stale.isVisible(), timeout=15_000)
    assert "user.created" in view.stale.text.text()
    view.stale.button.click()
    console.qtbot.waitUntil(
        lambda: not view.model.state.loading and len(view.model.state) == 4, timeout=10_000
    )
    assert not view.stale.isVisible()
