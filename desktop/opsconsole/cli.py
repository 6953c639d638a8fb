"""The command line: argument parsing and dispatch only.

Each subcommand is a handler ``def handler(ctx: CommandContext, args) -> int`` (handler.py) in the
module of the feature that owns it, named in :data:`HANDLERS` as ``"module:function"`` and imported
only when that command runs (so ``opsconsole --version`` does not pay for Qt or httpx). A command
whose feature has not landed has no handler yet and says so (exit 1). An ``errors.OpsError`` (and its
kin) is printed as one readable message with its hint and ends the command with its ``exit_code``;
anything else is a bug, reported as such with the log file that holds its traceback. docs/cli.md is
the contract.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from . import __version__, config, logs, paths
from .config import ConfigSet, Profile
from .display import require_display
from .errors import EXIT_ERROR, EXIT_USAGE, OpsError
from .handler import Handler

log = logging.getLogger("opsconsole.cli")

# A GUI-only launcher on Windows leaves sys.stdout/stderr as None; keep writes harmless.
if sys.stderr is None:  # pragma: no cover
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115
if sys.stdout is None:  # pragma: no cover
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115


# command path -> "module:function", or the feature that will bring it (not available yet)
HANDLERS: dict[tuple[str, ...], str] = {
    ("gui",): "opsconsole.cli:cmd_gui",
    ("demo",): "opsconsole.demo:demo",
    ("sandbox",): "opsconsole.sandbox_cmd:sandbox",
    ("self-test",): "opsconsole.selftest:cmd_self_test",
    ("profiles", "list"): "opsconsole.profiles:list_profiles",
    ("profiles", "show"): "opsconsole.profiles:show_profile",
    ("login",): "opsconsole.auth.commands:login",
    ("logout",): "opsconsole.auth.commands:logout",
    ("auth", "status"): "opsconsole.auth.commands:status",
    ("auth", "refresh"): "opsconsole.auth.commands:refresh",
    **{("users", c): f"opsconsole.users.commands:users_{c}" for c in
       ("list", "show", "create", "update", "disable", "enable", "delete", "grant", "revoke")},
    **{("roles", c): f"opsconsole.users.commands:roles_{c}" for c in ("list", "show", "create", "delete")},
    ("events", "tail"): "opsconsole.events.commands:tail",
    ("metrics", "query"): "opsconsole.metrics.commands:query",
    ("metrics", "scrape"): "opsconsole.metrics.commands:scrape",
    ("traces", "search"): "opsconsole.traces.commands:search",
    ("traces", "show"): "opsconsole.traces.commands:show",
}  # fmt: skip


@dataclass(slots=True)
class CliContext:
    """What every handler gets: the parsed global options, the configuration and output helpers
    (``handler.CommandContext``, the Protocol the rooms type it with)."""

    json: bool = False
    verbose: int = 0
    profile_name: str | None = None
    config_file: str | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    _config: ConfigSet | None = field(default=None, init=False, repr=False)

    @property
    def config(self) -> ConfigSet:
        if self._config is None:
            self._config = config.load(self.config_file)
            for problem in self._config.warnings:
                log.warning("%s", problem)
        return self._config

    def profile(self) -> Profile:
        """The profile this command operates (raises config.ConfigError when it cannot be used)."""
        return self.config.resolve(self.profile_name)

    def emit(self, obj: Any, text: str | None = None) -> None:
        """Print ``obj`` as JSON with --json, else ``text`` (or a readable rendering of obj)."""
        if self.json:
            self.out.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        else:
            self.out.write((text if text is not None else _plain(obj)).rstrip("\n") + "\n")
        self.out.flush()

    def open_gui(self, cfg: ConfigSet, profile: str | None, **demo: Any) -> int:
        """Run the desktop console on ``cfg`` until its window closes; its exit status.

        Here, so that a feature room's handler (the demo) can open the window without importing the UI,
        which only the CLI and the UI itself may.
        """
        from .ui.shell.app import run_gui

        # The window state names profiles and pages: made private before QSettings writes it (it keeps
        # the mode of a file that exists).
        paths.private_file(paths.ui_state_file())
        code: int = run_gui(cfg, profile=profile, **demo)
        return code

    def qt_self_test(self) -> list[tuple[str, bool, str]]:
        """``self-test``'s Qt checks (name, ok, detail): Qt, the resources, the main window offscreen."""
        from .ui.shell.selftest import check_gui

        return check_gui()


def _plain(obj: Any) -> str:
    if isinstance(obj, dict):
        width = max((len(str(k)) for k in obj), default=0)
        return "\n".join(f"{k:<{width}}  {_scalar(v)}" for k, v in obj.items())
    if isinstance(obj, list):
        return "\n".join(_scalar(v) for v in obj)
    return str(obj)


def _scalar(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    if value is None or value == "":
        return "-"
    return str(value)


# ----------------------------------------------------------------------------------------- parsing

_GLOBAL_OPTIONS_WITH_VALUE = ("--profile", "--config")


def command_in(argv: Sequence[str]) -> str | None:
    """The top-level command ``argv`` runs, when it can be told without parsing; else None.

    Only a known command counts: for anything else the whole parser is built, so that argparse's
    "invalid choice" message lists every command. No command at all (and no --help) is the GUI.
    """
    found = _first_positional(argv)
    if found is None:
        asks_help = any(t in ("-h", "--help", "--version") for t in argv)
        return None if asks_help or "--" in argv else "gui"
    return found if found in _TOP_LEVEL else None


_TOP_LEVEL = frozenset(path[0] for path in HANDLERS)


def _first_positional(argv: Sequence[str]) -> str | None:
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in _GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif token == "--":
            return None
        elif not token.startswith("-"):
            return token
    return None


class _Command:
    """Adds subcommands under one parser, each taking the global options too."""

    def __init__(self, parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
        self.parser = parser
        self.common = common
        self._sub: Any = None

    def leaf(self, path: tuple[str, ...], help_text: str) -> argparse.ArgumentParser:
        """The subcommand that runs the handler of ``path`` (its last word is its name)."""
        if self._sub is None:
            self._sub = self.parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
        p: argparse.ArgumentParser = self._sub.add_parser(
            path[-1], help=help_text, description=help_text, parents=[self.common]
        )
        p.set_defaults(_path=path)
        return p


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``only``) one in which the other top-level commands have their name and
    help line but no arguments or subcommands: argparse spends about 0.5 ms per parser, and building
    all ~40 costs ~20 ms that a command which runs one of them has no use for. ``opsconsole --help``
    and an unknown command build the whole parser."""
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, suppress=True)

    parser = argparse.ArgumentParser(
        prog="opsconsole",
        description="Ops Console: operate users and roles, live notifications, metrics and traces of a web "
        "system. With no command it opens the desktop console.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 sign-in needed or refused, 4 not found, 5 conflict "
        "(docs/cli.md).",
    )
    parser.add_argument("--version", action="version", version=f"opsconsole {__version__}")
    _add_global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_arguments) in _COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        if (name,) in HANDLERS:
            command.set_defaults(_path=(name,))
        else:  # a group such as `users`: remember it to print its usage when no subcommand is given
            command.set_defaults(_group=command)
        if only is None or name == only:
            add_arguments(_Command(command, common))
    return parser


def _no_arguments(command: _Command) -> None:
    pass


def _sandbox_arguments(command: _Command) -> None:
    p = command.parser
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others warn)")
    p.add_argument("--port", type=_port, default=8700, help="port (default 8700; 0 = any free port)")
    p.add_argument(
        "--db", metavar="URL", help="database URL (default: SQLite in --data-dir; or postgresql://...)"
    )
    p.add_argument(
        "--users", type=_non_negative, metavar="N", help="seed N realistic users into an empty database"
    )
    p.add_argument(
        "--event-rate", type=_non_negative_float, metavar="R", help="synthetic alert.* events per second"
    )
    p.add_argument(
        "--traffic", type=_non_negative_float, metavar="R", help="synthetic API requests per second"
    )
    p.add_argument("--data-dir", metavar="DIR", help="folder for the database and signing key")
    p.add_argument("--password", metavar="P", help="password of the demo accounts (default: sandbox)")
    p.add_argument(
        "--scrape-token-file",
        metavar="FILE",
        help="token that opens /metrics and /jaeger beyond loopback (e.g. Prometheus' credentials_file)",
    )


def _profiles_arguments(command: _Command) -> None:
    command.leaf(("profiles", "list"), "profiles as resolved")
    show = command.leaf(("profiles", "show"), "one profile, with where each key came from")
    show.add_argument("name", help="profile name")


def _login_arguments(command: _Command) -> None:
    command.parser.add_argument("--no-browser", action="store_true", help="only print the URL to open")
    command.parser.add_argument(
        "--device",
        action="store_true",
        help="sign in on another device with a code (RFC 8628; for SSH sessions, when the provider offers it)",
    )


def _auth_arguments(command: _Command) -> None:
    command.leaf(("auth", "status"), "who is signed in, scopes and expiry")
    command.leaf(("auth", "refresh"), "refresh the access token now, then print the status")


def _users_arguments(command: _Command) -> None:
    p = command.leaf(("users", "list"), "list users")
    p.add_argument("--search", metavar="S", help="text in email or name")
    p.add_argument("--role", metavar="R", help="only users with this role")
    p.add_argument("--status", choices=("active", "disabled"))
    p.add_argument("--limit", type=_positive, metavar="N")
    command.leaf(("users", "show"), "one user").add_argument("user", metavar="ID|EMAIL")
    p = command.leaf(("users", "create"), "create a user")
    p.add_argument("--email", required=True, metavar="E")
    p.add_argument("--name", required=True, metavar="N")
    p.add_argument("--role", action="append", default=[], metavar="R", help="repeatable")
    p = command.leaf(("users", "update"), "change a user's name or email")
    p.add_argument("user", metavar="ID")
    p.add_argument("--name", metavar="N")
    p.add_argument("--email", metavar="E")
    for verb in ("disable", "enable", "delete"):
        command.leaf(("users", verb), f"{verb} a user").add_argument("user", metavar="ID")
    for verb in ("grant", "revoke"):
        p = command.leaf(("users", verb), f"{verb} a role")
        p.add_argument("user", metavar="ID")
        p.add_argument("role", metavar="ROLE")


def _roles_arguments(command: _Command) -> None:
    command.leaf(("roles", "list"), "list roles")
    command.leaf(("roles", "show"), "one role").add_argument("role", metavar="ROLE")
    p = command.leaf(("roles", "create"), "create a role")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--permission", action="append", default=[], metavar="P", help="repeatable")
    command.leaf(("roles", "delete"), "delete a role").add_argument("name", metavar="NAME")


def _events_arguments(command: _Command) -> None:
    p = command.leaf(("events", "tail"), "follow live notifications")
    p.add_argument("--topic", metavar="PATTERN", help="topic pattern such as user.* (default: all)")
    p.add_argument("--since", type=_non_negative, metavar="ID", help="resume after this event id")
    p.add_argument("--count", type=_positive, metavar="N", help="stop after N events")


def _metrics_arguments(command: _Command) -> None:
    p = command.leaf(("metrics", "query"), "a PromQL range query")
    p.add_argument("expr", metavar="EXPR")
    p.add_argument("--range", default="15m", metavar="DURATION")
    p.add_argument("--step", default="15s", metavar="DURATION")
    p = command.leaf(("metrics", "scrape"), "one scrape of a /metrics endpoint, parsed")
    p.add_argument("url", nargs="?", metavar="URL")


def _traces_arguments(command: _Command) -> None:
    p = command.leaf(("traces", "search"), "trace summaries")
    p.add_argument("--service", metavar="S")
    p.add_argument("--operation", metavar="O")
    p.add_argument("--min-duration", metavar="DURATION")
    p.add_argument("--lookback", default="1h", metavar="DURATION")
    p.add_argument("--limit", type=_positive, default=20, metavar="N")
    p = command.leaf(("traces", "show"), "one trace, from the backend or a local JSON file")
    p.add_argument("trace", metavar="TRACE_ID|FILE")


# Top-level command -> (help line, what adds its arguments and subcommands), in the order of --help.
_COMMANDS: dict[str, tuple[str, Callable[[_Command], None]]] = {
    "gui": ("open the desktop console", _no_arguments),
    "demo": (
        "start the sandbox on a free loopback port and the console connected to it (your files are left alone)",
        _no_arguments,
    ),
    "sandbox": ("run the reference backend in the foreground", _sandbox_arguments),
    "self-test": ("offscreen smoke check of this installation", _no_arguments),
    "profiles": ("the configured profiles", _profiles_arguments),
    "login": ("sign in (OAuth authorization code with PKCE in the system browser)", _login_arguments),
    "logout": ("revoke and forget this profile's tokens", _no_arguments),
    "auth": ("the signed-in session", _auth_arguments),
    "users": ("user accounts", _users_arguments),
    "roles": ("roles and their permissions", _roles_arguments),
    "events": ("the live notification stream", _events_arguments),
    "metrics": ("Prometheus metrics", _metrics_arguments),
    "traces": ("distributed traces", _traces_arguments),
}


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # On subcommands the defaults are SUPPRESS so `opsconsole --json users list` and
    # `opsconsole users list --json` both work without one overwriting the other.
    d = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--profile", metavar="NAME", default=d, help="profile to use (default: the default profile)"
    )
    parser.add_argument("--config", metavar="FILE", default=d, help="read profiles from this file alone")
    parser.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS if suppress else 0,
                        help="more output on stderr (repeat for more)")  # fmt: skip
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="machine-readable output on stdout")  # fmt: skip


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number, not negative")
    return value


def _port(text: str) -> int:
    value = _non_negative(text)
    if value > 65535:
        raise argparse.ArgumentTypeError("must be a port from 0 to 65535")
    return value


# ---------------------------------------------------------------------------------------- dispatch


def resolve_handler(path: tuple[str, ...]) -> Handler | str:
    """The handler for a command path, or the name of the feature that will bring it."""
    target = HANDLERS[path]
    module_name, _, func = target.partition(":")
    if module_name == "feature":
        return func
    handler: Handler = getattr(importlib.import_module(module_name), func)
    return handler


def plain_gui_args() -> argparse.Namespace:
    """What the parser makes of ``opsconsole gui`` (a test holds the two together)."""
    return argparse.Namespace(command="gui", _path=("gui",), json=False, verbose=0, profile=None, config=None)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments in ([], ["gui"]):
        # How the desktop starts the console (`opsconsole-gui`, the .desktop file): nothing to parse, so
        # the parser is not built (it costs ~10 ms of gettext and locale look-ups before the first paint).
        args = plain_gui_args()
    else:
        args = build_parser(only=command_in(arguments)).parse_args(arguments)
    path: tuple[str, ...] | None = getattr(args, "_path", None)
    if path is None:
        if args.command is None:
            path = ("gui",)
        else:  # a group without its subcommand, e.g. `opsconsole users`
            group: argparse.ArgumentParser = args._group
            group.print_usage(sys.stderr)
            sys.stderr.write(f"{group.prog}: error: a subcommand is required (see {group.prog} --help)\n")
            return EXIT_USAGE
    ctx = CliContext(json=args.json, verbose=args.verbose, profile_name=args.profile, config_file=args.config)
    log_path = logs.setup(args.verbose, to_file=path != ("self-test",))
    log.info("opsconsole %s: %s", __version__, " ".join(path), extra={"log_file": str(log_path or "")})
    try:
        handler = resolve_handler(path)
        if isinstance(handler, str):
            sys.stderr.write(
                f"opsconsole: `{' '.join(path)}` is not available yet: it comes with the {handler} feature.\n"
            )
            return EXIT_ERROR
        return handler(ctx, args)
    except KeyboardInterrupt:
        sys.stderr.write("opsconsole: interrupted\n")
        return 130
    except OpsError as exc:
        log.debug("command failed", exc_info=True)
        sys.stderr.write(f"opsconsole: {exc}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
        return exc.exit_code
    except Exception as exc:  # a bug: say so, and keep the traceback for the report
        log.exception("unexpected error in %s", " ".join(path))
        sys.stderr.write(f"opsconsole: unexpected error: {exc.__class__.__name__}: {exc}\n")
        if logs.log_file_path().exists():
            sys.stderr.write(f"opsconsole: details are in {logs.log_file_path()}\n")
        return EXIT_ERROR


def gui_main() -> int:
    """Entry point of the ``opsconsole-gui`` script: the same as ``opsconsole gui`` with its options."""
    argv = sys.argv[1:]
    if not argv or argv[0].startswith("-"):
        argv = (
            ["gui", *argv] if "--version" not in argv and "-h" not in argv and "--help" not in argv else argv
        )
    return main(argv)


# ------------------------------------------------------------------------------------ own commands


def cmd_gui(ctx: CliContext, args: argparse.Namespace) -> int:
    require_display()  # before Qt, which would abort the process without one
    return ctx.open_gui(ctx.config, profile=ctx.profile_name)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
