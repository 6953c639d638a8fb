"""Logging: JSON lines to a rotating file in the user log folder, and secrets kept out of every record.

Loggers are named per area (``opsconsole.net``, ``opsconsole.auth``, ``opsconsole.ui``, ``opsconsole.qt``
...). One filter, :class:`RedactSecrets`, sits on every handler this module installs, so no token,
authorization code, device user code, password (a proxy URL's too), ``Authorization``, ``Cookie`` or
``X-API-Key`` header or WebSocket ``bearer, <token>`` subprotocol reaches a file or the terminal,
whichever logger or library wrote the record. The log folder is 0700 and its files 0600: they hold
account emails and URLs.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import logging.handlers
import re
import sys
from pathlib import Path
from typing import Any

from . import paths

LOG_FILE = "opsconsole.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
REDACTED = "***"

# Attributes every LogRecord has; anything else on a record came in through `extra=` and is logged.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}

_SECRET_KEYS = frozenset(
    [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "code",
        "code_verifier",
        "device_code",
        "user_code",
        "assertion",
        "api_key",
        "apikey",
        "x-api-key",
    ]
)

# What each pattern finds, and what it keeps of it (the rest becomes ***).
_PATTERNS = (
    # Authorization / Proxy-Authorization / Cookie headers in any printed form (dict repr, raw header)
    (
        re.compile(
            r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(?:bearer|basic|dpop|token)?\s*[^\s'\",}]+"
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)((?:set-)?cookie['\"]?\s*[:=]\s*['\"]?)[^'\"\n}]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)(\bx-api-key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"), rf"\1{REDACTED}"),
    # the same headers as (name, value) tuples of bytes, as httpcore's traces print them at -vvv:
    # (b'set-cookie', b'sid=...') becomes (b'set-cookie', b'***'). The value is a literal as Python
    # prints it: in ' or " quotes, with backslash escapes.
    (
        re.compile(
            r"(?i)(\(\s*b?(?P<q1>['\"])(?:proxy-authorization|authorization|set-cookie|cookie|x-api-key|"
            r"sec-websocket-protocol)(?P=q1)\s*,\s*)"
            r"b?(?P<q2>['\"])(?:\\.|(?!(?P=q2))[^\\])*(?P=q2)"
        ),
        rf"\1b'{REDACTED}'",
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), rf"\1{REDACTED}"),
    # the token as a WebSocket subprotocol ("Sec-WebSocket-Protocol: bearer, <token>"), opaque or not
    (re.compile(r"(?i)\b(bearer,\s*)[^\s'\",}]+"), rf"\1{REDACTED}"),
    # a password in a URL's userinfo (http://user:pass@proxy:3128): the user name is kept
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:)[^/\s@'\"]+@"), rf"\1{REDACTED}@"),
    # key=value and "key": "value" pairs for secret-bearing names (query strings, form bodies, JSON)
    (
        re.compile(
            r"(?i)(\b(?:access_token|refresh_token|id_token|token|code_verifier|client_secret|password|"
            r"device_code|user_code)\b['\"]?\s*[=:]\s*['\"]?)[^&\s'\",}]+"
        ),
        rf"\1{REDACTED}",
    ),
    # short words that are secrets only as a query/form parameter or a JSON key ("exit code: 3" is kept)
    (re.compile(r"(?i)([?&\s]|^)((?:code|state|nonce)=)[^&\s'\",}]+"), rf"\1\2{REDACTED}"),
    (re.compile(r"(?i)(['\"](?:code|state|nonce)['\"]\s*:\s*['\"])[^'\"]+"), rf"\1{REDACTED}"),
    # anything shaped like a JWT, wherever it appears
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
)
_SECRET_KEY = re.compile(rf"(?i)^(?:{'|'.join(re.escape(k) for k in sorted(_SECRET_KEYS))})$")


def redact_text(text: str) -> str:
    """``text`` with every secret this module recognises replaced by ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEY.match(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


class RedactSecrets(logging.Filter):
    """Rewrites a record in place so that its message, arguments, extras and traceback hold no secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        for attr in set(vars(record)) - _STANDARD_ATTRS:
            setattr(record, attr, redact_value(getattr(record, attr), attr))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
            record.exc_info = None  # the text is what is kept; the live traceback may hold secrets in locals
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "thread": record.threadName,
        }
        for attr in set(vars(record)) - _STANDARD_ATTRS:
            entry[attr] = getattr(record, attr)
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """The standard rotating log file, created 0600: it holds account emails and URLs."""

    def _open(self) -> io.TextIOWrapper:
        # The handler always appends (RotatingFileHandler forces mode "a" when it rotates).
        return open(
            self.baseFilename, "a", encoding=self.encoding, errors=self.errors, opener=paths.open_private
        )


class _Console(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")


def log_file_path() -> Path:
    return paths.user_log_dir() / LOG_FILE


def setup(verbose: int = 0, *, to_file: bool = True, stream: Any = None) -> Path | None:
    """Install the handlers on the ``opsconsole`` logger tree (idempotent).

    verbose 0: warnings and errors on stderr; 1: info; 2 or more: debug (also for httpx). The file always
    gets info and above (debug with ``-vv``). Returns the log file's path, or None when it cannot be
    written (then a warning says so on stderr; the console still runs).
    """
    root = logging.getLogger("opsconsole")
    for handler in list(root.handlers):
        if getattr(handler, "_opsconsole", False):
            root.removeHandler(handler)
            handler.close()
    level = logging.DEBUG if verbose >= 2 else logging.INFO
    root.setLevel(level)
    root.propagate = False
    redactor = RedactSecrets()

    console = logging.StreamHandler(stream or sys.stderr)
    console.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG))
    console.setFormatter(_Console())
    console.addFilter(redactor)
    console._opsconsole = True  # type: ignore[attr-defined]
    root.addHandler(console)

    path: Path | None = None
    if to_file:
        path = log_file_path()
        try:
            paths.private_dir(path.parent)
            paths.repair_modes()
            file_handler = PrivateRotatingFile(
                path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
            )
        except OSError as exc:
            root.warning("Cannot write the log file %s: %s", path, exc)
            path = None
        else:
            file_handler.setLevel(level)
            file_handler.setFormatter(JsonLines())
            file_handler.addFilter(redactor)
            file_handler._opsconsole = True  # type: ignore[attr-defined]
            root.addHandler(file_handler)

    # Libraries log through their own trees; route the useful ones through the same redacting handlers.
    for name in ("httpx", "httpcore", "websockets", "keyring", "authlib"):
        lib = logging.getLogger(name)
        lib.handlers = [h for h in lib.handlers if not getattr(h, "_opsconsole", False)]
        lib.setLevel(logging.DEBUG if verbose >= 3 else logging.WARNING)
        for handler in root.handlers:
            lib.addHandler(handler)
        lib.propagate = False
    return path
