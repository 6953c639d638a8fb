"""Regenerate the shell's screenshots in docs/screenshots/ (offscreen, light and dark).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_screenshots.py [OUTPUT_DIR]

Runs against a temporary XDG home, so the user's profiles and window state are neither read nor
changed. The profiles are examples (a development sandbox, a production and a staging system, and
one broken entry to show how the switcher marks it).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PROFILES = """\
default_profile = "sandbox"

[profiles.sandbox]
label = "Local sandbox"
environment = "development"
api_url = "http://127.0.0.1:8700/api"
issuer = "http://127.0.0.1:8700"
client_id = "opsconsole"

[profiles.prod-eu]
label = "Prod EU"
environment = "production"
api_url = "https://api.eu.example.com/api"
issuer = "https://login.example.com"
client_id = "opsconsole"

[profiles.staging]
label = "Staging"
environment = "staging"
api_url = "https://staging.example.com/api"
issuer = "https://login.example.com"
client_id = "opsconsole"

[profiles.legacy]
api_url = "ftp://legacy.example.com"
issuer = "https://login.example.com"
client_id = "opsconsole"
"""


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    # A throwaway home laid out like a real one, so the About dialog shows paths as users will see them.
    home = Path(tempfile.gettempdir()) / "opsconsole-screenshots" / "home"
    shutil.rmtree(home.parent, ignore_errors=True)
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(home / sub)
    os.environ["XDG_CONFIG_DIRS"] = str(home.parent / "etc-xdg")
    profiles = home / ".config" / "opsconsole" / "profiles.toml"
    profiles.parent.mkdir(parents=True, exist_ok=True)
    profiles.write_text(PROFILES, encoding="utf-8")

    from PySide6.QtWidgets import QApplication

    from opsconsole import config
    from opsconsole.ui.shell.app import ensure_application
    from opsconsole.ui.shell.main_window import MainWindow
    from opsconsole.ui.shell.palette import ThemeController

    app = ensure_application(["screenshots"])
    theme = ThemeController(app, override="light")
    cfg = config.load()  # the user's file as the console finds it, not --config
    written: list[Path] = []

    def settle() -> None:
        for _ in range(5):
            QApplication.processEvents()

    def save(widget: object, name: str) -> None:
        settle()
        pixmap = widget.grab()  # type: ignore[attr-defined]
        path = out / name
        if not pixmap.save(str(path), "PNG"):
            raise SystemExit(f"cannot write {path}")
        written.append(path)

    for scheme in ("light", "dark"):
        theme.set_scheme(scheme)  # type: ignore[arg-type]
        for profile, page, label in (
            ("sandbox", "users", "development"),
            ("prod-eu", "metrics", "production"),
            ("staging", "traces", "staging"),
        ):
            window = MainWindow(cfg, profile=profile)
            window.resize(1200, 720)
            window.show_page(page)
            window.show()
            window.set_sign_in_state("not signed in", "Not signed in to this profile")
            save(window, f"shell-{scheme}-{label}.png")
            window.close()
            window.deleteLater()
        window = MainWindow(cfg, profile="sandbox")
        window.resize(1200, 720)
        window.show()
        dialog = window.show_about()
        dialog.adjustSize()
        save(dialog, f"about-{scheme}.png")
        dialog.close()
        problems = window.show_config_problems()
        if problems is not None:
            problems.adjustSize()
            save(problems, f"config-problems-{scheme}.png")
            problems.close()
        window.close()
        window.deleteLater()
        profiles.rename(profiles.with_suffix(".bak"))  # the welcome page: no profile file at all
        empty = MainWindow(config.load())
        profiles.with_suffix(".bak").rename(profiles)
        empty.resize(1200, 720)
        empty.show()
        save(empty, f"welcome-{scheme}.png")
        empty.close()
        empty.deleteLater()
    settle()
    theme.close()
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
