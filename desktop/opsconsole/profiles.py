"""``opsconsole profiles list`` and ``profiles show``: the configuration as resolved (config.py).

Each row or value says where it came from and what is wrong with it, so a user can fix a profile file
without reading the code.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import paths
from .errors import EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK, OpsError
from .handler import CommandContext


def list_profiles(ctx: CommandContext, args: argparse.Namespace) -> int:
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


def show_profile(ctx: CommandContext, args: argparse.Namespace) -> int:
    cfg = ctx.config
    name = args.name
    if name not in cfg.names():
        raise OpsError(
            f'there is no profile "{name}" (profiles: {", ".join(cfg.names()) or "none"})',
            exit_code=EXIT_NOT_FOUND,
        )
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
