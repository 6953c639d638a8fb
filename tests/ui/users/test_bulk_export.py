"""Bulk actions and export from the Users page against a real sandbox."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from opsconsole.ui.users.progress import BulkDialog, ExportDialog
from opsconsole.users import User, UserQuery, UsersClient

pytestmark = pytest.mark.slow


def test_bulk_grant_with_one_failure_in_the_middle(open_console: Any) -> None:
    console = open_console(users=40)
    view = console.users()
    rows = view.model.state.rows
    plain = [i for i, u in enumerate(rows) if "sandbox.test" not in u.email and "analyst" not in u.roles][:5]
    chosen = [view.model.state.rows[i] for i in plain]
    view.select_rows(plain)
    assert view.selected_users() == chosen and view.bulk_grant.isEnabled()

    async def delete_the_middle_one(client: UsersClient) -> None:
        await client.delete_user(await client.get_user(chosen[2].id))

    console.other(delete_the_middle_one)  # gone by the time the bulk run reaches it
    dialog: BulkDialog = view.bulk_role(grant=True, role="analyst")
    console.qtbot.waitUntil(lambda: dialog.summary_result is not None, timeout=20_000)
    summary = dialog.summary_result
    assert summary.succeeded == 4 and [r.user.email for r in summary.failed] == [chosen[2].email]
    assert dialog.bar.value() == dialog.bar.maximum() == 5
    results = [dialog.table.item(r, 1).text() for r in range(5)]
    assert results[:2] == ["done", "done"] and results[3:] == ["done", "done"]
    assert results[2].startswith("failed: Not found (HTTP 404)")
    assert dialog.summary.text().startswith("4 of 5 done, 1 failed\n  1 × Not found (HTTP 404)")
    assert chosen[2].email in dialog.summary.text()
    assert dialog.close_button.isEnabled() and not dialog.cancel_button.isEnabled()

    async def holders(client: UsersClient) -> set[str]:
        return {u.email async for page in client.walk_users(UserQuery(role="analyst")) for u in page.items}

    assert {u.email for u in chosen} - console.other(holders) == {chosen[2].email}
    dialog.close_button.click()


def test_a_bulk_run_can_be_cancelled(open_console: Any) -> None:
    console = open_console(users=60)
    view = console.users()
    rows = [i for i, u in enumerate(view.model.state.rows) if "sandbox.test" not in u.email][:40]
    view.select_rows(rows)
    dialog: BulkDialog = view.bulk_disable_selected()
    dialog.cancel_button.click()  # at once: the first few may be sent already, the rest are not started
    console.qtbot.waitUntil(lambda: dialog.summary_result is not None, timeout=20_000)
    summary = dialog.summary_result
    assert summary.skipped > 0 and summary.succeeded + summary.skipped == 40
    assert "not started (cancelled)" in dialog.summary.text()
    dialog.close_button.click()


def _export(console: Any, view: Any, path: Path, **kwargs: Any) -> ExportDialog:
    dialog: ExportDialog = view.export(path, **kwargs)
    console.qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
    return dialog


def test_export_the_filtered_list_to_csv_and_json(open_console: Any, tmp_path: Path) -> None:
    console = open_console(users=700)
    view = console.users()
    view.status.setCurrentIndex(view.status.findData("active"))
    console.qtbot.waitUntil(lambda: view.model.query.status == "active" and not view.model.state.loading,
                            timeout=10_000)  # fmt: skip

    async def expected(client: UsersClient) -> list[User]:
        return [u async for page in client.walk_users(UserQuery(status="active")) for u in page.items]

    active = console.other(expected)
    assert len(active) > 500  # more than the table has loaded, and than one export page: all are walked

    dialog = _export(console, view, tmp_path / "active.csv")
    assert dialog.expected == len(active)  # the list's total sizes the bar: no busy bar
    assert dialog.count == len(active) and f"{len(active):,} users written" in dialog.summary.text()
    with (tmp_path / "active.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["email"] for r in rows] == [u.email for u in active]
    assert {r["status"] for r in rows} == {"active"}
    dialog.close_button.click()

    dialog = _export(console, view, tmp_path / "active.json")
    data = json.loads((tmp_path / "active.json").read_text(encoding="utf-8"))
    assert data == [u.to_json() for u in active]
    dialog.close_button.click()


def test_export_the_selected_users(open_console: Any, tmp_path: Path) -> None:
    console = open_console(users=20)
    view = console.users()
    view.select_rows([1, 3, 4])
    dialog = _export(console, view, tmp_path / "picked.json", selected=True)
    assert (tmp_path / "picked.json").exists(), dialog.summary.text()
    data = json.loads((tmp_path / "picked.json").read_text(encoding="utf-8"))
    assert [d["email"] for d in data] == [view.model.state.rows[i].email for i in (1, 3, 4)]
    dialog.close_button.click()
