"""``opsconsole self-test``: an offscreen smoke check of an installation.

Checks that the installation can start: the configuration parses, the log folder is writable, Qt and
the bundled resources load and the main window paints offscreen, and a keyring backend is usable.
Each check is ok, warn (the console runs, degraded) or fail; the exit status is 1 when any check fails.
The Qt checks run offscreen; with a display at hand, its platform plugin is loaded in a child process
too (in a frozen build that child is ``opsconsole self-test`` itself, told so by an environment variable).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

from . import __version__, config, logs, paths
from .handler import CommandContext

Status = Literal["ok", "warn", "fail"]
QtChecks = Callable[[], list[tuple[str, bool, str]]]  # (name, ok, detail) for each Qt check


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str


def check_python() -> list[Check]:
    return [
        Check(
            "python", "ok", f"opsconsole {__version__}, Python {platform.python_version()} on {sys.platform}"
        )
    ]


def check_config(config_file: str | None) -> list[Check]:
    cfg = config.load(config_file)
    if cfg.errors:
        return [Check("config", "fail", "; ".join(str(p) for p in cfg.errors))]
    if not cfg.names():
        return [Check("config", "ok", f"no profiles configured yet ({paths.user_config_file()})")]
    files = ", ".join(cfg.files)
    warn = "; ".join(str(p) for p in cfg.warnings)
    detail = f"{len(cfg.profiles)} profile(s) from {files}" + (f"; {warn}" if warn else "")
    return [Check("config", "warn" if warn else "ok", detail)]


def check_log_folder() -> list[Check]:
    folder = logs.log_file_path().parent
    try:
        paths.private_dir(folder)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".selftest-"):
            pass
    except OSError as exc:
        return [
            Check(
                "log folder",
                "warn",
                f"{folder} is not writable ({exc.strerror or exc}); logs go to stderr only",
            )
        ]
    return [Check("log folder", "ok", str(folder))]


def check_gui(qt_checks: QtChecks) -> list[Check]:
    if not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    try:
        results = qt_checks()
    except ImportError as exc:
        return [Check("qt", "fail", f"Qt cannot be imported: {exc}")]
    return [Check(name, "ok" if ok else "fail", detail) for name, ok, detail in results]


def check_keyring(profile: config.Profile | None) -> list[Check]:
    try:
        from .auth.store import describe_backend
    except ImportError as exc:
        return [Check("keyring", "fail", f"the token store cannot be loaded: {exc}")]
    usable, detail = describe_backend(profile)
    # Without a usable keyring the console still runs: tokens are kept in memory for one run.
    return [Check("keyring", "ok" if usable else "warn", detail)]


def run_checks(config_file: str | None, profile: config.Profile | None, qt_checks: QtChecks) -> list[Check]:
    steps: list[Callable[[], list[Check]]] = [
        check_python,
        lambda: check_config(config_file),
        check_log_folder,
        lambda: check_gui(qt_checks),
        lambda: check_keyring(profile),
    ]
    results: list[Check] = []
    for step in steps:
        try:
            results.extend(step())
        except Exception as exc:  # a self-test reports every failure; it never dies on one
            results.append(
                Check(getattr(step, "__name__", "check"), "fail", f"{exc.__class__.__name__}: {exc}")
            )
    return results


def cmd_self_test(ctx: CommandContext, args: argparse.Namespace) -> int:
    from .ui.shell import selftest as qt_selftest  # imports no Qt itself: Qt is loaded by its checks

    if os.environ.get(qt_selftest.PLATFORM_PROBE_ENV) == "1":
        return qt_selftest.platform_probe_main()
    profile: config.Profile | None
    try:
        profile = ctx.profile()
    except config.ConfigError:
        profile = None
    results = run_checks(ctx.config_file, profile, ctx.qt_self_test)
    width = max(len(c.name) for c in results)
    text = "\n".join(f"{c.status.upper():<4}  {c.name:<{width}}  {c.detail}" for c in results)
    failed = [c for c in results if c.status == "fail"]
    text += f"\n\n{len(results) - len(failed)} passed, {len(failed)} failed"
    ctx.emit({"ok": not failed, "checks": [asdict(c) for c in results]}, text)
    return 1 if failed else 0
