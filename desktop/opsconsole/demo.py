"""``opsconsole demo``: the sandbox on a free loopback port and the console connected to it.

The demo is the two systems side by side, so it lives in neither: the sandbox is started through
sandbox_cmd (the client's one door to it) and the window is opened through the CLI's context (only
the CLI and the UI import the UI). The profile is held in memory and the sandbox's data in a temporary
folder: the user's files and keyring are left alone. Closing the window stops the sandbox; without a
display neither starts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from . import config, display, sandbox_cmd
from .handler import CommandContext

# The accounts the sandbox seeds, as the sign-in page offers them (their password is the sandbox's).
DEMO_ACCOUNTS = [
    ("admin@sandbox.test", "admin"),
    ("support@sandbox.test", "support"),
    ("viewer@sandbox.test", "viewer"),
]


def demo(ctx: CommandContext, args: argparse.Namespace) -> int:
    display.require_display()  # before the sandbox starts: nothing to stop if there is no window
    with tempfile.TemporaryDirectory(prefix="opsconsole-demo-") as data_dir:
        sys.stderr.write("opsconsole: starting the sandbox…\n")
        with sandbox_cmd.running_in_background(
            host="127.0.0.1", port=0, data_dir=Path(data_dir), users=500, event_rate=1.0, traffic=4.0
        ) as running:
            url = running.url.rstrip("/")
            sys.stderr.write(f"opsconsole: sandbox at {url}\n")
            profile = demo_profile(url)
            return ctx.open_gui(
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
