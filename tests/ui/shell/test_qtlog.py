"""Qt's messages go into Python logging (logger opsconsole.qt) while the handler is installed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import qWarning
from PySide6.QtGui import QPixmap

from opsconsole.ui.shell import qtlog

# pytest-qt captures Qt messages with its own handler; these tests install ours instead.
pytestmark = pytest.mark.no_qt_log


@pytest.fixture
def installed(qapp: Any) -> Iterator[None]:
    qtlog.install()
    yield
    qtlog.uninstall()


def test_a_qt_warning_becomes_a_log_record(installed: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="opsconsole.qt"):
        QPixmap().scaled(10, 10)  # Qt itself warns: scaling a null pixmap
        qWarning("from python via qWarning")
    records = [r for r in caplog.records if r.name == "opsconsole.qt"]
    messages = [r.getMessage() for r in records]
    assert any("null pixmap" in m for m in messages), messages
    assert "from python via qWarning" in messages
    assert all(r.levelno == logging.WARNING for r in records)
    assert all(getattr(r, "qt_category", None) for r in records)


def test_known_platform_noise_is_demoted_to_debug(installed: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="opsconsole.qt"):
        qWarning("This plugin does not support propagateSizeHints()")
    [record] = [r for r in caplog.records if r.name == "opsconsole.qt"]
    assert record.levelno == logging.DEBUG


def test_install_is_idempotent_and_uninstall_restores(qapp: Any, caplog: pytest.LogCaptureFixture) -> None:
    qtlog.install()
    qtlog.install()
    assert qtlog.is_installed()
    qtlog.uninstall()
    assert not qtlog.is_installed()
    with caplog.at_level(logging.DEBUG, logger="opsconsole.qt"):
        qWarning("after uninstall")
    assert not [r for r in caplog.records if r.name == "opsconsole.qt"]
