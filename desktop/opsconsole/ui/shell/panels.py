"""The shell's two panels around the page: the environment band on top and the detail panel beside."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from ...config import Profile
from .palette import shell_colors
from .qtprops import set_enum_property


class EnvironmentBand(QLabel):
    """The strip across the top that makes a production (red) or staging (amber) profile unmistakable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("environmentBand")
        set_enum_property(self, "alignment", "AlignCenter")  # a QLabel takes no focus by default
        set_enum_property(self, "textFormat", "PlainText")  # the profile's name is never markup
        self.environment: str | None = None
        self.hide()

    def show_profile(self, profile: Profile | None) -> None:
        self.environment = profile.environment if profile is not None else None
        if profile is None or profile.environment == "development":
            self.hide()
            self.setAccessibleName("")
            return
        word = profile.environment.upper()
        self.setText(f"{word} - {profile.display_name}")
        self.setAccessibleName(f"{profile.environment.capitalize()} environment: {profile.display_name}")
        self.setToolTip(
            "This profile operates the production system: changes affect real users."
            if profile.is_production
            else "This profile operates a shared staging system."
        )
        self.refresh_colors()
        self.show()

    def refresh_colors(self) -> None:
        colors = shell_colors()
        if self.environment == "production":
            background, text = colors.production_band, colors.production_text
        else:
            background, text = colors.staging_band, colors.staging_text
        # A style sheet rather than a palette: the band must keep its colours whatever the scheme.
        self.setStyleSheet(
            f"QLabel#environmentBand {{ background: {background}; color: {text}; font-weight: bold;"
            " letter-spacing: 0.6px; padding: 6px 8px; }"
        )


class DetailPanel(QFrame):
    """The right-hand panel: details of what is selected in the page. Collapsed until used."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPanel")
        self.setAccessibleName("Details")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(0)
        self.title = QLabel("<b>Details</b>")
        self.title.setObjectName("detailTitle")
        self.empty = QLabel("Select an item to see its details here.")
        self.empty.setWordWrap(True)
        self.empty.setObjectName("detailEmpty")
        self.content: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(14, 14, 14, 14)
        self._layout.addWidget(self.title)
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)

    def set_content(self, widget: QWidget | None, title: str = "Details") -> None:
        if self.content is not None:
            self._layout.removeWidget(self.content)
            self.content.deleteLater()
            self.content = None
        self.title.setText(f"<b>{escape(title or 'Details')}</b>")
        self.empty.setVisible(widget is None)
        if widget is not None:
            self.content = widget
            self._layout.insertWidget(2, widget, 1)
        # The trailing stretch keeps the empty text at the top; content gets the whole height.
        self._layout.setStretch(self._layout.count() - 1, 0 if widget is not None else 1)
