"""Qt's own messages (qDebug, qWarning, ...) routed into Python logging, logger ``opsconsole.qt``.

Without this, Qt writes straight to stderr: nothing reaches the log file, nothing is redacted, and a
GUI started from a desktop entry loses it. The handler keeps Qt's category (``qt.qpa.xcb``...) and,
when Qt provides them, the source location, as extra fields of the record.

A few messages that are harmless and frequent on some platforms are logged at DEBUG so they do not
fill the log file; each is listed in ``_HARMLESS`` with why.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("opsconsole.qt")

_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}

_HARMLESS = (
    # offscreen and some Wayland compositors do not implement size hints; nothing the user can act on
    "This plugin does not support propagateSizeHints()",
    "propagateSizeHints() is not implemented",
    # offscreen has no window activation model; tests and screenshots hit it constantly
    "This plugin does not support raise()",
)

MessageHandler = Callable[[QtMsgType, QMessageLogContext, str], Any]

_previous: MessageHandler | None = None
_installed = False


def handle_message(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """The message handler itself (public so a test can feed it directly)."""
    level = _LEVELS.get(mode, logging.WARNING)
    if level == logging.WARNING and message.startswith(_HARMLESS):
        level = logging.DEBUG
    if not log.isEnabledFor(level):
        return
    extra: dict[str, Any] = {"qt_category": context.category or "default"}
    if context.file:
        extra["qt_source"] = f"{context.file}:{context.line}"
    if context.function:
        extra["qt_function"] = context.function
    # A logging failure inside Qt's handler must never take Qt down.
    with contextlib.suppress(Exception):
        log.log(level, "%s", message, extra=extra)


def install() -> None:
    """Route Qt's messages into logging (idempotent); :func:`uninstall` puts the previous handler back."""
    global _previous, _installed
    if _installed:
        return
    _previous = qInstallMessageHandler(handle_message)
    _installed = True


def uninstall() -> None:
    global _previous, _installed
    if not _installed:
        return
    qInstallMessageHandler(_previous)
    _previous = None
    _installed = False


def is_installed() -> bool:
    return _installed
