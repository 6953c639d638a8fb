#!/usr/bin/env bash
# Installs everything the tests need and runs them all:
#   1. the Debian packages of the real peers the tests start (PostgreSQL, a Secret Service, Xvfb);
#   2. the virtualenv with the sandbox and test extras;
#   3. the whole suite (unit, sandbox, GUI offscreen, end to end);
#   4. the core's unit tests again in a second virtualenv that has no Qt at all, so a Qt import
#      that crept into the core fails here and not on a user's headless server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh test
scripts/venv.sh sandbox,test

export CI=${CI:-}
export QT_QPA_PLATFORM=offscreen
echo "== tests" >&2
.venv/bin/python -m pytest "$@"

echo "== core tests without Qt" >&2
if [ ! -x .venv-noqt/bin/python ]; then
    ${PYTHON:-python3} -m venv .venv-noqt
    .venv-noqt/bin/python -m pip install -q --upgrade pip
fi
# The core's and the sandbox's dependencies and the test tools, without PySide6 (or anything that
# pulls it in). The sandbox comes along because the shared test fixtures import its drivers.
.venv/bin/python - <<'PY' > .venv-noqt/requirements.txt
import tomllib
meta = tomllib.load(open("pyproject.toml", "rb"))["project"]
extras = meta["optional-dependencies"]
deps = meta["dependencies"] + extras["sandbox"] + extras["test"]
skip = ("pyside6", "pytest-qt", "pyqtgraph", "schemathesis", "ruff", "mypy", "import-linter")
print("\n".join(d for d in deps if not d.lower().startswith(skip)))
PY
.venv-noqt/bin/python -m pip install -q -r .venv-noqt/requirements.txt
.venv-noqt/bin/python -m pip install -q --no-deps -e .
.venv-noqt/bin/python - <<'PY'
import importlib.util, sys
assert importlib.util.find_spec("PySide6") is None, "PySide6 must be absent from .venv-noqt"
PY
.venv-noqt/bin/python -m pytest tests/unit -p no:qt -W ignore::pytest.PytestConfigWarning -q
