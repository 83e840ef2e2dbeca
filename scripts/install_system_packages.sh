#!/usr/bin/env bash
# Installs the Debian packages the tests and the bot use, when this is a Debian machine and we
# are root: chromium + chromium-driver (the dashboard's browser tests) and fonts-noto-cjk (the
# Chinese font of the evening-summary picture and the dashboard's charts).
# Elsewhere it says what is missing and exits 0: the tests that need a browser skip with that
# reason, and the picture is left out of the summary with a logged error.
# apt's chatter goes to a log file, shown only when the install fails.
set -euo pipefail
packages=(chromium chromium-driver fonts-noto-cjk)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "not installed: ${missing[*]} (run scripts/install_system_packages.sh as root on Debian)" >&2
    exit 0
fi
log="${TMPDIR:-/tmp}/jielong-apt.log"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "apt-get could not install ${missing[*]} (log above, also in $log)" >&2
    exit 1
fi
echo "installed ${missing[*]}" >&2
