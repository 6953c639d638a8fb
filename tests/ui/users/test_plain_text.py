"""A user's words are shown as words: an account whose name and email hold markup, read from the real
sandbox, is shown literally in the table's tooltip, the detail's fields and a confirmation's question."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from opsconsole.users import User, UsersClient
from tests.ui.shown import HOSTILE, shown_label, shown_text

from .test_editing import _open_detail, _row_of

pytestmark = pytest.mark.slow

EMAIL = "<i>vera</i>@sandbox.test"  # a valid address: nothing but "@" and white space is refused


def test_a_user_named_with_markup_is_shown_as_text(open_console: Any) -> None:
    console = open_console()

    async def rename(client: UsersClient) -> User:
        return await client.update_user(
            await client.find_user("viewer@sandbox.test"), name=HOSTILE, email=EMAIL
        )

    console.other(rename)  # before the page first reads the list
    view = console.users()
    row = _row_of(view, EMAIL)
    for column, text in ((0, EMAIL), (1, HOSTILE)):
        assert shown_text(view.model.index(row, column).data(Qt.ItemDataRole.ToolTipRole)) == text
    detail = _open_detail(console, view, EMAIL)
    assert shown_label(detail.fields["name"]) == HOSTILE
    assert shown_label(detail.fields["email"]) == EMAIL
    detail.delete_button.click()
    dialog = detail.editor.dialog
    assert dialog is not None
    shown = [shown_label(label) for label in dialog.findChildren(QLabel)]
    assert any(text.startswith(f"Delete {EMAIL} ({HOSTILE})?") for text in shown), shown
    dialog.reject()
