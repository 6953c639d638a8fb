"""Help > About: the version of everything involved and where the console keeps its files.

What support asks for first when something goes wrong; "Copy to clipboard" puts it all in one plain
text block that can be pasted into a ticket.
"""

from __future__ import annotations

import platform

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ... import APP_ID, __version__, logs, paths
from ...config import ConfigSet
from . import plain
from .assets import app_icon


def about_facts(config: ConfigSet | None) -> list[tuple[str, str]]:
    """(label, value) pairs shown in the dialog and copied to the clipboard."""
    if config is None or not config.files:
        in_use = "none (profiles held in memory)" if config is not None and config.profiles else "none"
    else:
        in_use = "\n".join(config.files)
    dirs = paths.all_user_dirs()
    return [
        ("Ops Console", __version__),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("System", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Qt platform", QGuiApplication.platformName() or "unknown"),
        ("App id", APP_ID),
        ("Config files in use", in_use),
        ("User profile file", str(paths.user_config_file())),
        ("Managed profile file", "\n".join(str(p) for p in paths.managed_config_candidates())),
        ("Log file", str(logs.log_file_path())),
        ("Data folder", str(dirs["data"])),
        ("Cache folder", str(dirs["cache"])),
        ("State folder", str(dirs["state"])),
    ]


def about_text(config: ConfigSet | None) -> str:
    lines = []
    for label, value in about_facts(config):
        first, *rest = value.split("\n")
        lines.append(f"{label}: {first}")
        lines.extend(f"{' ' * (len(label) + 2)}{more}" for more in rest)
    return "\n".join(lines) + "\n"


class AboutDialog(QDialog):
    def __init__(self, config: ConfigSet | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Ops Console")
        self.setAccessibleName("About Ops Console")
        self._config = config

        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(64, 64))
        icon.setAccessibleName("Ops Console icon")
        name = QLabel(f"<b style='font-size:15pt'>Ops Console</b><br>version {__version__}")
        name.setTextFormat(Qt.TextFormat.RichText)
        blurb = QLabel(
            "A desktop console for operating a web system: users and roles, "
            "live notifications, metrics and traces."
        )
        blurb.setWordWrap(True)
        blurb.setMinimumWidth(380)
        header = QHBoxLayout()
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.addWidget(name)
        text.addWidget(blurb)
        header.addLayout(text, 1)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.fields: dict[str, QLabel] = {}
        # The version is in the header already; the clipboard text carries every fact.
        for label, value in about_facts(config)[1:]:
            field = plain.label(value)  # paths and profile names, read as they are
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            field.setAccessibleName(label)
            field.setWordWrap(False)
            self.fields[label] = field
            form.addRow(f"{label}:", field)

        self.copy_button = QPushButton("&Copy to clipboard")
        self.copy_button.setAccessibleName("Copy to clipboard")
        self.copy_button.setToolTip("Copy versions and paths as plain text, e.g. for a support ticket")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.copied = QLabel("")
        self.copied.setAccessibleName("Copy result")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close")
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.copy_button)
        bottom.addWidget(self.copied, 1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        # Fixed to its size hint: the wrapped blurb's height-for-width otherwise lets the dialog settle a
        # few pixels short and clip the last line of every field.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)
        layout.setContentsMargins(20, 18, 20, 14)
        layout.setSpacing(14)
        layout.addLayout(header)
        layout.addLayout(form)
        layout.addLayout(bottom)
        close.setDefault(True)
        close.setFocus()

    def text(self) -> str:
        return about_text(self._config)

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self.copied.setText("Copied.")
