"""The page shown instead of the workspace when no profile is configured at all.

It says where the profile file goes (the user's file; an admin may also provide a managed one), gives
an example that passes validation as it is, and points at ``opsconsole demo`` for trying the console
against a local sandbox without writing any file.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ... import paths
from . import plain
from .qtprops import set_enum_property
from .widgets import Card

EXAMPLE_PROFILES = """\
default_profile = "staging"

[profiles.staging]
label = "Staging"
environment = "staging"          # development | staging | production
api_url = "https://staging.example.com/api"
issuer = "https://login.example.com/realms/staging"
client_id = "opsconsole"
events_url = "wss://staging.example.com/ws/notifications"
prometheus_url = "https://prometheus.example.com"
"""


class WelcomePage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        self.setAccessibleName("Welcome")
        self.config_file = paths.user_config_file()

        title = QLabel("Welcome to Ops Console")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.7)
        font.setWeight(QFont.Weight.DemiBold)
        title.setFont(font)

        intro = QLabel(
            "No profile is configured yet. A profile describes one environment the console "
            "operates: its API, its sign-in provider and, optionally, its event stream, metrics "
            "and traces. Profiles are read from this file:"
        )
        intro.setWordWrap(True)

        self.path_label = plain.label(str(self.config_file))
        self.path_label.setObjectName("welcomeConfigPath")
        self.path_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        set_enum_property(self.path_label, "textInteractionFlags", "TextSelectableByMouse")
        self.path_label.setAccessibleName("Profile file location")
        self.copy_path = QPushButton("Copy &path")
        self.copy_path.setAccessibleName("Copy the profile file path")
        self.copy_path.clicked.connect(lambda: QGuiApplication.clipboard().setText(str(self.config_file)))
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_label, 1)
        path_row.addWidget(self.copy_path)

        example_intro = QLabel("For example (restart the console after saving it):")
        self.example = QPlainTextEdit(EXAMPLE_PROFILES)
        self.example.setObjectName("welcomeExample")
        self.example.setReadOnly(True)
        self.example.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.example.setAccessibleName("Example profile file")
        self.example.setTabChangesFocus(True)
        self.example.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        # The card is on the Base colour already; a shade apart keeps the example visibly a block of its own.
        self.example.viewport().setBackgroundRole(QPalette.ColorRole.AlternateBase)
        lines = EXAMPLE_PROFILES.count("\n") + 1
        self.example.setFixedHeight(self.example.fontMetrics().lineSpacing() * lines + 16)
        self.copy_example = QPushButton("Copy &example")
        self.copy_example.setAccessibleName("Copy the example profile file")
        self.copy_example.clicked.connect(lambda: QGuiApplication.clipboard().setText(EXAMPLE_PROFILES))

        demo = QLabel(
            "To try the console first, run <code>opsconsole demo</code>: it starts a local sandbox "
            "backend and opens the console connected to it, with demo accounts. Nothing is written "
            "to your profile file."
        )
        set_enum_property(demo, "textFormat", "RichText")
        demo.setWordWrap(True)
        demo.setObjectName("welcomeDemo")

        card = Card()
        card.setObjectName("welcomeCard")
        card.setMaximumWidth(760)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(10)
        inner.addWidget(title)
        inner.addWidget(intro)
        inner.addLayout(path_row)
        inner.addSpacing(6)
        inner.addWidget(example_intro)
        inner.addWidget(self.example)
        copy_row = QHBoxLayout()  # the button at its own width, on the left
        copy_row.addWidget(self.copy_example)
        copy_row.addStretch(1)
        inner.addLayout(copy_row)
        inner.addSpacing(6)
        inner.addWidget(demo)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 32, 32, 32)
        # Centred with stretches, not alignment flags: an aligned widget gets its plain size hint, and the
        # wrapped labels then need more height than that at the card's real width.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 4)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)

        QWidget.setTabOrder(self.copy_path, self.example)
        QWidget.setTabOrder(self.example, self.copy_example)

    def first_focus(self) -> QWidget:
        return self.copy_path
