"""Ops Console: a desktop console for operating a web system (users and roles, live notifications,
metrics and traces), with the reference backend it is tested against (the sandbox)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("opsconsole")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

APP_NAME = "opsconsole"
APP_ID = "io.github.opsconsole.OpsConsole"
