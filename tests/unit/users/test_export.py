"""Export: CSV safe against formula injection, JSON valid, streamed page by page, no half files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from opsconsole import net
from opsconsole.users import UserQuery
from opsconsole.users.bulk import CancelToken
from opsconsole.users.export import ExportCancelled, csv_safe, export_to_file, export_users
from tests.unit.users.stub import StubApi, ok, problem, user_json


@pytest.mark.parametrize(
    ("cell", "safe"),
    [("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\tx", "'\tx"), ("\rx", "'\rx"), ("Ann Lee", "Ann Lee"), ("a=b", "a=b"), ("", "")],
)  # fmt: skip
def test_csv_cells_that_start_a_formula_are_made_inert(cell: str, safe: str) -> None:
    assert csv_safe(cell) == safe


def paged_api() -> StubApi:
    api = StubApi()
    api.on(
        "GET /users",
        ok({"items": [user_json(1, name="=cmd|' /C calc'!A0"), user_json(2)], "next_cursor": "c"}),
        ok({"items": [user_json(3, roles=["a", "b"])], "next_cursor": None}),
    )
    return api


async def test_csv_is_streamed_page_by_page_with_progress() -> None:
    api = paged_api()
    out = io.StringIO()
    progress: list[int] = []
    count = await export_users(api.client(), UserQuery(status="active"), out, "csv", page_size=2,
                               on_progress=progress.append)  # fmt: skip
    assert count == 3 and progress == [2, 3]
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["id", "email", "name", "status", "roles", "created_at", "updated_at"]
    assert rows[1][2] == "'=cmd|' /C calc'!A0"
    assert rows[3][4] == "a;b" and rows[3][5] == "2026-01-02T03:04:05Z"
    assert all(r.url.params["status"] == "active" for r in api.requests)


async def test_json_is_one_array_of_contract_users() -> None:
    out = io.StringIO()
    assert await export_users(paged_api().client(), UserQuery(), out, "json", page_size=2) == 3
    data = json.loads(out.getvalue())
    assert data[2] == user_json(3, roles=["a", "b"])
    empty = StubApi()
    empty.on("GET /users", ok({"items": [], "next_cursor": None}))
    out = io.StringIO()
    assert await export_users(empty.client(), UserQuery(), out, "json") == 0
    assert json.loads(out.getvalue()) == []


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def test_a_failed_or_cancelled_export_leaves_no_file(tmp_path: Path) -> None:
    api = StubApi()
    api.on("GET /users", ok({"items": [user_json(1)], "next_cursor": "c"}), problem(500, "database down"))
    target = tmp_path / "users.csv"
    with pytest.raises(net.ApiError, match="database down"):
        await export_to_file(api.client(), UserQuery(), target, "csv")
    assert names(tmp_path) == []

    cancel = CancelToken()
    with pytest.raises(ExportCancelled):
        await export_to_file(paged_api().client(), UserQuery(), target, "json", page_size=2,
                             on_progress=lambda n: cancel.cancel(), cancel=cancel)  # fmt: skip
    assert names(tmp_path) == []

    assert await export_to_file(paged_api().client(), UserQuery(), target, "json", page_size=2) == 3
    assert names(tmp_path) == ["users.csv"]
    assert len(json.loads(read(target))) == 3
