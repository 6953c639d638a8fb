#!/usr/bin/env bash
# The static checks CI runs: ruff (lint and format), mypy (strict on the core), import-linter contracts.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check desktop tests bench
.venv/bin/ruff format --check desktop tests bench
.venv/bin/mypy
.venv/bin/lint-imports
