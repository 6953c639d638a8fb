"""The command line contract of INTERFACE.md: options, exit codes, JSON output, profiles commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opsconsole import __version__, cli, paths

PROFILE = """
default_profile = "sandbox"
[profiles.sandbox]
api_url = "http://127.0.0.1:8700/api"
issuer = "http://127.0.0.1:8700"
client_id = "opsconsole"
[profiles.prod]
label = "Production"
environment = "production"
api_url = "https://api.example.com"
issuer = "https://id.example.com"
client_id = "opsconsole"
"""


@pytest.fixture
def user_file() -> Path:
    path = paths.user_config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PROFILE, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"opsconsole {__version__}"


def test_profiles_list_json_reports_each_profile(capsys: pytest.CaptureFixture[str], user_file: Path) -> None:
    code, out, _ = run(capsys, "profiles", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["prod", "sandbox"]
    assert rows[1]["default"] is True and rows[0]["environment"] == "production"
    # global options work before the command too
    code, out2, _ = run(capsys, "--json", "profiles", "list")
    assert code == 0 and json.loads(out2) == rows


def test_profiles_show_says_where_each_key_came_from(
    capsys: pytest.CaptureFixture[str], user_file: Path
) -> None:
    code, out, _ = run(capsys, "profiles", "show", "prod", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["values"]["environment"] == {"value": "production", "source": str(user_file), "locked": False}
    assert doc["values"]["token_storage"]["source"] == "default"
    code, out, _ = run(capsys, "profiles", "show", "prod")
    assert 'environment = "production"  # ' + str(user_file) in out
    code, _, err = run(capsys, "profiles", "show", "nope")
    assert code == 4 and 'no profile "nope"' in err


def test_a_broken_file_is_reported_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[profiles.p]\napi_url = "x"\nissuer = "http://i"\nclient_id = "c"\n')
    code, out, err = run(capsys, "--config", str(bad), "profiles", "show", "p")
    assert code == 1
    assert f'{bad}, profile "p", key "api_url": must be a http:// or https:// URL' in out
    code, _, err = run(capsys, "--config", str(bad), "--profile", "p", "users", "list")
    assert code == 1  # the profile is broken: said in words, no traceback
    assert "Traceback" not in err


def test_a_command_whose_feature_has_not_landed_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The mechanism, whichever features have landed by now.
    monkeypatch.setitem(cli.HANDLERS, ("metrics", "query"), "feature:Metrics")
    code, _, err = run(capsys, "metrics", "query", "up")
    assert code == 1 and "not available yet" in err and "Metrics feature" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "users")[0] == 2
    for argv in (["users", "list", "--limit", "0"], ["sandbox", "--port", "70000"], ["bogus"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2, argv
    capsys.readouterr()


def test_every_command_of_the_contract_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for path in cli.HANDLERS:
        with pytest.raises(SystemExit) as info:
            cli.main([*path, "--help"])
        assert info.value.code == 0, path
        assert "usage: opsconsole " + " ".join(path) in capsys.readouterr().out


def test_console_scripts_are_installed() -> None:
    bindir = Path(sys.executable).parent
    out = subprocess.run(
        [bindir / "opsconsole", "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == f"opsconsole {__version__}"
    assert (bindir / "opsconsole-gui").exists()
    module = subprocess.run(
        [sys.executable, "-m", "opsconsole", "--version"], capture_output=True, text=True, timeout=60
    )
    assert module.returncode == 0 and __version__ in module.stdout


def test_version_does_not_import_qt_or_the_network_stack() -> None:
    code = (
        "import sys\n"
        "from opsconsole import cli\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('PySide6', 'httpx', 'jwt', 'keyring') if m in sys.modules]\n"
        "print('heavy=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "heavy="


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        ([], "gui"),
        (["-v"], "gui"),
        (["--help"], None),
        (["bogus"], None),
        (["gui"], "gui"),
        (["--profile", "users", "--config", "f.toml", "roles", "list"], "roles"),
        (["--profile=prod", "-v", "users", "list"], "users"),
        (["--json", "--", "users"], None),
    ],
)
def test_the_command_is_found_before_parsing(argv: list[str], command: str | None) -> None:
    assert cli.command_in(argv) == command


def test_a_parser_built_for_one_command_parses_it_like_the_whole_one() -> None:
    argv = ["--profile", "p", "users", "create", "--email", "a@b.c", "--name", "A", "--role", "x", "--json"]
    whole = vars(cli.build_parser().parse_args(argv))
    one = vars(cli.build_parser(only="users").parse_args(argv))
    assert whole.keys() == one.keys()
    assert {k: v for k, v in whole.items() if k != "_group"} == {
        k: v for k, v in one.items() if k != "_group"
    }


@pytest.mark.parametrize("argv", [[], ["gui"]])
def test_a_plain_desktop_start_skips_the_parser_with_the_same_result(argv: list[str]) -> None:
    parsed = vars(cli.build_parser().parse_args(argv))
    if not argv:  # no command: the parser leaves the path for main() to fill in
        parsed["_path"] = ("gui",)
        parsed["command"] = "gui"
    assert vars(cli.plain_gui_args()) == parsed


def test_a_plain_desktop_start_runs_the_gui(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[Any, Any]] = []
    monkeypatch.setattr(cli, "build_parser", lambda **_: pytest.fail("the parser was built"))
    monkeypatch.setattr(cli, "cmd_gui", lambda ctx, args: started.append((ctx, args)) or 0)
    monkeypatch.setitem(cli.HANDLERS, ("gui",), "opsconsole.cli:cmd_gui")
    assert cli.main([]) == 0
    assert cli.main(["gui"]) == 0
    assert [ctx.profile_name for ctx, _ in started] == [None, None]


def test_every_handler_is_found_where_the_table_says() -> None:
    for path, target in cli.HANDLERS.items():
        handler = cli.resolve_handler(path)
        if target.startswith("feature:"):
            assert handler == target.removeprefix("feature:"), path
        else:
            assert callable(handler), path


def test_the_cli_and_the_profiles_commands_do_not_import_the_sandbox() -> None:
    # The sandbox (FastAPI, SQLAlchemy) is imported by the commands that start it, when they run.
    code = (
        "import sys\n"
        "from opsconsole import cli, demo, profiles, sandbox_cmd\n"
        "heavy = ('opsconsole.sandbox.', 'fastapi', 'sqlalchemy', 'PySide6')\n"
        "print(sorted(m for m in sys.modules if m == 'opsconsole.sandbox' or m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unknown_profile_is_a_config_error_with_exit_1(
    capsys: pytest.CaptureFixture[str], user_file: Path
) -> None:
    code, _, err = run(capsys, "--profile", "nope", "auth", "status")
    assert code == 1 and 'There is no profile "nope"' in err  # a ConfigError: an OpsError, exit 1


def test_a_packaged_app_without_the_sandbox_says_where_the_demo_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from opsconsole import sandbox_cmd

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    error = sandbox_cmd.missing_extra(ImportError("no module named fastapi", name="fastapi"))
    assert "does not include the sandbox" in str(error) and "scripts/demo.sh" in error.hint
    monkeypatch.delattr(sys, "frozen")
    assert "pip install" in sandbox_cmd.missing_extra(ImportError("x", name="fastapi")).hint
