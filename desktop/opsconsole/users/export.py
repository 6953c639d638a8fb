"""Export a filtered users list to CSV or JSON, streamed page by page, with progress and cancel.

Memory stays flat whatever the list's size: each page is written and dropped before the next is
asked for. :func:`export_to_file` writes beside the target and renames when done, so a failed or
cancelled export never leaves a half file under the chosen name.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return: OWASP's "CSV injection") get a leading ``'``; a user's name is whatever someone
typed. JSON is one array of the contract's user objects.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TextIO

from ..errors import OpsError
from .bulk import CancelToken
from .client import MAX_PAGE, UsersClient
from .models import User, UserQuery

Format = Literal["csv", "json"]
FORMATS: tuple[Format, ...] = ("csv", "json")
CSV_COLUMNS = ("id", "email", "name", "status", "roles", "created_at", "updated_at")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportCancelled(OpsError):
    """The export was cancelled; nothing was kept."""


def csv_safe(cell: str) -> str:
    """``cell`` made inert for spreadsheets: a leading ``'`` when it could start a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def csv_row(user: User) -> list[str]:
    data = user.to_json()
    data["roles"] = ";".join(user.roles)
    return [csv_safe(str(data[column])) for column in CSV_COLUMNS]


class _Writer:
    def __init__(self, out: TextIO, fmt: Format) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        self.out = out
        self.fmt = fmt
        self.count = 0
        self._csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None

    def start(self) -> None:
        if self._csv is not None:
            self._csv.writerow(CSV_COLUMNS)
        else:
            self.out.write("[")

    def write(self, users: tuple[User, ...]) -> None:
        if self._csv is not None:
            self._csv.writerows(csv_row(u) for u in users)
        else:
            for user in users:
                self.out.write(",\n" if self.count else "\n")
                self.out.write(json.dumps(user.to_json(), ensure_ascii=False))
                self.count += 1
            return
        self.count += len(users)

    def finish(self) -> None:
        if self._csv is None:
            self.out.write("\n]\n" if self.count else "]\n")


async def export_users(
    client: UsersClient,
    query: UserQuery,
    out: TextIO,
    fmt: Format,
    *,
    page_size: int = MAX_PAGE,
    on_progress: Callable[[int], None] | None = None,
    cancel: CancelToken | None = None,
) -> int:
    """Write every user matching ``query`` to ``out`` as ``fmt``; returns how many were written."""
    writer = _Writer(out, fmt)
    writer.start()
    async for page in client.walk_users(query, page_size=page_size):
        if cancel is not None and cancel.cancelled:
            raise ExportCancelled("the export was cancelled")
        writer.write(page.items)
        if on_progress is not None:
            on_progress(writer.count)
    writer.finish()
    return writer.count


async def export_to_file(
    client: UsersClient,
    query: UserQuery,
    path: Path,
    fmt: Format,
    *,
    page_size: int = MAX_PAGE,
    on_progress: Callable[[int], None] | None = None,
    cancel: CancelToken | None = None,
) -> int:
    """:func:`export_users` into ``path``, replaced only when the whole export succeeded."""
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            count = await export_users(
                client, query, out, fmt, page_size=page_size, on_progress=on_progress, cancel=cancel
            )
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return count
