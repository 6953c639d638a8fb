"""Profiles: the environments the console operates, read from TOML files.

Where they come from (first match wins for the whole set):
1. ``--config FILE`` or ``OPSCONSOLE_CONFIG=FILE``: that file alone;
2. otherwise the system-wide managed file merged with the user's file. Keys the managed file lists in
   ``locked = [...]`` keep the managed value; a user value for them is ignored with a warning.

Every problem is reported with its file, profile and key. A file that cannot be parsed makes every
profile it touches unusable; a profile with a bad value is unusable; other profiles still work.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from . import paths
from .errors import OpsError

ENVIRONMENTS = ("development", "staging", "production")
TRACES_APIS = ("jaeger", "otlp", "zipkin")
TOKEN_STORAGES = ("keyring", "memory")
DEFAULT_SCOPES = (
    "openid",
    "offline_access",
    "read:users",
    "write:users",
    "read:roles",
    "write:roles",
)
ENV_CONFIG = "OPSCONSOLE_CONFIG"

Source = str  # a file path, "default", or "memory"


@dataclasses.dataclass(frozen=True, slots=True)
class Profile:
    """One environment, validated and immutable. Optional URLs are empty strings when not configured."""

    name: str
    api_url: str
    issuer: str
    client_id: str
    label: str = ""
    environment: Literal["development", "staging", "production"] = "development"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    audience: str = ""
    events_url: str = ""
    prometheus_url: str = ""
    metrics_url: str = ""
    traces_url: str = ""
    traces_api: Literal["jaeger", "otlp", "zipkin"] = "jaeger"
    ca_bundle: str = ""
    token_storage: Literal["keyring", "memory"] = "keyring"
    redirect_port: int = 0

    @property
    def display_name(self) -> str:
        return self.label or self.name

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            out[field.name] = list(value) if isinstance(value, tuple) else value
        return out


PROFILE_KEYS = tuple(field.name for field in dataclasses.fields(Profile) if field.name != "name")
REQUIRED_KEYS = ("api_url", "issuer", "client_id")
TOP_LEVEL_KEYS = ("default_profile", "profiles", "locked")


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configuration, located as precisely as it can be."""

    file: str
    message: str
    profile: str | None = None
    key: str | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = [self.file]
        if self.profile is not None:
            where.append(f'profile "{self.profile}"')
        if self.key is not None:
            where.append(f'key "{self.key}"')
        return f"{', '.join(where)}: {self.message}"


class ConfigError(OpsError):
    """The configuration cannot be used for what was asked; carries every relevant problem (exit 1)."""

    def __init__(self, problems: Iterable[Problem], summary: str = "") -> None:
        self.problems = tuple(problems)
        text = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{summary}\n{text}".strip() if summary else text)


@dataclasses.dataclass(slots=True)
class ConfigSet:
    """The resolved configuration: the usable profiles and what is wrong with the rest."""

    profiles: dict[str, Profile] = dataclasses.field(default_factory=dict)
    default_profile: str | None = None
    files: tuple[str, ...] = ()
    # (profile, key) -> where the value came from; key "" for the profile itself
    sources: dict[tuple[str, str], Source] = dataclasses.field(default_factory=dict)
    locked: frozenset[str] = frozenset()
    problems: list[Problem] = dataclasses.field(default_factory=list)
    broken_profiles: set[str] = dataclasses.field(default_factory=set)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def names(self) -> list[str]:
        """Every profile named in the files, usable or not, in a stable order."""
        return sorted(set(self.profiles) | self.broken_profiles)

    def resolve(self, name: str | None = None) -> Profile:
        """The profile to use: ``name``, else the default, else the only one. Raises ConfigError."""
        chosen = name or self.default_profile
        if chosen is None:
            usable = sorted(self.profiles)
            if len(self.names()) == 1 and len(usable) == 1:
                chosen = usable[0]
            elif not self.names():
                raise ConfigError(
                    self.errors,
                    summary="No profiles are configured. Create "
                    f"{paths.user_config_file()} (see docs/configuration.md) or try `opsconsole demo`.",
                )
            else:
                raise ConfigError(
                    self.errors,
                    summary="Several profiles are configured and none is the default: "
                    f"choose one with --profile ({', '.join(self.names())}).",
                )
        if chosen in self.broken_profiles:
            relevant = [p for p in self.errors if p.profile in (chosen, None)]
            raise ConfigError(relevant, summary=f'Profile "{chosen}" cannot be used:')
        if chosen not in self.profiles:
            raise ConfigError(
                [p for p in self.errors if p.profile is None],
                summary=f'There is no profile "{chosen}". Profiles: {", ".join(self.names()) or "none"}.',
            )
        return self.profiles[chosen]

    def source_of(self, profile: str, key: str) -> Source:
        return self.sources.get((profile, key), "default")

    @classmethod
    def in_memory(cls, profile: Profile) -> ConfigSet:
        """A configuration held in memory only (the demo): no file is read or written."""
        return cls(
            profiles={profile.name: profile},
            default_profile=profile.name,
            files=(),
            sources={(profile.name, k): "memory" for k in (*PROFILE_KEYS, "")},
        )


def load(
    config_file: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> ConfigSet:
    """Read and validate the profiles from the files named by the rules in the module docstring."""
    env = os.environ if environ is None else environ
    explicit = config_file or env.get(ENV_CONFIG) or None
    if explicit:
        path = Path(explicit).expanduser()
        raw, file_problems = _read_file(path, must_exist=True)
        return _build([_Layer(str(path), raw, managed=False)], file_problems)
    problems: list[Problem] = []
    layers = []
    for candidate in paths.managed_config_candidates():
        if candidate.is_file():
            raw, file_problems = _read_file(candidate, must_exist=True)
            problems += file_problems
            layers.append(_Layer(str(candidate), raw, managed=True))
            break
    user_file = paths.user_config_file()
    if user_file.exists():
        raw, file_problems = _read_file(user_file, must_exist=True)
        problems += file_problems
        layers.append(_Layer(str(user_file), raw, managed=False))
    return _build(layers, problems)


@dataclasses.dataclass(frozen=True, slots=True)
class _Layer:
    file: str
    data: dict[str, Any] | None  # None: the file could not be read or parsed
    managed: bool


def _read_file(path: Path, *, must_exist: bool) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        if must_exist:
            return None, [Problem(str(path), "the file does not exist")]
        return {}, []
    except OSError as exc:
        return None, [Problem(str(path), f"cannot be read: {exc.strerror or exc}")]
    try:
        return tomllib.loads(text.decode("utf-8")), []
    except UnicodeDecodeError:
        return None, [Problem(str(path), "is not UTF-8 text")]
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem(str(path), f"is not valid TOML: {exc}")]


def _build(layers: list[_Layer], problems: list[Problem]) -> ConfigSet:
    result = ConfigSet(files=tuple(layer.file for layer in layers))
    result.problems.extend(problems)
    raw_profiles: dict[str, dict[str, Any]] = {}
    locked: set[str] = set()
    unreadable_files = {layer.file for layer in layers if layer.data is None}

    for layer in layers:
        if layer.data is None:
            continue
        data = layer.data
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                result.problems.append(
                    Problem(layer.file, f"unknown key (known: {', '.join(TOP_LEVEL_KEYS)})", key=key)
                )
        if "locked" in data:
            if not layer.managed:
                result.problems.append(
                    Problem(
                        layer.file,
                        "only the managed system-wide file can lock keys; ignored",
                        key="locked",
                        severity="warning",
                    )
                )
            elif not (isinstance(data["locked"], list) and all(isinstance(x, str) for x in data["locked"])):
                result.problems.append(Problem(layer.file, "must be a list of strings", key="locked"))
            else:
                locked.update(data["locked"])
        if "default_profile" in data:
            value = data["default_profile"]
            if not isinstance(value, str) or not value:
                result.problems.append(
                    Problem(layer.file, "must be a non-empty string", key="default_profile")
                )
            elif not layer.managed and _is_locked("default_profile", locked):
                result.problems.append(
                    Problem(
                        layer.file,
                        "is locked by the managed file; the user value is ignored",
                        key="default_profile",
                        severity="warning",
                    )
                )
            else:
                result.default_profile = value
        profiles = data.get("profiles", {})
        if not isinstance(profiles, dict):
            result.problems.append(
                Problem(layer.file, "must be a table of profiles ([profiles.NAME])", key="profiles")
            )
            continue
        for name, table in profiles.items():
            if not isinstance(table, dict):
                result.problems.append(Problem(layer.file, "must be a table ([profiles.NAME])", profile=name))
                result.broken_profiles.add(name)
                continue
            merged = raw_profiles.setdefault(name, {})
            result.sources.setdefault((name, ""), layer.file)
            for key, value in table.items():
                dotted = f"profiles.{name}.{key}"
                if not layer.managed and _is_locked(dotted, locked):
                    result.problems.append(
                        Problem(
                            layer.file,
                            "is locked by the managed file; the user value is ignored",
                            profile=name,
                            key=key,
                            severity="warning",
                        )
                    )
                    continue
                merged[key] = value
                result.sources[(name, key)] = layer.file

    # A file that could not be parsed may have held any profile: nothing that file could touch is safe.
    if unreadable_files and not raw_profiles:
        result.locked = frozenset(locked)
        return result

    for name, table in raw_profiles.items():
        profile_file = {k: result.sources.get((name, k), "") for k in table}
        profile, profile_problems = _validate_profile(
            name, table, profile_file, fallback_file=result.sources.get((name, ""), "")
        )
        result.problems.extend(profile_problems)
        if profile is None or unreadable_files:
            result.broken_profiles.add(name)
        else:
            result.profiles[name] = profile
    for name in result.broken_profiles:
        result.profiles.pop(name, None)

    if result.default_profile is not None and result.default_profile not in result.names():
        source = next((layer.file for layer in layers if layer.data and "default_profile" in layer.data), "")
        result.problems.append(
            Problem(
                source,
                f'names a profile that does not exist ("{result.default_profile}")',
                key="default_profile",
            )
        )
        result.default_profile = None
    result.locked = frozenset(locked)
    return result


def _is_locked(dotted: str, locked: set[str]) -> bool:
    return any(dotted == entry or dotted.startswith(entry + ".") for entry in locked)


def _validate_profile(
    name: str, table: dict[str, Any], files: dict[str, str], fallback_file: str
) -> tuple[Profile | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(files.get(key) or fallback_file, message, profile=name, key=key))

    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in PROFILE_KEYS:
            close = _closest(key, PROFILE_KEYS)
            bad(key, "unknown key" + (f' (did you mean "{close}"?)' if close else ""))
            continue
        checked = _check_value(key, value)
        if isinstance(checked, _Bad):
            bad(key, checked.message)
        else:
            values[key] = checked
    for key in REQUIRED_KEYS:
        if key not in table:
            problems.append(Problem(fallback_file, "is required", profile=name, key=key))
    if problems:
        return None, problems
    return Profile(name=name, **{"api_url": "", "issuer": "", "client_id": "", **values}), []


@dataclasses.dataclass(frozen=True, slots=True)
class _Bad:
    message: str


_HTTP = ("http", "https")
_WS = ("ws", "wss")
_URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "api_url": _HTTP,
    "issuer": _HTTP,
    "prometheus_url": _HTTP,
    "metrics_url": _HTTP,
    "traces_url": _HTTP,
    "events_url": _WS,
}
_OPTIONAL_URLS = ("prometheus_url", "metrics_url", "traces_url", "events_url")
_CHOICES: dict[str, tuple[str, ...]] = {
    "environment": ENVIRONMENTS,
    "traces_api": TRACES_APIS,
    "token_storage": TOKEN_STORAGES,
}


def _check_value(key: str, value: Any) -> Any:
    if key in _URL_SCHEMES:
        if not isinstance(value, str):
            return _Bad("must be a string URL")
        if value == "" and key in _OPTIONAL_URLS:
            return ""
        return _check_url(value, _URL_SCHEMES[key])
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            return _Bad(f"must be one of {', '.join(_CHOICES[key])} (got {value!r})")
        return value
    if key == "scopes":
        if not isinstance(value, list) or not all(isinstance(s, str) and s and " " not in s for s in value):
            return _Bad("must be a list of scope names without spaces")
        return tuple(dict.fromkeys(value))
    if key == "redirect_port":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
            return _Bad("must be a whole number from 0 to 65535 (0: any free port)")
        return value
    if key == "ca_bundle":
        if not isinstance(value, str):
            return _Bad("must be a path to a PEM file")
        if value and not Path(value).expanduser().is_file():
            return _Bad(f"no such file: {value}")
        return str(Path(value).expanduser()) if value else ""
    if key in ("label", "audience"):
        if not isinstance(value, str):
            return _Bad("must be a string")
        return value
    if key == "client_id":
        if not isinstance(value, str) or not value.strip():
            return _Bad("must be a non-empty string")
        return value
    raise AssertionError(
        f"no check for profile key {key}"
    )  # pragma: no cover - PROFILE_KEYS and checks agree


def _check_url(value: str, schemes: tuple[str, ...]) -> Any:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return _Bad(f"is not a valid URL ({exc})")
    if parts.scheme not in schemes:
        return _Bad(f"must be a {' or '.join(s + '://' for s in schemes)} URL (got {value!r})")
    if not parts.hostname:
        return _Bad(f"has no host (got {value!r})")
    if parts.query or parts.fragment:
        return _Bad("must not carry a query or fragment")
    return value.rstrip("/")


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.7)
    return matches[0] if matches else None
