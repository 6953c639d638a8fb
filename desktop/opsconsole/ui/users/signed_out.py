"""The users pages' word while no one is signed in: what is needed, and the button that does it.

Signed out, nothing on these pages can be read or retried, so they show neither an error with *Retry*
nor an empty list's count: one notice says to sign in, and its *Sign in…* asks the window for the
sign-in (``PageContext.request_sign_in``: the sign-in page, or the sign-in-again dialog after a
session ended).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..signin.banner import Banner

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from ..shell.context import PageContext


def signed_out_notice(context: PageContext, what: str, page: QWidget) -> Banner:
    """The notice for ``page`` of ``what`` ("users", "roles"), hidden until the page shows it."""
    notice = Banner(
        f"You are not signed in. Sign in to see {what}.",
        kind="info",
        action="Sign in…",
        closable=False,
        parent=page,
    )
    notice.setObjectName(f"{what}SignedOut")
    notice.action.setAccessibleName("Sign in")
    notice.actionTriggered.connect(context.request_sign_in)
    notice.hide()
    return notice
