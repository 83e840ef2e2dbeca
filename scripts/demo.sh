#!/usr/bin/env bash
# Sets up .venv and runs the offline demo on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/jielong demo "$@"
