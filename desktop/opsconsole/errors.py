"""The base error the console shows to people, and the exit statuses of the command line.

Feature modules raise :class:`OpsError` or a subclass (``config.ConfigError``, ``net.ApiError``, the
sign-in errors...); the CLI prints ``str(error)`` and ``hint`` and exits with ``exit_code``, as
docs/cli.md sets out (0 ok, 1 error, 2 usage, 3 sign-in needed or refused, 4 not found, 5 conflict).
The GUI shows the same text where the user is looking. Here, not in the CLI, so that feature rooms can
raise them without importing the CLI (which they must not).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5


class OpsError(Exception):
    exit_code: int = EXIT_ERROR
    hint: str = ""

    def __init__(self, message: str = "", *, hint: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code
