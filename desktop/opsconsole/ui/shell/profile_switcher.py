"""The toolbar's profile switcher: every configured profile, the unusable ones disabled with the reason."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QToolBar, QWidget

from ...config import ConfigSet
from . import plain
from .qtprops import TOOLTIP_ROLE


class ProfileSwitcher(QToolBar):
    """A fixed toolbar holding "Profile:" and the combo box (``combo``); the window reacts to
    ``combo.activated`` and calls :meth:`select` when the profile changes in code."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Profile", parent)
        self.setObjectName("profileToolbar")
        self.setAccessibleName("Profile toolbar")
        self.setMovable(False)
        self.setFloatable(False)
        self.toggleViewAction().setVisible(False)

        label = QLabel("&Profile:")
        label.setContentsMargins(6, 0, 4, 0)
        self.combo = QComboBox()
        self.combo.setObjectName("profileSwitcher")
        self.combo.setAccessibleName("Profile")
        self.combo.setAccessibleDescription("The environment the console operates")
        self.combo.setToolTip("The environment the console operates")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setMinimumContentsLength(18)
        label.setBuddy(self.combo)
        self.addWidget(label)
        self.addWidget(self.combo)

    def fill(self, config: ConfigSet) -> None:
        combo = self.combo
        combo.clear()
        for name in config.names():
            profile = config.profiles.get(name)
            if profile is not None:
                combo.addItem(f"{profile.display_name} \u00b7 {profile.environment}", name)
                combo.setItemData(
                    combo.count() - 1,
                    plain.tooltip(f"{name}: {profile.environment}, {profile.api_url}"),
                    TOOLTIP_ROLE,
                )
                continue
            combo.addItem(f"{name} \u00b7 unavailable", name)
            index = combo.count() - 1
            reasons = [str(p) for p in config.errors if p.profile == name] or [
                str(p) for p in config.errors if p.profile is None
            ]
            combo.setItemData(
                index,
                plain.tooltip("Cannot be used:", *(reasons or ["the profile is invalid"])),
                TOOLTIP_ROLE,
            )
            model = combo.model()
            item = model.item(index) if hasattr(model, "item") else None
            if item is not None:
                item.setEnabled(False)
        if not config.names():
            combo.setPlaceholderText("No profiles")
            combo.setEnabled(False)
        else:
            combo.setPlaceholderText("Choose a profile")

    def select(self, name: str | None) -> None:
        """Show ``name`` as the current entry (None: none, the placeholder)."""
        index = self.combo.findData(name) if name is not None else -1
        if self.combo.currentIndex() != index:
            self.combo.setCurrentIndex(index)
