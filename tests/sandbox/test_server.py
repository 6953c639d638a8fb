"""Running the sandbox: in the background on a free port, in the foreground until Ctrl+C, and the
failures a user can meet (port taken)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from opsconsole.sandbox.server import SandboxStartError, serve, start_background
from opsconsole.sandbox.settings import SandboxSettings
from tests.support.sandbox import test_settings


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_background_server_on_a_free_port_stops_cleanly(tmp_path: Path) -> None:
    with start_background(test_settings(tmp_path)) as sandbox:
        port = sandbox.settings.port
        assert port != 0 and sandbox.url == f"http://127.0.0.1:{port}"
        discovery = httpx.get(f"{sandbox.url}/.well-known/openid-configuration", timeout=10).json()
        assert discovery["issuer"] == sandbox.url
        thread = sandbox._thread
    assert not thread.is_alive()
    assert _port_is_free(port)
    sandbox.stop()  # a second stop is harmless


def test_data_survives_a_restart(tmp_path: Path) -> None:
    with start_background(test_settings(tmp_path, users=20)) as first:
        jwks = httpx.get(f"{first.url}/jwks.json", timeout=10).json()
    with start_background(test_settings(tmp_path, users=500)) as second:
        assert httpx.get(f"{second.url}/jwks.json", timeout=10).json() == jwks
        token = second.app.state.mint_service_token(["read:users"])
        page = httpx.get(
            f"{second.url}/api/users", params={"limit": 500}, headers={"Authorization": f"Bearer {token}"}
        )
    assert len(page.json()["items"]) == 23  # seeded once, the second --users was ignored


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        with pytest.raises(SandboxStartError, match=f"127.0.0.1:{port}"):
            start_background(test_settings(tmp_path, port=port))
        assert serve(test_settings(tmp_path, port=port)) == 1


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="port"):
        SandboxSettings(port=70000)
    with pytest.raises(ValueError, match="access_token_ttl"):
        SandboxSettings(access_token_ttl=0)
    assert SandboxSettings(host="0.0.0.0", port=8700).public_url == "http://127.0.0.1:8700"
    assert SandboxSettings(host="::1", port=8700).public_url == "http://[::1]:8700"
    assert not SandboxSettings(host="0.0.0.0").is_loopback
    assert SandboxSettings(host="localhost").is_loopback
    assert SandboxSettings(external_url="https://sandbox.example/").public_url == "https://sandbox.example"


@pytest.mark.timeout(90)
def test_serve_runs_in_the_foreground_until_ctrl_c(tmp_path: Path) -> None:
    program = textwrap.dedent(
        f"""
        import logging, sys
        logging.basicConfig(level=logging.INFO)
        from opsconsole.sandbox.server import serve
        from opsconsole.sandbox.settings import SandboxSettings
        sys.exit(serve(SandboxSettings(port=0, data_dir={str(tmp_path)!r})))
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", program],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        url = ""
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ops Console sandbox on "):
                url = line.split(" on ", 1)[1].strip()
                break
        assert url, "".join(lines)
        assert httpx.get(f"{url}/.well-known/openid-configuration", timeout=10).json()["issuer"] == url
        authorize = httpx.get(f"{url}/authorize", params={"client_id": "opsconsole", "state": "secret-state"})
        assert authorize.status_code == 400
        process.send_signal(signal.SIGINT)
        lines.append(process.stdout.read())  # up to EOF: the server has exited
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines)
    assert process.returncode == 0, output
    assert "Press Ctrl+C" in output
    assert "secret-state" not in output  # query strings stay out of the access log
    assert "GET /authorize " in output
