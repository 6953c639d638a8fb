"""Offscreen smoke checks of the Qt side of an installation, for ``opsconsole self-test``.

:func:`check_gui` returns ``(name, ok, detail)`` for: the Qt platform plugin, the Qt binding's health
(the PySide6 6.12.0 None-refcount bug), Qt's ICU and the data it reads, the app icon, the shipped
resources, and the main window (builds, shows, paints, closes). It never raises; a failed step is
reported and the rest still run where they can.

It works from a plain process with no display: without QT_QPA_PLATFORM, DISPLAY or WAYLAND_DISPLAY it
selects the offscreen platform. On a desktop it uses the real platform plugin (that is what needs
checking there) but keeps the window off the screen (WA_DontShowOnScreen). When no QApplication exists
yet, the platform plugin is first loaded in a child process: a plugin that cannot load makes Qt abort
the process, and the self-test must report that rather than die of it.

With a display at hand (DISPLAY, WAYLAND_DISPLAY) while the checks run on another platform (offscreen,
as ``opsconsole self-test`` runs them), the display's own platform plugin is also loaded, in a child
process: ``qt xcb`` (or ``qt wayland``) fails, naming the Debian packages to install, where a real
window could not open. A frozen build has no ``python -c``: its child is the executable itself,
``opsconsole self-test`` with :data:`PLATFORM_PROBE_ENV` set (:func:`platform_probe_main`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable
from configparser import ConfigParser
from configparser import Error as ConfigParserError
from pathlib import Path

CheckResult = tuple[str, bool, str]

# How far sys.getrefcount(None) may drift over the probe's calls on a sound binding (other threads and
# caches touch None too); PySide6 6.12.0 loses one reference per call, thousands over the probe.
REFCOUNT_PROBE_CALLS = 2000
REFCOUNT_TOLERANCE = 50

# The libraries this process has loaded (Linux): Qt uses ICU only where its Core links libicu.
LOADED_LIBRARIES = Path("/proc/self/maps")
NO_ICU = "not applicable (this Qt does not use ICU)"

# Set in the child process that loads a platform plugin: `opsconsole self-test` then only does that.
PLATFORM_PROBE_ENV = "OPSCONSOLE_SELFTEST_PLATFORM_PROBE"
PROBE_CODE = (
    "import sys\nfrom PySide6.QtGui import QGuiApplication\n"
    "app = QGuiApplication(sys.argv[:1])\nprint(app.platformName())\n"
)


def check_gui() -> list[CheckResult]:
    _choose_platform()
    results: list[CheckResult] = []
    platform_ok, detail = _probe_platform()
    results.append(("qt platform", platform_ok, detail))
    if not platform_ok:
        reason = "skipped: the Qt platform plugin did not load"
        return results + [
            (name, False, reason) for name in ("qt binding", "qt icu", "app icon", "resources", "main window")
        ]
    for name, step in (
        ("qt binding", _check_binding),
        ("qt icu", _check_icu),
        ("app icon", _check_icon),
        ("resources", _check_resources),
        ("main window", _check_window),
    ):
        results.append(_run(name, step))
    return results + check_display_platforms()


def check_display_platforms() -> list[CheckResult]:
    """``qt xcb`` / ``qt wayland``: the display's platform plugin loads (in a child process), for each
    display this session has, unless the checks ran on that platform already."""
    from PySide6.QtGui import QGuiApplication

    current = QGuiApplication.platformName() if QGuiApplication.instance() is not None else ""
    wanted = [("xcb", "DISPLAY"), ("wayland", "WAYLAND_DISPLAY")]
    results = []
    for platform, variable in wanted:
        if os.environ.get(variable) and current != platform:
            ok, detail = probe_platform(platform)
            if not ok and platform == "xcb":
                detail += _missing_xcb_packages()
            results.append((f"qt {platform}", ok, detail))
    return results


def _missing_xcb_packages() -> str:
    from ...display import missing_packages

    missing = missing_packages()
    return f"; install: sudo apt-get install {' '.join(missing)}" if missing else ""


def probe_command() -> list[str]:
    """How to start a process that loads a Qt platform plugin and prints its name."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "self-test"]  # with PLATFORM_PROBE_ENV: platform_probe_main
    return [sys.executable, "-c", PROBE_CODE]


def probe_platform(platform: str | None = None) -> tuple[bool, str]:
    """Load ``platform`` (default: what QT_QPA_PLATFORM and the session choose) in a child process:
    (loaded, its name and screen, or the last lines of what Qt said before it failed)."""
    env = dict(os.environ, **{PLATFORM_PROBE_ENV: "1"})
    if platform is not None:
        env["QT_QPA_PLATFORM"] = platform
    try:
        probe = subprocess.run(  # noqa: S603 - our own interpreter or executable, fixed code
            probe_command(), capture_output=True, text=True, timeout=60, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"could not start a probe process: {exc}"
    if probe.returncode != 0:
        lines = [line for line in probe.stderr.strip().splitlines() if line.strip()]
        return False, " / ".join(lines[-3:]) or f"the probe process exited with {probe.returncode}"
    lines = probe.stdout.strip().splitlines()
    return True, f"loaded in a child process ({lines[-1] if lines else '?'})"


def platform_probe_main() -> int:
    """The child's side in a frozen build: load the platform plugin, print its name (Qt aborts the
    process when the plugin cannot load; the parent reports that)."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication(sys.argv[:1])
    screen = app.primaryScreen()
    size = f" {screen.size().width()}x{screen.size().height()}" if screen is not None else ""
    print(f"{app.platformName()}{size}", flush=True)
    return 0


def _run(name: str, step: Callable[[], str]) -> CheckResult:
    try:
        return (name, True, step())
    except Exception as exc:  # a self-test reports every failure; it never dies on one
        return (name, False, f"{exc.__class__.__name__}: {exc}")


def _choose_platform() -> None:
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _probe_platform() -> tuple[bool, str]:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        loaded, detail = probe_platform()
        if not loaded:
            return False, detail
    try:
        from .app import ensure_application

        app = ensure_application()
    except Exception as exc:
        return False, f"{exc.__class__.__name__}: {exc}"
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    size = f", screen {screen.size().width()}x{screen.size().height()}" if screen is not None else ""
    return True, f"{QGuiApplication.platformName()}{size}"


def _check_binding() -> str:
    import PySide6
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QWidget

    version = PySide6.__version__
    widget = QWidget()
    try:
        before = sys.getrefcount(None)
        for _ in range(REFCOUNT_PROBE_CALLS):
            widget.update()
        drift = sys.getrefcount(None) - before
    finally:
        widget.deleteLater()
    if abs(drift) > REFCOUNT_TOLERANCE:
        raise RuntimeError(
            f"PySide6 {version} loses references to None ({drift:+d} over {REFCOUNT_PROBE_CALLS} calls): "
            "the process will crash with 'none_dealloc'. Install the version pinned in pyproject.toml."
        )
    return f"PySide6 {version}, Qt {qVersion()}, None refcount drift {drift:+d}"


def _check_icu() -> str:
    """Each ICU service Qt calls gives a locale's own answer, not ICU's fallback: the bundle carries ICU's
    data trimmed to those services (packaging/icu_data.py), and this is where a cut too deep shows.

    Only where Qt really uses ICU: official macOS and Windows Qt builds do without, and their case
    mapping and collation (the platform's, or Qt's own) need not give ICU's answers."""
    from PySide6.QtCore import QCollator, QLocale, QStringDecoder, QTimeZone

    if not _qt_uses_icu():
        return NO_ICU

    failed = []
    # German sorts ä with a, Swedish after z: only ICU's collation with each locale's own rules gets
    # both (ICU's root order fails the Swedish case, Qt's code-point fallback the German one).
    if (
        QCollator(QLocale("de_DE")).compare("ä", "z") >= 0
        or QCollator(QLocale("sv_SE")).compare("ä", "z") <= 0
    ):
        failed.append("collation (German, Swedish)")
    if QLocale("tr_TR").toUpper("i") != "\u0130":  # dotted capital I: ICU's locale-aware case mapping
        failed.append("case mapping (Turkish)")
    zone = QTimeZone(b"Europe/Berlin")
    zone_checked = zone.isValid()  # Qt reads the system's tz database; the names come from ICU's data
    if zone_checked:
        name = zone.displayName(
            QTimeZone.TimeType.StandardTime, QTimeZone.NameType.LongName, QLocale("de_DE")
        )
        if not name or name.startswith(("GMT", "UTC")):  # an offset: ICU found no name for the zone
            failed.append(f"time-zone names (Europe/Berlin in German: {name!r})")
    if not QStringDecoder("Shift_JIS").isValid():
        failed.append("converters (Shift_JIS)")
    if failed:
        raise RuntimeError(f"ICU's data lacks what Qt asks for: {', '.join(failed)}")
    zones = "time-zone names" if zone_checked else "time-zone names not checked (no tz database)"
    return f"collation, case mapping, {zones}, converters"


def _qt_uses_icu() -> bool:
    """Whether Qt Core has loaded ICU's libraries (QtCore is imported by now). Told from
    /proc/self/maps; where that list cannot be read (macOS, Windows) Qt is taken to do without ICU,
    as their official builds do."""
    try:
        maps = LOADED_LIBRARIES.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "/libicuuc" in maps or "/libicui18n" in maps


def _check_icon() -> str:
    from .assets import APP_ICON, app_icon, resource_path

    icon = app_icon()
    sizes = []
    for size in (16, 32, 256):
        pixmap = icon.pixmap(size, size)
        if pixmap.isNull() or pixmap.width() != size:
            raise RuntimeError(f"the app icon does not render at {size} px")
        if pixmap.toImage().pixelColor(size // 2, size // 2).alpha() == 0:
            raise RuntimeError(f"the app icon renders empty at {size} px")
        sizes.append(str(size))
    return f"{resource_path(*APP_ICON)} renders at {', '.join(sizes)} px"


def _check_resources() -> str:
    from PySide6.QtGui import QColor, QIcon

    from ... import APP_ID
    from .assets import (
        DESKTOP_FILE,
        MASK_SIZES,
        METAINFO_FILE,
        NAV_ICONS,
        mask_path,
        resource_path,
        resources_dir,
        tinted_icon,
    )

    for name in NAV_ICONS:
        # 21 px has no shipped mask: rendered from the SVG; 20 px is a shipped mask.
        for size in (20, 21):
            icon = tinted_icon(name, {QIcon.Mode.Normal: QColor("#000000")}, logical_size=size)
            if icon.pixmap(size, size).isNull():
                raise RuntimeError(f"navigation icon {name} does not render at {size} px")
        missing = [str(mask_path(name, px)) for px in MASK_SIZES if not mask_path(name, px).is_file()]
        if missing:
            raise RuntimeError(f"missing icon masks: {', '.join(missing)}")

    desktop = ConfigParser(interpolation=None)
    desktop.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    try:
        desktop.read_string(resource_path(*DESKTOP_FILE).read_text(encoding="utf-8"))
        entry = desktop["Desktop Entry"]
    except (ConfigParserError, KeyError) as exc:
        raise RuntimeError(f"{DESKTOP_FILE[0]} is not a valid desktop entry: {exc}") from exc
    if entry.get("Icon") != APP_ID or not entry.get("Exec"):
        raise RuntimeError(f"{DESKTOP_FILE[0]} must name Icon={APP_ID} and an Exec line")

    try:
        root = ET.parse(resource_path(*METAINFO_FILE)).getroot()  # noqa: S314 - our own shipped file
    except ET.ParseError as exc:
        raise RuntimeError(f"{METAINFO_FILE[0]} is not valid XML: {exc}") from exc
    if root.findtext("id") != APP_ID:
        raise RuntimeError(f"{METAINFO_FILE[0]} has id {root.findtext('id')!r}, expected {APP_ID}")
    files = _check_every_file(resources_dir())
    return f"{len(NAV_ICONS)} navigation icons, desktop entry and metainfo, {files} files read in {resources_dir()}"


def _check_every_file(folder: Path) -> int:
    """Every file shipped in ``folder`` loads as what its name says (images, JSON) or at least reads:
    a bundle that lost or truncated one (a room's dashboards...) fails here, not when it is opened."""
    from PySide6.QtGui import QImage

    files = [path for path in sorted(folder.rglob("*")) if path.is_file()]
    for path in files:
        name = path.relative_to(folder)
        if path.suffix in (".png", ".svg"):
            if QImage(str(path)).isNull():
                raise RuntimeError(f"{name} is not a readable image")
        elif path.suffix == ".json":
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise RuntimeError(f"{name} is not valid JSON: {exc}") from exc
        else:
            path.read_bytes()
    return len(files)


def _check_window() -> str:
    import shiboken6
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from ...config import ConfigSet, Profile
    from .main_window import MainWindow

    profile = Profile(
        name="self-test",
        label="Self-test",
        environment="production",
        api_url="http://127.0.0.1:9/api",
        issuer="http://127.0.0.1:9",
        client_id="opsconsole",
    )
    # No settings: the self-test must not touch the user's saved window state. No bridge: no thread.
    window = MainWindow(ConfigSet.in_memory(profile))
    try:
        if QGuiApplication.platformName() != "offscreen":
            window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        window.resize(900, 600)
        window.show()
        for _ in range(3):
            QApplication.processEvents()
        if not window.isVisible():
            raise RuntimeError("the main window did not show")
        image = window.grab().toImage()
        if image.isNull() or image.width() < 100:
            raise RuntimeError("the main window did not paint")
        if not window.band.isVisible():
            raise RuntimeError("the production band is not shown for a production profile")
        # Every page, not only the first: pages import their modules when first shown (the charts'
        # pyqtgraph and numpy among them), and a bundle that lost one of those fails here.
        for key in window.page_keys:
            try:
                window.show_page(key)
            except Exception as exc:  # which page, and where: an admin's report must say
                where = traceback.extract_tb(exc.__traceback__)[-1]
                raise RuntimeError(
                    f"the {key} page: {exc.__class__.__name__}: {exc} ({where.filename}:{where.lineno})"
                ) from exc
            QApplication.processEvents()
            if window.page(key) is None or window.current_page_key != key:
                raise RuntimeError(f"the {key} page was not built")
        window.close()
        pages = ", ".join(window.page_keys)
        return f"built, shown and painted ({image.width()}x{image.height()}), pages {pages} built, closed"
    finally:
        if shiboken6.isValid(window):
            window.close()
            shiboken6.delete(window)
