"""The dialog that lists what is wrong with the configuration, shown once the window is up.

The window opens anyway: profiles with errors appear in the switcher as unavailable (the reason is
their tooltip), the others work. A profile asked for by name that cannot be used (``--profile``) is
reported at the top; the console then starts with no profile selected rather than another one. Each line is the problem's own text, which names the file, the
profile and the key, so the dialog and ``opsconsole profiles list`` say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...config import Problem
from . import plain


def problems_text(problems: Sequence[Problem]) -> str:
    return "\n".join(f"{p.severity.capitalize()}: {p}" for p in problems)


def problems_summary(problems: Sequence[Problem], headline: str = "") -> str:
    if not problems:
        return headline
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    counts = []
    if errors:
        counts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        counts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    head = f"The profile configuration has {' and '.join(counts)}."
    if errors:
        head += " Profiles with errors cannot be used until the file is fixed; the others work."
    return f"{headline}\n\n{head}" if headline else head


class ProblemsDialog(QDialog):
    def __init__(
        self, problems: Sequence[Problem], parent: QWidget | None = None, *, headline: str = ""
    ) -> None:
        """``headline``: a sentence shown first, e.g. why the profile asked for on the command line is
        not in use."""
        super().__init__(parent)
        self.problems = list(problems)
        self.setObjectName("problemsDialog")
        self.setWindowTitle("Configuration problems")
        self.setAccessibleName("Configuration problems")
        has_errors = bool(headline) or any(p.severity == "error" for p in self.problems)

        icon = QLabel()
        standard = (
            QStyle.StandardPixmap.SP_MessageBoxCritical
            if has_errors
            else QStyle.StandardPixmap.SP_MessageBoxWarning
        )
        icon.setPixmap(self.style().standardIcon(standard).pixmap(32, 32))
        icon.setAccessibleName("Error" if has_errors else "Warning")
        self.summary = plain.label(problems_summary(self.problems, headline))  # quotes the file
        self.summary.setWordWrap(True)
        self.summary.setObjectName("problemsSummary")
        header = QHBoxLayout()
        header.addWidget(icon)
        header.addWidget(self.summary, 1)

        self.details = QPlainTextEdit(problems_text(self.problems))
        self.details.setObjectName("problemsList")
        self.details.setReadOnly(True)
        self.details.setTabChangesFocus(True)
        self.details.setAccessibleName("Problems")
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.details.setMinimumSize(620, 140)

        copy = QPushButton("&Copy")
        copy.setAccessibleName("Copy the problems")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(problems_text(self.problems)))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close")
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.details, 1)
        self.details.setVisible(bool(self.problems))
        layout.addWidget(buttons)
        close.setDefault(True)
        close.setFocus()
