"""The command line: argument parsing and dispatch only.

Each subcommand is a handler ``def handler(ctx: CliContext, args) -> int`` in the module of the feature
that owns it, named in :data:`HANDLERS` as ``"module:function"`` and imported only when that command
runs (so ``opsconsole --version`` does not pay for Qt or httpx). A command whose feature has not landed
has no handler yet and says so (exit 1). Errors that carry an ``exit_code`` (``errors.OpsError`` and
its kin) are printed as one readable message, never as a traceback (``-v`` adds the traceback to the
log).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from . import __version__, config, logs, paths
from .config import Profile

log = logging.getLogger("opsconsole.cli")

# A GUI-only launcher on Windows leaves sys.stdout/stderr as None; keep writes harmless.
if sys.stderr is None:  # pragma: no cover
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115
if sys.stdout is None:  # pragma: no cover
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_CONFLICT = 0, 1, 2, 3, 4, 5

Handler = Callable[["CliContext", argparse.Namespace], int]

# command path -> "module:function", or the feature that will bring it (not available yet)
HANDLERS: dict[tuple[str, ...], str] = {
    ("gui",): "opsconsole.cli:cmd_gui",
    ("demo",): "opsconsole.cli:cmd_demo",
    ("sandbox",): "opsconsole.cli:cmd_sandbox",
    ("self-test",): "opsconsole.selftest:cmd_self_test",
    ("profiles", "list"): "opsconsole.cli:cmd_profiles_list",
    ("profiles", "show"): "opsconsole.cli:cmd_profiles_show",
    ("login",): "opsconsole.auth.commands:login",
    ("logout",): "opsconsole.auth.commands:logout",
    ("auth", "status"): "opsconsole.auth.commands:status",
    ("auth", "refresh"): "opsconsole.auth.commands:refresh",
    **{("users", c): "feature:Users and roles" for c in
       ("list", "show", "create", "update", "disable", "enable", "delete", "grant", "revoke")},
    **{("roles", c): "feature:Users and roles" for c in ("list", "show", "create", "delete")},
    ("events", "tail"): "feature:Live notifications",
    ("metrics", "query"): "feature:Metrics",
    ("metrics", "scrape"): "feature:Metrics",
    ("traces", "search"): "feature:Traces",
    ("traces", "show"): "feature:Traces",
}  # fmt: skip


class CliContext:
    """What every handler gets: the parsed global options, the configuration and output helpers.

    A plain class, not a dataclass: see the note in config.py (start-up time of the desktop console).
    """

    def __init__(
        self,
        json: bool = False,
        verbose: int = 0,
        profile_name: str | None = None,
        config_file: str | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.json = json
        self.verbose = verbose
        self.profile_name = profile_name
        self.config_file = config_file
        self.out: TextIO = sys.stdout if out is None else out
        self._config: config.ConfigSet | None = None

    @property
    def config(self) -> config.ConfigSet:
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


class _Unbuilt:
    """Stands in for the commands not being run: argparse spends about 0.5 ms per parser on gettext
    look-ups, and building all ~40 of them was a sixth of the console's start-up. ``opsconsole --help``
    and an unknown command still build the whole parser."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``only``) one whose other commands exist by name and help line alone."""
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, suppress=True)

    parser = argparse.ArgumentParser(
        prog="opsconsole",
        description="Ops Console: operate users and roles, live notifications, metrics and traces of a web "
        "system. With no command it opens the desktop console.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 sign-in needed or refused, 4 not found, 5 conflict.",
    )
    parser.add_argument("--version", action="version", version=f"opsconsole {__version__}")
    _add_global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(container: Any, name: str, help_text: str, path: tuple[str, ...] | None = None) -> Any:
        if isinstance(container, _Unbuilt):
            return container
        if container is sub and only is not None and name != only:
            return _Unbuilt()
        p: argparse.ArgumentParser = container.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        if path is not None:
            p.set_defaults(_path=path)
        else:  # a group such as `users`: remember it to print its usage when no subcommand is given
            p.set_defaults(_group=p)
        return p

    add(sub, "gui", "open the desktop console", ("gui",))
    add(
        sub,
        "demo",
        "start the sandbox on a free loopback port and the console connected to it "
        "(your files are left alone)",
        ("demo",),
    )
    sb = add(sub, "sandbox", "run the reference backend in the foreground", ("sandbox",))
    sb.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others warn)")
    sb.add_argument("--port", type=_port, default=8700, help="port (default 8700; 0 = any free port)")
    sb.add_argument(
        "--db", metavar="URL", help="database URL (default: SQLite in --data-dir; or postgresql://...)"
    )
    sb.add_argument(
        "--users", type=_non_negative, metavar="N", help="seed N realistic users into an empty database"
    )
    sb.add_argument(
        "--event-rate", type=_non_negative_float, metavar="R", help="synthetic alert.* events per second"
    )
    sb.add_argument(
        "--traffic", type=_non_negative_float, metavar="R", help="synthetic API requests per second"
    )
    sb.add_argument("--data-dir", metavar="DIR", help="folder for the database and signing key")
    sb.add_argument("--password", metavar="P", help="password of the demo accounts (default: sandbox)")
    sb.add_argument(
        "--scrape-token-file",
        metavar="FILE",
        help="token that opens /metrics and /jaeger beyond loopback (e.g. Prometheus' credentials_file)",
    )
    add(sub, "self-test", "offscreen smoke check of this installation", ("self-test",))

    profiles = add(sub, "profiles", "the configured profiles").add_subparsers(
        dest="subcommand", metavar="SUBCOMMAND"
    )
    add(profiles, "list", "profiles as resolved", ("profiles", "list"))
    show = add(profiles, "show", "one profile, with where each key came from", ("profiles", "show"))
    show.add_argument("name", help="profile name")

    login = add(
        sub, "login", "sign in (OAuth authorization code with PKCE in the system browser)", ("login",)
    )
    login.add_argument("--no-browser", action="store_true", help="only print the URL to open")
    login.add_argument(
        "--device",
        action="store_true",
        help="sign in on another device with a code (RFC 8628; for SSH sessions, when the provider offers it)",
    )
    add(sub, "logout", "revoke and forget this profile's tokens", ("logout",))
    auth = add(sub, "auth", "the signed-in session").add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    add(auth, "status", "who is signed in, scopes and expiry", ("auth", "status"))
    add(auth, "refresh", "refresh the access token now, then print the status", ("auth", "refresh"))

    users = add(sub, "users", "user accounts").add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    p = add(users, "list", "list users", ("users", "list"))
    p.add_argument("--search", metavar="S", help="text in email or name")
    p.add_argument("--role", metavar="R", help="only users with this role")
    p.add_argument("--status", choices=("active", "disabled"))
    p.add_argument("--limit", type=_positive, metavar="N")
    p = add(users, "show", "one user", ("users", "show"))
    p.add_argument("user", metavar="ID|EMAIL")
    p = add(users, "create", "create a user", ("users", "create"))
    p.add_argument("--email", required=True, metavar="E")
    p.add_argument("--name", required=True, metavar="N")
    p.add_argument("--role", action="append", default=[], metavar="R", help="repeatable")
    p = add(users, "update", "change a user's name or email", ("users", "update"))
    p.add_argument("user", metavar="ID")
    p.add_argument("--name", metavar="N")
    p.add_argument("--email", metavar="E")
    for verb in ("disable", "enable", "delete"):
        add(users, verb, f"{verb} a user", ("users", verb)).add_argument("user", metavar="ID")
    for verb in ("grant", "revoke"):
        p = add(users, verb, f"{verb} a role", ("users", verb))
        p.add_argument("user", metavar="ID")
        p.add_argument("role", metavar="ROLE")

    roles = add(sub, "roles", "roles and their permissions").add_subparsers(
        dest="subcommand", metavar="SUBCOMMAND"
    )
    add(roles, "list", "list roles", ("roles", "list"))
    add(roles, "show", "one role", ("roles", "show")).add_argument("role", metavar="ROLE")
    p = add(roles, "create", "create a role", ("roles", "create"))
    p.add_argument("name", metavar="NAME")
    p.add_argument("--permission", action="append", default=[], metavar="P", help="repeatable")
    add(roles, "delete", "delete a role", ("roles", "delete")).add_argument("name", metavar="NAME")

    events = add(sub, "events", "the live notification stream").add_subparsers(
        dest="subcommand", metavar="SUBCOMMAND"
    )
    p = add(events, "tail", "follow live notifications", ("events", "tail"))
    p.add_argument("--topic", metavar="PATTERN", help="topic pattern such as user.* (default: all)")
    p.add_argument("--since", type=_non_negative, metavar="ID", help="resume after this event id")
    p.add_argument("--count", type=_positive, metavar="N", help="stop after N events")

    metrics = add(sub, "metrics", "Prometheus metrics").add_subparsers(
        dest="subcommand", metavar="SUBCOMMAND"
    )
    p = add(metrics, "query", "a PromQL range query", ("metrics", "query"))
    p.add_argument("expr", metavar="EXPR")
    p.add_argument("--range", default="15m", metavar="DURATION")
    p.add_argument("--step", default="15s", metavar="DURATION")
    p = add(metrics, "scrape", "one scrape of a /metrics endpoint, parsed", ("metrics", "scrape"))
    p.add_argument("url", nargs="?", metavar="URL")

    traces = add(sub, "traces", "distributed traces").add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    p = add(traces, "search", "trace summaries", ("traces", "search"))
    p.add_argument("--service", metavar="S")
    p.add_argument("--operation", metavar="O")
    p.add_argument("--min-duration", metavar="DURATION")
    p.add_argument("--lookback", default="1h", metavar="DURATION")
    p.add_argument("--limit", type=_positive, default=20, metavar="N")
    p = add(traces, "show", "one trace, from the backend or a local JSON file", ("traces", "show"))
    p.add_argument("trace", metavar="TRACE_ID|FILE")
    return parser


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
    except config.ConfigError as exc:
        sys.stderr.write(f"opsconsole: {exc}\n")
        return EXIT_ERROR
    except Exception as exc:
        code = getattr(exc, "exit_code", None)
        if not isinstance(code, int):
            log.exception("unexpected error in %s", " ".join(path))
            sys.stderr.write(f"opsconsole: unexpected error: {exc.__class__.__name__}: {exc}\n")
            if logs.log_file_path().exists():
                sys.stderr.write(f"opsconsole: details are in {logs.log_file_path()}\n")
            return EXIT_ERROR
        log.debug("command failed", exc_info=True)
        sys.stderr.write(f"opsconsole: {exc}\n")
        hint = getattr(exc, "hint", "")
        if hint:
            sys.stderr.write(f"hint: {hint}\n")
        return code


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
    from .ui.app import run_gui

    return run_gui(ctx.config, profile=ctx.profile_name)


DEMO_ACCOUNTS = [
    ("admin@sandbox.test", "admin"),
    ("support@sandbox.test", "support"),
    ("viewer@sandbox.test", "viewer"),
]


def cmd_demo(ctx: CliContext, args: argparse.Namespace) -> int:
    import tempfile

    try:
        from .sandbox.server import start_background
        from .sandbox.settings import SandboxSettings
    except ImportError as exc:
        raise _missing_sandbox_extra(exc) from exc
    from .ui.app import run_gui

    with tempfile.TemporaryDirectory(prefix="opsconsole-demo-") as data_dir:
        settings = SandboxSettings(
            host="127.0.0.1", port=0, data_dir=Path(data_dir), users=500, event_rate=1.0, traffic=4.0
        )
        sys.stderr.write("opsconsole: starting the sandbox…\n")
        with start_background(settings) as running:
            url = running.url.rstrip("/")
            sys.stderr.write(f"opsconsole: sandbox at {url}\n")
            profile = demo_profile(url)
            return run_gui(
                config.ConfigSet.in_memory(profile),
                profile=profile.name,
                demo_accounts=DEMO_ACCOUNTS,
                demo_password=running.settings.password,
            )


def demo_profile(url: str) -> config.Profile:
    """The in-memory profile that connects the console to a sandbox at ``url``."""
    ws = "ws" + url.removeprefix("http")
    return config.Profile(
        name="demo",
        label="Demo sandbox",
        environment="development",
        api_url=f"{url}/api",
        issuer=url,
        client_id="opsconsole",
        audience="opsconsole-api",
        events_url=f"{ws}/ws/notifications",
        metrics_url=f"{url}/metrics",
        traces_url=f"{url}/jaeger",
        traces_api="jaeger",
        # The demo's sandbox lives for one run: keeping its tokens in the user's keyring would only leave
        # dead entries behind.
        token_storage="memory",
    )


def _missing_sandbox_extra(exc: ImportError) -> Exception:
    from .errors import OpsError

    return OpsError(
        f"the sandbox is not installed ({exc.name or exc})",
        hint="install it with: pip install 'opsconsole[sandbox]'",
    )


def cmd_sandbox(ctx: CliContext, args: argparse.Namespace) -> int:
    try:
        from .sandbox.server import serve
        from .sandbox.settings import SandboxSettings
    except ImportError as exc:
        raise _missing_sandbox_extra(exc) from exc
    options = {
        "host": args.host,
        "port": args.port,
        "db_url": args.db,
        "users": args.users,
        "event_rate": args.event_rate,
        "traffic": args.traffic,
        "data_dir": Path(args.data_dir) if args.data_dir else None,
        "password": args.password,
        "scrape_token_file": Path(args.scrape_token_file) if args.scrape_token_file else None,
    }
    status: int = serve(SandboxSettings(**{k: v for k, v in options.items() if v is not None}))
    return status


def cmd_profiles_list(ctx: CliContext, args: argparse.Namespace) -> int:
    cfg = ctx.config
    rows: list[dict[str, Any]] = []
    for name in cfg.names():
        profile = cfg.profiles.get(name)
        rows.append(
            {
                "name": name,
                "label": profile.display_name if profile else name,
                "environment": profile.environment if profile else None,
                "api_url": profile.api_url if profile else None,
                "default": name == cfg.default_profile,
                "usable": profile is not None,
                "problems": [str(p) for p in cfg.problems if p.profile == name],
            }
        )
    if ctx.json:
        ctx.emit(rows)
    elif not rows:
        ctx.emit(
            rows,
            "No profiles are configured. Create "
            + str(paths.user_config_file())
            + " or run `opsconsole demo`.",
        )
    else:
        lines = []
        for row in rows:
            mark = "*" if row["default"] else " "
            state = "" if row["usable"] else f"  (unusable: see `opsconsole profiles show {row['name']}`)"
            env = row["environment"] or "?"
            lines.append(f"{mark} {row['name']:<16} {env:<12} {row['api_url'] or '-'}{state}")
        ctx.emit(rows, "\n".join(lines))
    for problem in cfg.problems:
        if problem.profile is None:
            sys.stderr.write(f"opsconsole: {problem}\n")
    return EXIT_OK


def cmd_profiles_show(ctx: CliContext, args: argparse.Namespace) -> int:
    cfg = ctx.config
    name = args.name
    if name not in cfg.names():
        from .errors import OpsError

        err = OpsError(f'there is no profile "{name}" (profiles: {", ".join(cfg.names()) or "none"})')
        err.exit_code = EXIT_NOT_FOUND
        raise err
    profile = cfg.profiles.get(name)
    values: dict[str, dict[str, Any]] = {}
    if profile is not None:
        for key, value in profile.to_dict().items():
            if key == "name":
                continue
            values[key] = {
                "value": value,
                "source": cfg.source_of(name, key),
                "locked": any(
                    f"profiles.{name}.{key}" == e or f"profiles.{name}.{key}".startswith(e + ".")
                    for e in cfg.locked
                ),
            }
    problems = [str(p) for p in cfg.problems if p.profile == name]
    doc = {"name": name, "usable": profile is not None, "default": name == cfg.default_profile,
           "values": values, "problems": problems}  # fmt: skip
    lines = [f"[profiles.{name}]" + ("  # default" if doc["default"] else "")]
    for key, item in values.items():
        shown = json.dumps(item["value"], ensure_ascii=False)
        origin = item["source"] + (", locked" if item["locked"] else "")
        lines.append(f"{key} = {shown}  # {origin}")
    lines.extend(f"problem: {p}" for p in problems)
    ctx.emit(doc, "\n".join(lines))
    return EXIT_OK if profile is not None else EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
