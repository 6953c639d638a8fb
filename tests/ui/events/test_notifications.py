"""The Notifications room in a real window against the real sandbox: the feed, its filters, pause,
unread badge, gap banner, click-through, the dock, the status bar through a server restart, and
desktop notifications' choices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt

from opsconsole.auth.store import MemoryStore
from opsconsole.events.model import Event, Phase
from opsconsole.sandbox.server import RunningSandbox
from opsconsole.ui.events.dock import NotificationsDock
from opsconsole.ui.events.notify import DesktopNotifier
from opsconsole.ui.events.page import NotificationsPage
from opsconsole.ui.events.room import NotificationsRoom, room_for
from opsconsole.ui.shell.app import GuiSession, start_gui
from tests.support.sandbox import ADMIN, ALL_SCOPES, bearer, obtain_tokens
from tests.support.signed_in import config_for, sandbox_profile, store_sign_in
from tests.ui.shown import shown_text

pytestmark = pytest.mark.slow
WAIT = 20_000


@pytest.fixture
def gui(
    qapp: Any, qtbot: Any, make_sandbox: Callable[..., RunningSandbox]
) -> Iterator[Callable[..., GuiSession]]:
    sessions: list[GuiSession] = []

    def open_window(
        sandbox: RunningSandbox, *, scopes: tuple[str, ...] = ALL_SCOPES, **profile_overrides: Any
    ) -> GuiSession:
        MemoryStore.clear_all()
        store_sign_in(sandbox, scopes=scopes)
        profile = sandbox_profile(sandbox, **profile_overrides)
        session = start_gui(
            qapp, config_for(profile), profile=profile.name, install_qt_log=False, show_problems=False
        )
        sessions.append(session)
        qtbot.waitUntil(lambda: room_of(session).feed.status.phase is Phase.LIVE, timeout=WAIT)
        return session

    yield open_window
    for session in sessions:
        session.window.close()
        session.shutdown()
    MemoryStore.clear_all()


def room_of(session: GuiSession) -> NotificationsRoom:
    return room_for(session.window.context)


def notifications_page(session: GuiSession) -> NotificationsPage:
    session.window.show_page("notifications")
    page = session.window.page("notifications")
    assert isinstance(page, NotificationsPage)
    return page


def publish(sandbox: RunningSandbox, items: list[tuple[str, dict[str, Any]]]) -> list[int]:
    published = sandbox.app.state.bus.publish_many([(topic, data, None) for topic, data in items])
    return [int(e["id"]) for e in published]


def alerts(n: int, start: int = 0) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("alert.fired", {"alert": {"summary": f"disk {i} full", "name": "DiskSpaceLow"}})
        for i in range(start, start + n)
    ]


def test_the_feed_shows_events_newest_first_in_few_batches(
    qtbot: Any, gui: Callable[..., GuiSession], make_sandbox: Callable[..., RunningSandbox]
) -> None:
    sandbox = make_sandbox()
    session = gui(sandbox)
    page = notifications_page(session)
    room = room_of(session)
    batches: list[int] = []
    room.feed.eventsArrived.connect(lambda events: batches.append(len(events)))
    ids = publish(sandbox, alerts(500))
    qtbot.waitUntil(lambda: page.model.rowCount() == 500, timeout=WAIT)
    assert [page.model.event_at(r).id for r in range(500)] == ids[::-1]  # newest first, none lost or repeated
    assert page.model.data(page.model.index(0, 2)) == "disk 499 full"
    assert len(batches) < 50  # 500 events, far fewer model updates
    assert page.state.text() == "live"
    assert session.window.status.live.value == "live"


def test_filters_by_topic_type_and_text_and_say_what_is_wrong(
    qtbot: Any, gui: Callable[..., GuiSession], make_sandbox: Callable[..., RunningSandbox]
) -> None:
    sandbox = make_sandbox()
    session = gui(sandbox)
    page = notifications_page(session)
    publish(
        sandbox,
        [
            *alerts(3),
            ("user.created", {"user": {"id": "u1", "email": "zoe@example.test"}}),
            ("role.created", {"role": {"name": "auditor"}}),
        ],
    )
    qtbot.waitUntil(lambda: page.model.rowCount() == 5, timeout=WAIT)
    page.topics.setText("user.* role.#")
    page.apply_filter()
    assert page.proxy.rowCount() == 2
    page.topics.setText("")
    page.text.setText("ZOE@")
    page.apply_filter()
    assert page.proxy.rowCount() == 1 and "zoe@example.test" in page.proxy.index(0, 2).data()
    page.text.setText("")
    page.type.setText("alert.fired")
    page.apply_filter()
    assert page.proxy.rowCount() == 3
    assert page.counts.text().startswith("3 shown of 5")
    page.topics.setText("user.*x")
    page.apply_filter()
    assert page.filter_error.isVisibleTo(page) and "topic pattern" in page.filter_error.text()
    assert page.proxy.rowCount() == 3  # the last good filter stays


def test_a_reader_without_read_users_sees_who_changed_a_role_by_account_id(
    qtbot: Any, gui: Callable[..., GuiSession], make_sandbox: Callable[..., RunningSandbox]
) -> None:
    # The stream leaves the actor's email out for a reader without read:users; the row names the account
    # by its id instead, shortened, and the tooltip gives it whole. Nowhere "None", nowhere blank.
    sandbox = make_sandbox()
    session = gui(sandbox, scopes=("openid", "offline_access", "read:roles", "write:roles"))
    page = notifications_page(session)
    with httpx.Client(
        base_url=f"{sandbox.url}/api", headers=bearer(obtain_tokens(sandbox.url, ADMIN)), timeout=20
    ) as api:
        admin_id = str(api.get("/me").json()["id"])
        made = api.post("/roles", json={"name": "night-shift", "permissions": ["read:roles"]})
        assert made.status_code == 201, made.text
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT)
    assert "actor" not in page.model.event_at(0).data  # what the server withheld
    what = page.proxy.index(0, 2)
    assert what.data() == f"role night-shift · by user {admin_id[:8]}"
    tooltip = shown_text(what.data(Qt.ItemDataRole.ToolTipRole))
    assert tooltip.endswith(f"By user {admin_id}") and ADMIN not in tooltip
    for column in range(page.proxy.columnCount()):
        index = page.proxy.index(0, column)
        for role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.AccessibleTextRole,
        ):
            text = index.data(role)
            assert isinstance(text, str) and text.strip() and "None" not in text, (column, role, text)


def test_pause_holds_new_events_with_a_count_and_resume_shows_them(
    qtbot: Any, gui: Callable[..., GuiSession], make_sandbox: Callable[..., RunningSandbox]
) -> None:
    sandbox = make_sandbox()
    session = gui(sandbox)
    page = notifications_page(session)
    publish(sandbox, alerts(2))
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=WAIT)
    page.pause.click()
    ids = publish(sandbox, alerts(7, start=2))
    qtbot.waitUntil(lambda: page.model.waiting == 7, timeout=WAIT)
    assert page.model.rowCount() == 2 and page.pause.text() == "Resume (7)"
    assert "7 waiting" in page.counts.text()
    page.pause.click()
    assert page.model.rowCount() == 9 and page.model.event_at(0).id == ids[-1]
    assert page.pause.text() == "Pause"


def test_the_rail_counts_unread_while_the_page_is_not_in_view(
    qtbot: Any, gui: Callable[..., GuiSession], make_sandbox: Callable[..., RunningSandbox]
) -> None:
    sandbox = make_sandbox()
    session = gui(sandbox)
    window = session.window
    window.show_page("users")
    row = window.rail.row_of("notifications")
    publish(sandbox, alerts(4))
    qtbot.waitUntil(lambda: window.rail.item(row).text() == "Notifications  (4)", timeout=WAIT)
    page = notifications_page(session)
    assert window.rail.item(row).text() == "Notifications"  # in view: no badge
    assert page.model.unread == 4 and page.mark_read.isEnabled()
    page.mark_read.click()
    assert page.model.unread == 0 and not page.mark_read.isEnabled()
    window.show_page("users")
    publish(sandbox, alerts(1))
    qtbot.waitUntil(lambda: window.rail.item(row).text() == "Notifications  (1)", timeout=WAIT)


def test_a_gap_is_reported_in_words(
    qtbot: Any, gui: Callable[..., GuiSession], make_sandbox: Callable[..., RunningSandbox]
) -> None:
    sandbox = make_sandbox(events_keep=10)
    session = gui(sandbox)
    page = notifications_page(session)
    room = room_of(session)
    publish(sandbox, alerts(3))
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=WAIT)
    room.feed.stop()  # away (asleep, offline) while the server prunes what it keeps
    publish(sandbox, alerts(40, start=3))
    room.feed.restart()  # back: resume after the last event seen
    qtbot.waitUntil(lambda: page.gap_banner.isVisibleTo(page), timeout=WAIT)
    assert "events may be missing" in page.gap_banner.text()
    page.gap_banner.close_button.click()
    assert not page.gap_banner.isVisibleTo(page)


def test_activating_a_user_event_opens_that_user(
    qtbot: Any, gui: Callable[..., GuiSession], make_sandbox: Callable[..., RunningSandbox]
) -> None:
    sandbox = make_sandbox()
    session = gui(sandbox)
    page = notifications_page(session)
    opened: list[tuple[str, str]] = []
    session.window.context.openRequested.connect(lambda key, target: opened.append((key, target)))
    publish(
        sandbox,
        [
            (
                "user.created",
                {"user": {"id": "5b9a1e2c-0000-4000-8000-000000000001", "email": "a@example.test"}},
            ),
            *alerts(1),
        ],
    )
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=WAIT)
    page.table.doubleClicked.emit(page.proxy.index(1, 0))
    assert opened == [("users", "5b9a1e2c-0000-4000-8000-000000000001")]
    assert session.window.current_page_key == "users"
    page.table.doubleClicked.emit(page.proxy.index(0, 0))  # an alert: nothing to open, said so
    assert len(opened) == 1
    assert "nothing to open" in session.window.status.currentMessage()


def test_the_dock_shares_the_list_and_counts_unread(
    qtbot: Any, gui: Callable[..., GuiSession], make_sandbox: Callable[..., RunningSandbox]
) -> None:
    sandbox = make_sandbox()
    session = gui(sandbox)
    dock = session.window.findChild(NotificationsDock, "notificationsDock")
    assert dock is not None and not dock.isVisible()
    dock.toggleViewAction().trigger()
    assert dock.isVisible()
    publish(sandbox, alerts(3))
    qtbot.waitUntil(lambda: dock.table.model().rowCount() == 3, timeout=WAIT)
    assert dock.windowTitle() == "Notifications (3 unread)"


def test_the_status_bar_follows_a_server_restart(
    qtbot: Any, gui: Callable[..., GuiSession], make_sandbox: Callable[..., RunningSandbox], tmp_path: Path
) -> None:
    sandbox = make_sandbox(data_dir=tmp_path / "data")
    port = sandbox.settings.port
    session = gui(sandbox)
    room = room_of(session)
    live = session.window.status.live
    sandbox.stop()
    qtbot.waitUntil(lambda: live.value.startswith("reconnecting"), timeout=WAIT)
    assert "Notifications: reconnecting" in live.toolTip()
    again = make_sandbox(data_dir=tmp_path / "data", port=port)
    qtbot.waitUntil(lambda: live.value == "live", timeout=60_000)
    ids = publish(again, alerts(2))
    page = notifications_page(session)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=WAIT)
    assert [page.model.event_at(r).id for r in range(2)] == ids[::-1]
    assert room.feed.stream is not None and room.feed.stream.stats.reconnects >= 1


def test_desktop_notifications_only_when_away_gathered_and_held_by_do_not_disturb(
    qtbot: Any, qapp: Any
) -> None:
    from PySide6.QtWidgets import QWidget

    window = QWidget()
    qtbot.addWidget(window)  # never shown: the console is "not in front"
    shown: list[tuple[str, str]] = []
    notifier = DesktopNotifier(
        window, topics=("alert.fired",), quiet_s=0.3, show=lambda t, b: shown.append((t, b))
    )
    assert notifier.available

    def event(i: int, topic: str = "alert.fired") -> Event:
        return Event(i, topic, topic, "2026-11-30T10:00:00Z", {"alert": {"summary": f"cpu {i}"}})

    notifier.offer([event(1), event(2, "user.created")])
    assert shown == [("alert.fired", "cpu 1")]
    notifier.offer([event(3), event(4)])  # within the quiet time: gathered, shown once later
    assert len(shown) == 1
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=5_000)
    assert shown[1] == ("alert.fired and 1 more", "cpu 4")
    notifier.set_do_not_disturb(True)
    qtbot.wait(400)  # past the quiet time, so only Do not disturb holds the next one
    notifier.offer([event(5)])
    assert len(shown) == 2
    notifier.set_do_not_disturb(False)
    notifier.set_topics("user.*")
    notifier.offer([event(6), event(7, "user.created")])
    assert shown[-1][0] == "user.created"
    with pytest.raises(ValueError, match="topic pattern"):
        notifier.set_topics("user.*x")


def test_signing_out_stops_and_clears_the_feed_and_signing_in_starts_it_again(
    qtbot: Any,
    gui: Callable[..., GuiSession],
    make_sandbox: Callable[..., RunningSandbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess
    import sys
    import webbrowser

    from opsconsole.ui.signin.page import SignInView

    script = Path(__file__).resolve().parents[2] / "support" / "scripted_browser.py"

    def scripted_browser(url: str, new: int = 0, autoraise: bool = True) -> bool:
        return subprocess.run([sys.executable, str(script), url], timeout=60, check=False).returncode == 0

    # The session takes the browser when it is made: the scripted one is in place before the window.
    monkeypatch.setattr(webbrowser, "open", scripted_browser)
    monkeypatch.setenv("OPSCONSOLE_TEST_EMAIL", "admin@sandbox.test")
    sandbox = make_sandbox()
    session = gui(sandbox)
    window, room = session.window, room_of(session)
    publish(sandbox, alerts(2))
    qtbot.waitUntil(lambda: room.model.rowCount() == 2, timeout=WAIT)

    window.menu_actions.sign_out.trigger()
    qtbot.waitUntil(
        lambda: room.feed.status.phase is Phase.SIGNED_OUT and not room.feed.running, timeout=WAIT
    )
    assert room.model.rowCount() == 0  # nothing of the previous user stays on screen
    assert window.status.live.value == "signed out"
    publish(sandbox, alerts(3, start=2))  # while nobody is signed in: never shown

    qtbot.waitUntil(lambda: isinstance(window.gate, SignInView), timeout=WAIT)
    window.gate.sign_in_button.click()
    qtbot.waitUntil(lambda: room.feed.status.phase is Phase.LIVE, timeout=60_000)
    ids = publish(sandbox, alerts(2, start=5))
    qtbot.waitUntil(lambda: room.model.rowCount() == 2, timeout=WAIT)
    assert [room.model.event_at(r).id for r in range(2)] == ids[::-1]


def test_a_desktop_notification_holds_no_markup_whatever_the_event_says(qtbot: Any) -> None:
    # GNOME Shell and Plasma read a notification's body as markup: an event naming a user
    # '<a href=...>' or '<img src=...>' must not become a link or a fetched picture.
    from PySide6.QtWidgets import QWidget

    window = QWidget()
    qtbot.addWidget(window)
    shown: list[tuple[str, str]] = []
    notifier = DesktopNotifier(window, topics=("alert.*",), quiet_s=0, show=lambda t, b: shown.append((t, b)))
    hostile = '<img src="http://tracker.invalid/p.png"><a href="http://evil.invalid">Reset your password</a>'
    notifier.offer([Event(1, "alert.fired<b>", "alert.fired<b>", "2026-11-30T10:00:00Z",
                          {"alert": {"summary": hostile}})])  # fmt: skip
    assert len(shown) == 1
    title, body = shown[0]
    assert "<" not in title + body
    assert (
        body == '\u2039img src="http://tracker.invalid/p.png">\u2039a href="http://evil.invalid">'
        "Reset your password\u2039/a>"
    )
    notifier.quiet_s = 0
    notifier.offer([Event(2, "alert.fired", "alert.fired", "2026-11-30T10:00:00Z",
                          {"alert": {"summary": "p99 latency > 500 ms"}})])  # fmt: skip
    assert shown[-1][1] == "p99 latency > 500 ms"  # words that only look like markup are left alone
