"""A "browser" for the BROWSER variable: it signs in on the sandbox's pages and returns to the console.

Python's ``webbrowser`` runs ``$BROWSER URL`` and waits for it. This script, run that way, drives the
sandbox's login and consent forms with httpx (``tests.support.sandbox.scripted_login``), then requests
the loopback callback URL exactly as a browser would after the provider's redirect, and keeps the page
the console answered with. ``BROWSER`` names one executable without arguments, so tests create a small
wrapper with :func:`browser_command`.

Environment (all optional): ``OPSCONSOLE_TEST_EMAIL`` (default support@sandbox.test),
``OPSCONSOLE_TEST_PASSWORD`` (default sandbox), ``OPSCONSOLE_TEST_CONSENT`` (``0`` denies),
``OPSCONSOLE_TEST_BROWSER_LOG`` (a file that receives the callback URL's path and the final page's
status and text, for assertions; never the code or state).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def browser_command(directory: Path) -> str:
    """Write an executable wrapper in ``directory`` that runs this script; its path is the BROWSER."""
    wrapper = directory / "scripted-browser"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" "$@"\n', encoding="utf-8"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP)
    return str(wrapper)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: scripted_browser.py URL\n")
        return 2
    sys.path.insert(0, str(_ROOT))
    import httpx

    from tests.support.sandbox import scripted_login

    email = os.environ.get("OPSCONSOLE_TEST_EMAIL", "support@sandbox.test")
    password = os.environ.get("OPSCONSOLE_TEST_PASSWORD", "sandbox")
    consent = os.environ.get("OPSCONSOLE_TEST_CONSENT", "1") != "0"
    log = os.environ.get("OPSCONSOLE_TEST_BROWSER_LOG")
    callback = scripted_login(argv[0], email, password, consent=consent)
    with httpx.Client(timeout=60, follow_redirects=False) as browser:
        page = browser.get(callback)
    if log:
        Path(log).write_text(f"{httpx.URL(callback).path}\n{page.status_code}\n{page.text}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
