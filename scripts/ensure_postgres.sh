#!/usr/bin/env bash
# Starts the machine's PostgreSQL cluster when it is installed but down. Exit 1 if unreachable.
set -uo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start 2>/dev/null || true
    for _ in $(seq 1 20); do
        pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
        sleep 0.5
    done
fi
exit 1
