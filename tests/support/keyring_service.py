"""pytest plugin: a real Secret Service (GNOME Keyring on a private D-Bus session bus) for one test.

Fixture ``secret_service``: starts ``dbus-run-session`` running ``gnome-keyring-daemon --unlock
--components=secrets`` (Debian's gnome-keyring and dbus packages), points the test's
``DBUS_SESSION_BUS_ADDRESS`` at that bus, lets ``keyring`` detect its backend the way it would on a
desktop, and tears everything down afterwards. The daemon keeps its keyring files in a folder of its
own, outside the console's config, data, cache, state and log folders, as a real keyring would.

``secret_service.lookup(service, username)`` reads an entry with ``secret-tool`` (libsecret-tools),
independently of the console's code. ``secret_service.restart(unlock=False)`` brings the daemon back
with its login keyring locked (no display here, so the unlock prompt is dismissed at once).

When the programs are missing the test is skipped, except on CI (``CI=true``), where it fails: CI
installs them (scripts/system-deps.sh test), so their absence there is a broken setup, not a choice.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.core
import pytest

PROGRAMS = ("dbus-run-session", "gnome-keyring-daemon", "secret-tool")
_START_TIMEOUT = 20.0
_PASSWORD = "test-keyring-password"
_LOGIN_COLLECTION = "/org/freedesktop/secrets/collection/login"

# The shell that dbus-run-session runs: report the bus, start the daemon in the foreground, wait for
# the test to close stdin, stop the daemon. The daemon prints GNOME_KEYRING_CONTROL=... when ready.
_SCRIPT = r"""
echo "ADDRESS=$DBUS_SESSION_BUS_ADDRESS"
if [ "$OPSCONSOLE_TEST_UNLOCK" = 1 ]; then
    printf '%s' "$OPSCONSOLE_TEST_KEYRING_PASSWORD" \
        | gnome-keyring-daemon --unlock --components=secrets --foreground &
else
    gnome-keyring-daemon --components=secrets --foreground </dev/null &
fi
daemon=$!
read -r _stop || true
kill "$daemon" 2>/dev/null
wait "$daemon" 2>/dev/null
exit 0
"""


class SecretService:
    """A running GNOME Keyring on its own session bus."""

    def __init__(self, home: Path) -> None:
        self.home = home  # the daemon's HOME and XDG_DATA_HOME (its keyring files live here)
        self.address = ""
        self._process: subprocess.Popen[str] | None = None
        self._log = home / "daemon.log"

    @property
    def env(self) -> dict[str, str]:
        """Variables a subprocess needs to use this Secret Service."""
        return {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def start(self, *, unlock: bool = True) -> None:
        env = {
            **os.environ,
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "OPSCONSOLE_TEST_UNLOCK": "1" if unlock else "0",
            "OPSCONSOLE_TEST_KEYRING_PASSWORD": _PASSWORD,
        }
        # No prompt may appear on a developer's screen, and the desktop's own keyring (whose control
        # socket lives in XDG_RUNTIME_DIR) must not be touched: without it, the daemon uses its cache dir
        # and announces itself with GNOME_KEYRING_CONTROL=..., which is the readiness signal.
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "GNOME_KEYRING_CONTROL"):
            env.pop(name, None)
        log = self._log.open("a", encoding="utf-8")
        self._process = subprocess.Popen(
            ["dbus-run-session", "--", "sh", "-c", _SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            text=True,
        )
        log.close()
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self._process is not None and self._process.stdout is not None
            for line in self._process.stdout:
                lines.put(line.strip())
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        ready = False
        while not ready:
            try:
                line = lines.get(timeout=_START_TIMEOUT)
            except queue.Empty:
                self.stop()
                pytest.fail(f"gnome-keyring-daemon did not start: {self._log.read_text()[-2000:]}")
            if line is None:
                self.stop()
                pytest.fail(f"the Secret Service exited at start: {self._log.read_text()[-2000:]}")
            if line.startswith("ADDRESS="):
                self.address = line.removeprefix("ADDRESS=")
            ready = line.startswith("GNOME_KEYRING_CONTROL=")
        if unlock:
            self._wait_for_login_collection()

    def _wait_for_login_collection(self) -> None:
        """The daemon announces itself before it owns its name on the bus and has made the login keyring
        from the password it read (10-20 ms later here, more on a busy machine). A client that calls in
        between makes the bus start a second daemon (D-Bus activation), which has no password: creating
        the collection then asks for a prompt that is dismissed (seen in CI). So wait, without calling
        the Secret Service itself until the name has its owner (NameHasOwner does not activate), for
        the login collection to be there and unlocked."""
        from jeepney import DBus
        from jeepney.io.blocking import open_dbus_connection
        from secretstorage.collection import Collection
        from secretstorage.exceptions import ItemNotFoundException

        deadline = time.monotonic() + _START_TIMEOUT
        with open_dbus_connection(bus=self.address) as connection:
            while True:
                owned = connection.send_and_get_reply(DBus().NameHasOwner("org.freedesktop.secrets")).body[0]
                try:
                    if owned and not Collection(connection, _LOGIN_COLLECTION).is_locked():
                        return
                except ItemNotFoundException:
                    pass  # the name is owned, the login keyring not made yet
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"the login keyring was not unlocked: {self._log.read_text()[-2000:]}")
                time.sleep(0.005)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            assert process.stdin is not None
            process.stdin.write("stop\n")
            process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def restart(self, *, unlock: bool) -> None:
        """Stop and start again, on a new bus; re-point the environment with :func:`use`."""
        self.stop()
        self.start(unlock=unlock)

    def lookup(self, service: str, username: str) -> str | None:
        """The secret stored under (service, username), read with secret-tool; None when absent."""
        result = subprocess.run(
            ["secret-tool", "lookup", "service", service, "username", username],
            capture_output=True,
            text=True,
            timeout=15,
            env={**os.environ, **self.env},
            check=False,
        )
        return result.stdout if result.returncode == 0 and result.stdout else None


def _require_programs() -> None:
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if not missing:
        return
    message = f"a real Secret Service needs {', '.join(missing)} (Debian: gnome-keyring dbus libsecret-tools)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " and CI must have them")
    pytest.skip(message)


def use(service: SecretService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process (and the subprocesses it starts) at ``service`` and let keyring detect it."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.address)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    _redetect()


def _redetect() -> None:
    # keyring decides once per process which backends are viable; a new bus changes the answer.
    vars(keyring.backend.get_all_keyring).pop("saved_result", None)
    keyring.core.init_backend()


@pytest.fixture
def secret_service(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SecretService]:
    _require_programs()
    service = SecretService(tmp_path_factory.mktemp("secret-service"))
    service.start(unlock=True)
    try:
        use(service, monkeypatch)
        yield service
    finally:
        service.stop()
        # Back to "no keyring", as every other test expects (tests/conftest.py).
        vars(keyring.backend.get_all_keyring).pop("saved_result", None)
        keyring.set_keyring(keyring.backends.fail.Keyring())
