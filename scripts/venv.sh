#!/usr/bin/env bash
# Creates (or updates) the project's virtualenv in .venv with the given extras, e.g. `scripts/venv.sh sandbox,test`.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-sandbox}
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${extras}]"
