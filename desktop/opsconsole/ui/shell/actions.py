"""The main window's actions and menus: File, View (a page per Ctrl+number), Help.

The actions are built here and connected by the window; the sign-in coordinator enables and connects
``sign_out`` while someone is signed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow

from .pages import PageSpec
from .qtprops import set_shortcut


@dataclass(slots=True)
class WindowActions:
    quit: QAction
    pages: dict[str, QAction]  # by page key, checkable, one checked
    find: QAction
    detail: QAction  # checkable: the detail panel is open
    about: QAction
    sign_out: QAction
    problems: QAction


def build_actions(window: QMainWindow, specs: Sequence[PageSpec]) -> WindowActions:
    quit_action = QAction("&Quit", window)
    set_shortcut(quit_action, "Ctrl+Q")
    quit_action.setMenuRole(QAction.MenuRole.QuitRole)

    pages: dict[str, QAction] = {}
    group = QActionGroup(window)
    group.setExclusive(True)
    for number, spec in enumerate(specs, start=1):
        action = QAction(spec.title, window)
        action.setCheckable(True)
        action.setData(spec.key)
        if number <= 9:
            set_shortcut(action, f"Ctrl+{number}")
        group.addAction(action)
        pages[spec.key] = action

    find = QAction("&Find in Page", window)
    set_shortcut(find, "Ctrl+F")

    detail = QAction("&Details Panel", window)
    detail.setCheckable(True)
    set_shortcut(detail, "Ctrl+D")

    about = QAction("&About Ops Console", window)
    set_shortcut(about, "F1")
    about.setMenuRole(QAction.MenuRole.AboutRole)

    sign_out = QAction("Sign &Out", window)
    sign_out.setEnabled(False)

    problems = QAction("Configuration &Problems\u2026", window)
    return WindowActions(quit_action, pages, find, detail, about, sign_out, problems)


def build_menus(window: QMainWindow, actions: WindowActions) -> None:
    bar = window.menuBar()
    bar.setAccessibleName("Menu bar")
    file_menu = bar.addMenu("&File")
    file_menu.addAction(actions.sign_out)
    file_menu.addSeparator()
    file_menu.addAction(actions.quit)
    view_menu = bar.addMenu("&View")
    for action in actions.pages.values():
        view_menu.addAction(action)
    view_menu.addSeparator()
    view_menu.addAction(actions.find)
    view_menu.addAction(actions.detail)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(actions.about)
    help_menu.addAction(actions.problems)
