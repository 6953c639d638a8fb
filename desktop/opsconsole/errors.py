"""The base error the console shows to people, with the exit status the command line uses for it.

Feature modules raise subclasses of :class:`OpsError`; the CLI prints ``str(error)`` and ``hint`` and
exits with ``exit_code`` (INTERFACE.md: 1 error, 2 usage, 3 sign-in needed or refused, 4 not found,
5 conflict). The GUI shows the same text where the user is looking.
"""

from __future__ import annotations


class OpsError(Exception):
    exit_code: int = 1
    hint: str = ""

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint
