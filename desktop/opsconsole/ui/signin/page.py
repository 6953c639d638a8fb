"""The sign-in page shown for a profile that is not signed in.

It says where the user is about to sign in (profile, environment, identity provider), starts the
browser sign-in, and while waiting shows the link (to copy when no browser opened) and a *Cancel*
button. Errors from the provider are shown in words. In the demo it lists the demo accounts and their
password. Without a usable keyring it says, before anything else, that tokens will be kept in memory
for this run only.

The view holds no logic: it emits :attr:`SignInView.signInRequested` and
:attr:`SignInView.cancelRequested`; ``controller.SignInController`` runs the sign-in and calls
back :meth:`set_waiting`, :meth:`set_idle` and :meth:`show_error`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...config import Profile
from ..shell import plain
from ..shell.widgets import Card
from .banner import Banner

_ENVIRONMENT_WORDS = {
    "production": "Production: changes affect real users",
    "staging": "Staging: a shared test system",
    "development": "Development environment",
}


class SignInView(QWidget):
    """The sign-in page of one profile."""

    signInRequested = Signal()
    cancelRequested = Signal()

    def __init__(
        self,
        profile: Profile,
        *,
        demo_accounts: Sequence[tuple[str, str]] | None = None,
        demo_password: str | None = None,
        storage_warning: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self.setObjectName("signInView")
        self.setAccessibleName(f"Sign in to {profile.display_name}")

        self.storage_banner = Banner(storage_warning, kind="warning", closable=False)
        self.storage_banner.setObjectName("noKeyringWarning")
        self.storage_banner.setVisible(bool(storage_warning))

        title = plain.label(f"Sign in to {profile.display_name}")
        title.setObjectName("signInTitle")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.7)
        font.setWeight(QFont.Weight.DemiBold)
        title.setFont(font)

        self.environment = plain.label(_ENVIRONMENT_WORDS.get(profile.environment, profile.environment))
        self.environment.setObjectName("signInEnvironment")
        self.environment.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        intro = QLabel(
            "Ops Console opens your web browser on your organisation's sign-in page. After you sign in "
            "there, the browser comes back to the console by itself: there is nothing to paste. You "
            "stay signed in until you sign out."
        )
        intro.setWordWrap(True)

        self.provider = plain.label(f"Identity provider: {profile.issuer}")
        self.provider.setObjectName("signInProvider")
        self.provider.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.provider.setWordWrap(True)

        self.sign_in_button = QPushButton("&Sign in with browser")
        self.sign_in_button.setObjectName("signInButton")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.setMinimumHeight(34)
        self.sign_in_button.setMinimumWidth(200)
        self.sign_in_button.setAccessibleName("Sign in with browser")
        self.sign_in_button.clicked.connect(self.signInRequested)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setObjectName("signInCancel")
        self.cancel_button.setAccessibleName("Cancel the sign-in")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.cancel_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_in_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy indicator: how long the browser takes is unknowable
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.setAccessibleName("Waiting for the browser")
        self.progress.hide()

        self.waiting = plain.label()  # may quote the identity provider
        self.waiting.setObjectName("signInWaiting")
        self.waiting.setWordWrap(True)
        self.waiting.hide()

        self.link = QLineEdit()
        self.link.setObjectName("signInLink")
        self.link.setReadOnly(True)
        self.link.setAccessibleName("Sign-in link")
        self.copy_link = QPushButton("Copy &link")
        self.copy_link.setAccessibleName("Copy the sign-in link")
        self.copy_link.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.link.text()))
        self.link_row = QWidget()
        link_layout = QHBoxLayout(self.link_row)
        link_layout.setContentsMargins(0, 0, 0, 0)
        link_layout.addWidget(self.link, 1)
        link_layout.addWidget(self.copy_link)
        self.link_row.hide()

        self.error = Banner("", kind="error", closable=True)
        self.error.setObjectName("signInError")
        self.error.hide()

        card = Card()
        card.setObjectName("signInCard")
        card.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(10)
        inner.addWidget(title)
        inner.addWidget(self.environment)
        inner.addWidget(intro)
        inner.addWidget(self.provider)
        inner.addSpacing(4)
        inner.addLayout(buttons)
        inner.addWidget(self.progress)
        inner.addWidget(self.waiting)
        inner.addWidget(self.link_row)
        inner.addWidget(self.error)

        self.demo_rows: list[tuple[QLabel, QLabel]] = []
        if demo_accounts:
            inner.addSpacing(6)
            inner.addWidget(self._demo_section(demo_accounts, demo_password))

        # A centred column at most 640 px wide: the banner spans the card's width, and the wrapped
        # texts get their height for the width they really have.
        column = QWidget()
        column.setMaximumWidth(640)
        column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(16)
        column_layout.addWidget(self.storage_banner)
        column_layout.addWidget(card)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column, 100)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 32)
        layout.addLayout(row)
        layout.addStretch(1)

    def _demo_section(self, accounts: Sequence[tuple[str, str]], password: str | None) -> QWidget:
        box = QWidget()
        box.setObjectName("demoAccounts")
        box.setAccessibleName("Demo accounts")
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Demo accounts")
        heading_font = QFont(heading.font())
        heading_font.setWeight(QFont.Weight.DemiBold)
        heading.setFont(heading_font)
        note = QLabel(
            "This is a local sandbox. Sign in on its page with one of these accounts"
            + (f"; the password is \u201c{password}\u201d." if password else ".")
        )
        note.setWordWrap(True)
        grid = QGridLayout()
        grid.setContentsMargins(12, 4, 0, 0)
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(4)
        for row, (email, role) in enumerate(accounts):
            account = plain.label(email)
            account.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            account.setAccessibleName(f"Demo account {email}, role {role}")
            role_label = plain.label(role)
            role_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            grid.addWidget(account, row, 0)
            grid.addWidget(role_label, row, 1)
            self.demo_rows.append((account, role_label))
        grid.setColumnStretch(2, 1)
        column.addWidget(heading)
        column.addWidget(note)
        column.addLayout(grid)
        return box

    # -- what the controller calls ---------------------------------------------------------------------

    def set_storage_warning(self, text: str) -> None:
        self.storage_banner.set_text(text)
        self.storage_banner.setVisible(bool(text))

    def set_waiting(self, url: str = "") -> None:
        """The browser sign-in is under way; ``url`` is the link, shown for copying."""
        self.error.hide()
        self.sign_in_button.setEnabled(False)
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.progress.show()
        self.waiting.setText(
            "Finish signing in in your browser. If no browser opened, copy this link into one on this "
            "computer:"
            if url
            else "Starting the sign-in\u2026"
        )
        self.waiting.show()
        self.link.setText(url)
        self.link_row.setVisible(bool(url))

    def show_notice(self, text: str) -> None:
        self.waiting.setText(text)
        self.waiting.show()

    def set_idle(self) -> None:
        self.sign_in_button.setEnabled(True)
        self.cancel_button.hide()
        self.progress.hide()
        self.waiting.hide()
        self.link_row.hide()
        self.link.clear()

    def show_error(self, text: str) -> None:
        self.set_idle()
        self.error.set_text(text)
        self.error.show()

    def first_focus(self) -> QWidget:
        return self.sign_in_button
