"""Work that should wait until the window has been painted and the event loop has nothing to do.

Start-up work that the first paint does not need (opening the sign-in session reads the OS keyring and
imports the network stack) is handed to :func:`call_when_idle`: it runs on the GUI thread right after
the event loop first runs out of events, so it never delays the window appearing.
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QAbstractEventDispatcher, QObject, QTimer


def call_when_idle(receiver: QObject, callback: Callable[[], object]) -> None:
    """Call ``callback`` once, on the GUI thread, after the event loop next runs out of work.

    Nothing happens if ``receiver`` is destroyed first. Without an event dispatcher (no QApplication
    yet) the call is simply queued as a zero-timeout timer.
    """
    dispatcher: QAbstractEventDispatcher | None = QAbstractEventDispatcher.instance()
    if dispatcher is None:
        QTimer.singleShot(0, receiver, callback)
        return
    fired: list[bool] = []

    def on_about_to_block() -> None:
        if fired:
            return
        fired.append(True)
        dispatcher.aboutToBlock.disconnect(on_about_to_block)
        if shiboken6.isValid(receiver):
            # Not from inside aboutToBlock: the loop is about to wait; a timer wakes it for the work.
            QTimer.singleShot(0, receiver, callback)

    dispatcher.aboutToBlock.connect(on_about_to_block)
