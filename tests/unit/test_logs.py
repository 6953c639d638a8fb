"""Logging: JSON lines in the user log folder, and no secret in any record, however it was logged."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsconsole import logs

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
    """A logger writing bare messages through a RotatingFile at ``path``."""
    handler = logs.RotatingFile(path, max_bytes=max_bytes, backups=backups)
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
    handler = logs.RotatingFile(Path(os.devnull), max_bytes=10, backups=2)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "a long message" * 5, None, None)
    try:
        assert handler._rollover_due(record) is False
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
    "key", ["Cookie", "COOKIE", "Cook\u0131e", "COOK\u0130E", "token\n", "api-key", "x_token"]
)
def test_secret_keys_follow_the_full_rule(key: str) -> None:
    expected = logs._secret_key_pattern().match(key) is not None
    assert (logs.redact_value("v", key) == logs.REDACTED) is expected


SECRETISH = st.sampled_from(
    ["Authorization: Bearer ", "bearer ", "Cookie=", "set-cookie: ", "access_token=", "\"code\": \"",
     "?code=", "&state=", " nonce=", "password: ", "client_secret=", "eyJhbGciOi.eyJzdWIiOi.sig", "TOKEN=",
     "to\u212aen=", "client_\u017fecret=", "Cook\u0131e: ", "AUTHOR\u0130ZATION: Basic ", "\"", "'", "=", ":",
     "&", " ", "\n", "}"]
)  # fmt: skip


@given(st.lists(st.one_of(SECRETISH, st.text(max_size=12)), max_size=12).map("".join))
def test_the_quick_check_never_skips_a_redaction(text: str) -> None:
    # redact_text skips the patterns when no trigger word is in the text; that must change nothing.
    assert logs.redact_text(text) == logs._redact_all(text)
