#!/usr/bin/env bash
# Installs what the demo needs and runs it: the sandbox on a free loopback port and the console
# connected to it. Closing the console stops the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh run
scripts/venv.sh sandbox
exec .venv/bin/opsconsole demo "$@"
