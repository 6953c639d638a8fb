"""Ops Console: a desktop console for operating a web system (users and roles, live notifications,
metrics and traces), with the reference backend it is tested against (the sandbox)."""

__version__ = "0.1.0"

APP_NAME = "opsconsole"
APP_ID = "io.github.opsconsole.OpsConsole"
