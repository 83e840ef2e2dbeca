#!/usr/bin/env bash
# Creates .venv at the repo root and installs jielong into it with the given extras.
# Usage: scripts/setup.sh [EXTRAS]   e.g. scripts/setup.sh dev,wechaty
# pip's chatter goes to .venv/setup.log and is shown only when the install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
target="."
[ -n "$extras" ] && target=".[$extras]"
log=.venv/setup.log
if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip \
       && .venv/bin/python -m pip install -q --disable-pip-version-check -e "$target"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup failed: pip could not install $target (log above, also in $log)" >&2
    exit 1
fi
