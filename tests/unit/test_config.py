"""Profiles: file locations, merge order, admin locks and validation messages (INTERFACE.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsconsole import config, paths
from opsconsole.errors import OpsError

GOOD = """
default_profile = "sandbox"

[profiles.sandbox]
label = "Local sandbox"
environment = "development"
api_url = "http://127.0.0.1:8700/api"
issuer = "http://127.0.0.1:8700"
client_id = "opsconsole"
scopes = ["openid", "offline_access", "read:users"]
audience = "opsconsole-api"
events_url = "ws://127.0.0.1:8700/ws/notifications"
prometheus_url = "http://127.0.0.1:9090"
metrics_url = "http://127.0.0.1:8700/metrics"
traces_url = "http://127.0.0.1:8700/jaeger"
traces_api = "jaeger"
ca_bundle = ""
token_storage = "keyring"
redirect_port = 0
"""

MINIMAL = """
[profiles.{name}]
api_url = "https://api.{name}.example/api/"
issuer = "https://id.{name}.example"
client_id = "opsconsole"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def managed_file() -> Path:
    return Path(os.environ["XDG_CONFIG_DIRS"]) / "opsconsole" / "profiles.toml"


def test_the_documented_example_loads_with_every_key(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path / "p.toml", GOOD))
    assert cfg.errors == []
    profile = cfg.resolve()
    assert profile.name == "sandbox"
    assert profile.display_name == "Local sandbox"
    assert profile.scopes == ("openid", "offline_access", "read:users")
    assert profile.events_url == "ws://127.0.0.1:8700/ws/notifications"
    assert profile.redirect_port == 0
    assert not profile.is_production
    assert cfg.source_of("sandbox", "api_url") == str(tmp_path / "p.toml")
    assert cfg.source_of("sandbox", "redirect_port") == str(tmp_path / "p.toml")


def test_defaults_fill_what_a_minimal_profile_leaves_out(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path / "p.toml", MINIMAL.format(name="min")))
    profile = cfg.resolve()  # the only profile is used without default_profile
    assert profile.environment == "development"
    assert profile.token_storage == "keyring"
    assert profile.scopes == config.DEFAULT_SCOPES
    assert profile.api_url == "https://api.min.example/api"  # trailing slash dropped
    assert cfg.source_of("min", "environment") == "default"


def test_environment_variable_names_the_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(paths.user_config_file(), MINIMAL.format(name="user"))
    chosen = write(tmp_path / "only.toml", MINIMAL.format(name="only"))
    monkeypatch.setenv("OPSCONSOLE_CONFIG", str(chosen))
    assert config.load().names() == ["only"]
    # --config wins over the environment variable
    other = write(tmp_path / "other.toml", MINIMAL.format(name="other"))
    assert config.load(other).names() == ["other"]


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    cfg = config.load(tmp_path / "nope.toml")
    assert [str(p) for p in cfg.errors] == [f"{tmp_path / 'nope.toml'}: the file does not exist"]


def test_managed_and_user_files_merge_key_by_key() -> None:
    write(managed_file(), MINIMAL.format(name="prod") + 'environment = "production"\nlabel = "Prod"\n')
    write(paths.user_config_file(), '[profiles.prod]\nlabel = "My prod"\n' + MINIMAL.format(name="dev"))
    cfg = config.load()
    assert cfg.errors == []
    assert cfg.names() == ["dev", "prod"]
    prod = cfg.resolve("prod")
    assert prod.label == "My prod"
    assert prod.environment == "production"
    assert cfg.source_of("prod", "label") == str(paths.user_config_file())
    assert cfg.source_of("prod", "environment") == str(managed_file())


def test_locked_keys_keep_the_managed_value_and_warn() -> None:
    write(
        managed_file(),
        'locked = ["profiles.prod.api_url", "profiles.prod.environment", "default_profile"]\n'
        'default_profile = "prod"\n' + MINIMAL.format(name="prod") + 'environment = "production"\n',
    )
    write(
        paths.user_config_file(),
        'default_profile = "dev"\n[profiles.prod]\napi_url = "https://evil.example/api"\n'
        'environment = "development"\nlabel = "Mine"\n' + MINIMAL.format(name="dev"),
    )
    cfg = config.load()
    prod = cfg.resolve()
    assert cfg.default_profile == "prod"
    assert prod.api_url == "https://api.prod.example/api"
    assert prod.environment == "production"
    assert prod.label == "Mine"  # not locked
    warned = {(w.profile, w.key) for w in cfg.warnings}
    assert warned == {("prod", "api_url"), ("prod", "environment"), (None, "default_profile")}
    assert all("locked" in w.message for w in cfg.warnings)


def test_locking_a_whole_profile_locks_keys_the_managed_file_did_not_set() -> None:
    write(managed_file(), 'locked = ["profiles.prod"]\n' + MINIMAL.format(name="prod"))
    write(paths.user_config_file(), '[profiles.prod]\nca_bundle = ""\nredirect_port = 8123\n')
    cfg = config.load()
    assert cfg.resolve("prod").redirect_port == 0
    assert {w.key for w in cfg.warnings} == {"ca_bundle", "redirect_port"}


def test_a_user_file_cannot_lock_anything() -> None:
    write(paths.user_config_file(), 'locked = ["profiles.x.api_url"]\n' + MINIMAL.format(name="x"))
    cfg = config.load()
    assert cfg.locked == frozenset()
    assert [w.key for w in cfg.warnings] == ["locked"]


@pytest.mark.parametrize(
    ("line", "key", "fragment"),
    [
        ('environment = "prod"', "environment", "must be one of development, staging, production"),
        ('api_url = "ftp://x.example"', "api_url", "must be a http:// or https:// URL"),
        ('events_url = "http://x.example/ws"', "events_url", "must be a ws:// or wss:// URL"),
        ('issuer = "https://"', "issuer", "has no host"),
        ("redirect_port = 70000", "redirect_port", "0 to 65535"),
        ("redirect_port = true", "redirect_port", "whole number"),
        ('scopes = "read:users"', "scopes", "list of scope names"),
        ('scopes = ["read users"]', "scopes", "without spaces"),
        ('token_storage = "plaintext"', "token_storage", "must be one of keyring, memory"),
        ('traces_api = "xray"', "traces_api", "jaeger, otlp, zipkin"),
        ('ca_bundle = "/no/such/ca.pem"', "ca_bundle", "no such file"),
        ('scopse = ["x"]', "scopse", 'unknown key (did you mean "scopes"?)'),
        ('metrics_url = "http://x.example:99999/metrics"', "metrics_url", "not a valid URL"),
        ('api_url = "https://x.example/api?x=1"', "api_url", "query or fragment"),
    ],
)
def test_bad_values_name_file_profile_and_key(tmp_path: Path, line: str, key: str, fragment: str) -> None:
    text = MINIMAL.format(name="p")
    text = "\n".join(x for x in text.splitlines() if not x.startswith(line.split(" ")[0] + " ")) + "\n" + line
    file = write(tmp_path / "p.toml", text)
    cfg = config.load(file)
    assert cfg.profiles == {}
    assert cfg.broken_profiles == {"p"}
    [problem] = cfg.errors
    assert (problem.file, problem.profile, problem.key) == (str(file), "p", key)
    assert fragment in str(problem)
    assert str(problem).startswith(f'{file}, profile "p", key "{key}": ')
    with pytest.raises(config.ConfigError, match='Profile "p" cannot be used'):
        cfg.resolve("p")


def test_missing_required_keys_are_each_reported(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path / "p.toml", '[profiles.p]\nlabel = "x"\n'))
    assert sorted(p.key or "" for p in cfg.errors) == ["api_url", "client_id", "issuer"]


def test_a_broken_profile_does_not_take_the_others_down(tmp_path: Path) -> None:
    text = MINIMAL.format(name="good") + MINIMAL.format(name="bad") + 'environment = "prodd"\n'
    cfg = config.load(write(tmp_path / "p.toml", text))
    assert cfg.resolve("good").name == "good"
    assert cfg.names() == ["bad", "good"]
    with pytest.raises(config.ConfigError) as info:
        cfg.resolve("bad")
    assert "environment" in str(info.value)


def test_invalid_toml_names_the_file_and_position(tmp_path: Path) -> None:
    file = write(tmp_path / "p.toml", '[profiles.p]\napi_url = "unterminated\n')
    cfg = config.load(file)
    [problem] = cfg.errors
    assert problem.file == str(file)
    assert "is not valid TOML" in problem.message
    assert "line 2" in problem.message
    with pytest.raises(config.ConfigError):
        cfg.resolve()


def test_a_parse_error_in_the_user_file_makes_merged_profiles_unusable() -> None:
    write(managed_file(), MINIMAL.format(name="prod"))
    write(paths.user_config_file(), "[profiles.prod\n")
    cfg = config.load()
    assert cfg.profiles == {}
    with pytest.raises(config.ConfigError):
        cfg.resolve("prod")


def test_non_utf8_and_wrong_shapes_are_reported(tmp_path: Path) -> None:
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8" in str(config.load(binary).errors[0])
    cfg = config.load(write(tmp_path / "p.toml", 'profiles = 3\ncolour = "red"\n'))
    assert {p.key for p in cfg.errors} == {"profiles", "colour"}
    cfg = config.load(write(tmp_path / "q.toml", "[profiles]\np = 1\n"))
    assert cfg.broken_profiles == {"p"}


def test_default_profile_must_exist(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path / "p.toml", 'default_profile = "nope"\n' + MINIMAL.format(name="a")))
    assert [p.key for p in cfg.errors] == ["default_profile"]
    assert cfg.resolve().name == "a"  # falls back to the only profile


def test_resolving_without_profiles_points_to_the_file_and_the_demo() -> None:
    with pytest.raises(config.ConfigError, match="opsconsole demo"):
        config.load().resolve()


def test_several_profiles_and_no_default_ask_for_one(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path / "p.toml", MINIMAL.format(name="a") + MINIMAL.format(name="b")))
    with pytest.raises(config.ConfigError, match="choose one with --profile"):
        cfg.resolve()
    with pytest.raises(config.ConfigError, match='There is no profile "c"'):
        cfg.resolve("c")
    assert cfg.resolve("b").name == "b"


def test_in_memory_configuration_reads_no_file() -> None:
    write(paths.user_config_file(), "this is not toml [")
    profile = config.Profile(name="demo", api_url="http://x/api", issuer="http://x", client_id="c")
    cfg = config.ConfigSet.in_memory(profile)
    assert cfg.resolve() is profile
    assert cfg.source_of("demo", "api_url") == "memory"
    assert cfg.files == ()


def test_a_config_error_is_an_ops_error_with_exit_status_1() -> None:
    # docs/architecture.md: everything a person may see derives from OpsError; the CLI relies on it.
    error = config.ConfigError([config.Problem("f.toml", "is not valid TOML")], summary="Cannot read:")
    assert isinstance(error, OpsError) and error.exit_code == 1
    assert str(error) == "Cannot read:\nf.toml: is not valid TOML"
