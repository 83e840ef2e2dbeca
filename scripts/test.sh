#!/usr/bin/env bash
# Installs the Debian packages the tests use (as root), sets up .venv with the dev, http, web and
# wechaty extras, makes sure PostgreSQL is up, runs ruff and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_system_packages.sh || echo "system packages missing: the browser tests will say why they cannot run" >&2
scripts/setup.sh dev,http,web,wechaty
scripts/ensure_postgres.sh || echo "PostgreSQL is not reachable: its tests will be skipped" >&2
if command -v npm >/dev/null 2>&1 && [ -f e2e/package.json ]; then
    (cd e2e && npm ci --no-audit --no-fund --loglevel=error) || echo "npm ci failed: the wechaty e2e test will be skipped" >&2
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
