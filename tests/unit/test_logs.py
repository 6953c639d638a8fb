"""Logging: JSON lines in the user log folder, and no secret in any record, however it was logged."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opsconsole import logs
from tests.support.stub_http import Reply, stub_server

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJ1c2VyMTIzIiwic2NvcGVzIjpbXX0.c2lnbmF0dXJlLXBhcnQ"
SECRETS = [
    JWT,
    "rt-0123456789abcdef",
    "auth-code-XYZ987",
    "hunter2",
    "verifier-abcdefghijkl",
    "sess-cookie-77",
]


@pytest.fixture
def logged() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    stream = io.StringIO()
    path = logs.setup(verbose=2, stream=stream)
    assert path is not None
    yield stream, logging.getLogger("opsconsole.test")
    for handler in logging.getLogger("opsconsole").handlers:
        handler.flush()


def file_text() -> str:
    for handler in logging.getLogger("opsconsole").handlers:
        handler.flush()
    return logs.log_file_path().read_text(encoding="utf-8")


def test_records_are_json_lines_in_the_user_log_folder(logged: tuple[io.StringIO, logging.Logger]) -> None:
    _, log = logged
    log.info("profile %s selected", "prod", extra={"profile": "prod", "elapsed_ms": 12.5})
    path = logs.log_file_path()
    assert path.parent.name == "log" and "opsconsole" in str(path)
    [line] = [json.loads(x) for x in file_text().splitlines() if "selected" in x]
    assert line["message"] == "profile prod selected"
    assert line["level"] == "INFO" and line["logger"] == "opsconsole.test"
    assert line["profile"] == "prod" and line["elapsed_ms"] == 12.5
    assert line["time"].endswith("+00:00")


def test_secrets_never_reach_the_file_or_the_terminal(logged: tuple[io.StringIO, logging.Logger]) -> None:
    stream, log = logged
    log.info("headers %s", {"Authorization": f"Bearer {JWT}", "Cookie": "session=sess-cookie-77"})
    log.info("GET http://127.0.0.1:5000/callback?code=auth-code-XYZ987&state=s1")
    log.info("token response %s", json.dumps({"access_token": JWT, "refresh_token": "rt-0123456789abcdef"}))
    log.info("form body grant_type=authorization_code&code_verifier=verifier-abcdefghijkl")
    log.warning("login failed", extra={"password": "hunter2", "refresh_token": "rt-0123456789abcdef"})
    log.info("raw header line Authorization: Bearer %s", JWT)
    log.info("stray jwt in text: %s", JWT)
    try:
        token = JWT
        raise ValueError(f"could not decode {token}")
    except ValueError:
        log.exception("decoding failed")
    logging.getLogger("httpx").warning("HTTP Request: POST /token refresh_token=rt-0123456789abcdef")
    written = file_text() + stream.getvalue()
    for secret in SECRETS:
        assert secret not in written, secret
    assert written.count("***") >= 9
    assert "decoding failed" in written and "ValueError" in written  # the record itself is kept


def test_ordinary_text_is_left_alone() -> None:
    for text in ("exit code: 3", "status code 404", "the state of the stream", "GET /api/users?search=bob"):
        assert logs.redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        # userinfo in a URL: a proxy's password
        ("proxy http://ops:pr0xy-pass@proxy.example:3128 unreachable", "pr0xy-pass", "proxy.example:3128"),
        ("https_proxy='https://u:pa%40ss-word@10.0.0.1:8080'", "pa%40ss-word", "10.0.0.1:8080"),
        # the WebSocket subprotocol that carries a token ("bearer, <token>"): opaque tokens too
        ("Sec-WebSocket-Protocol: bearer, opaque-ws-t0ken", "opaque-ws-t0ken", "Sec-WebSocket-Protocol"),
        ("{'sec-websocket-protocol': 'bearer,opaque-ws-t0ken'}", "opaque-ws-t0ken", "bearer"),
        ("[(b'Sec-WebSocket-Protocol', b'bearer, opaque-ws-t0ken')]", "opaque-ws-t0ken", "Sec-WebSocket"),
        # an API key header, in each printed form
        ("x-api-key: k3y-0123456789", "k3y-0123456789", "x-api-key"),
        ("{'X-Api-Key': 'k3y-0123456789'}", "k3y-0123456789", "X-Api-Key"),
        ("[(b'x-api-key', b'k3y-0123456789')]", "k3y-0123456789", "x-api-key"),
        # the device sign-in's user code, in the completed verification link and in JSON
        ("open https://id.example/device?user_code=WDJB-MJHT now", "WDJB-MJHT", "id.example/device"),
        ('{"user_code": "WDJB-MJHT", "interval": 5}', "WDJB-MJHT", '"interval": 5'),
    ],
)
def test_credentials_in_urls_subprotocols_api_keys_and_user_codes_are_redacted(
    text: str, secret: str, kept: str
) -> None:
    redacted = logs.redact_text(text)
    assert secret not in redacted and logs.REDACTED in redacted
    assert kept in redacted  # only the secret goes


def test_extras_named_x_api_key_or_user_code_are_redacted() -> None:
    assert logs.redact_value("k", "X-API-Key") == logs.redact_value("c", "user_code") == logs.REDACTED


def test_verbosity_controls_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    logs.setup(verbose=0, stream=stream)
    log = logging.getLogger("opsconsole.test")
    log.info("quiet")
    log.warning("loud")
    assert "quiet" not in stream.getvalue() and "loud" in stream.getvalue()
    assert "quiet" in file_text()  # the file keeps info even when the terminal does not


def test_an_unwritable_log_folder_does_not_stop_the_console(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "state-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    stream = io.StringIO()
    assert logs.setup(stream=stream) is None
    assert "Cannot write the log file" in stream.getvalue()


@contextlib.contextmanager
def rotating_logger(path: Path, *, max_bytes: int, backups: int) -> Iterator[logging.Logger]:
    """A logger writing bare messages through the console's rotating file handler at ``path``."""
    handler = logs.PrivateRotatingFile(path, maxBytes=max_bytes, backupCount=backups, delay=True)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(f"opsconsole.test.rotation.{path.name}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_the_log_file_rolls_over_and_keeps_every_record(tmp_path: Path) -> None:
    path = tmp_path / "opsconsole.log"
    with rotating_logger(path, max_bytes=400, backups=3) as logger:
        for number in range(25):
            logger.warning("record %02d %s", number, "x" * 60)
    files = [path, *(path.with_name(f"{path.name}.{n}") for n in (1, 2, 3))]
    assert all(f.is_file() for f in files)
    assert not path.with_name(f"{path.name}.4").exists()  # three backups, no more
    assert all(f.stat().st_size < 400 for f in files)
    kept = [line for f in reversed(files) for line in f.read_text(encoding="utf-8").splitlines()]
    # The oldest records went out with the fourth backup; what is kept is contiguous and in order.
    numbers = [int(line.split()[1]) for line in kept]
    assert numbers == list(range(numbers[0], 25))
    assert len(numbers) >= 16


def test_no_rollover_for_a_device(tmp_path: Path) -> None:
    handler = logs.PrivateRotatingFile(Path(os.devnull), maxBytes=10, backupCount=2, delay=True)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "a long message" * 5, None, None)
    try:
        assert handler.shouldRollover(record) is False
    finally:
        handler.close()


def test_a_moved_log_file_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "opsconsole.log"
    with rotating_logger(path, max_bytes=300, backups=2) as logger:
        logger.warning("first")
        path.rename(tmp_path / "moved-away.log")  # e.g. an admin's log collector
        for number in range(20):
            logger.warning("record %02d %s", number, "x" * 40)
    assert path.is_file() and path.stat().st_size < 300
    assert (tmp_path / "moved-away.log").stat().st_size < 400  # not written to without bound
    assert "record 19" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("key", "secret"),
    [("Cookie", True), ("COOKIE", True), ("Set-Cookie", True), ("token\n", True), ("api_key", True),
     # case-insensitive matching takes these non-ASCII letters for i (Unicode case folding): kept out too
     ("Cook\u0131e", True), ("COOK\u0130E", True),
     ("api-key", False), ("x_token", False), ("cookies", False)],
)  # fmt: skip
def test_extras_named_like_secrets_are_redacted(key: str, secret: bool) -> None:
    assert (logs.redact_value("v", key) == logs.REDACTED) is secret


# --- issue 15, item 10: httpcore's header traces print headers as Python bytes tuples


@pytest.fixture
def cookie_server() -> Iterator[str]:
    """A real HTTP server on loopback whose answer sets a cookie."""
    answer = Reply(200, "text/plain", b"ok", {"Set-Cookie": "sid=sess-cookie-77; HttpOnly"})
    with stub_server(lambda _request: answer) as server:
        yield f"{server.url}/"


def test_httpcore_header_traces_hold_no_cookie(cookie_server: str) -> None:
    stream = io.StringIO()
    logs.setup(verbose=3, stream=stream)  # -vvv: httpcore's traces are on
    httpx.get(cookie_server, headers={"Cookie": "sid=request-cookie-55"})
    written = file_text() + stream.getvalue()
    assert "receive_response_headers.complete" in written  # the trace is kept, its cookie is not
    assert "sess-cookie-77" not in written and "request-cookie-55" not in written
    assert "(b'Set-Cookie', b'***')" in written


@pytest.mark.parametrize(
    "name", ["set-cookie", "Set-Cookie", "COOKIE", "authorization", "Proxy-Authorization"]
)
@pytest.mark.parametrize(
    "value", ["b'Bearer abc.def'", "b'sid=s3cr3t; Path=/'", 'b"it\'s-s3cr3t"', "b'a\\'b-s3cr3t'"]
)
def test_headers_as_bytes_tuples_are_redacted(name: str, value: str) -> None:
    text = f"return_value=(b'HTTP/1.1', 200, b'OK', [(b'{name}', {value}), (b'Content-Length', b'2')])"
    redacted = logs.redact_text(text)
    assert "s3cr3t" not in redacted and "abc.def" not in redacted
    assert f"(b'{name}', b'***')" in redacted or f"(b'{name}', b\"***\")" in redacted
    assert redacted.endswith("(b'Content-Length', b'2')])")  # the next header is left alone


# --- issue 15, item 11: the log holds account emails and URLs: private to its owner


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_log_folder_and_file_are_private(logged: tuple[io.StringIO, logging.Logger]) -> None:
    _, log = logged
    log.warning("signed in as someone@example.com")
    path = logs.log_file_path()
    assert "someone@example.com" in file_text()
    assert mode(path.parent) == 0o700 and mode(path) == 0o600
    assert mode(path.parent.parent) == 0o700  # the console's state folder


def test_rolled_over_log_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "opsconsole.log"
    with rotating_logger(path, max_bytes=200, backups=2) as logger:
        for number in range(10):
            logger.warning("record %02d %s", number, "x" * 40)
    assert path.with_name("opsconsole.log.2").is_file()
    assert {mode(p) for p in tmp_path.iterdir()} == {0o600}


def test_looser_modes_of_an_existing_log_are_repaired_at_start() -> None:
    path = logs.log_file_path()
    path.parent.mkdir(parents=True, mode=0o755)
    path.parent.chmod(0o755)
    path.parent.parent.chmod(0o755)
    for name in (path.name, f"{path.name}.1"):
        (path.parent / name).write_text("{}\n")
        (path.parent / name).chmod(0o644)
    logs.setup(stream=io.StringIO())
    assert mode(path.parent.parent) == 0o700 and mode(path.parent) == 0o700
    assert mode(path) == 0o600 and mode(path.with_name(f"{path.name}.1")) == 0o600
