#!/bin/sh
# Print the path of a Chromium binary, installing Debian's "chromium" package when missing.
# Used by tests/test_report.py (the browser render check). Exit codes: 0 found or
# installed; 3 needs root; 4 not a Debian/apt system; 5 apt-get failed (no network?).
set -u
for c in chromium chromium-browser; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; exit 0; fi
done
if [ "$(id -u)" != 0 ]; then
    echo "chromium is missing and installing it needs root: sudo apt-get install -y chromium" >&2
    exit 3
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing and there is no apt-get (not Debian); install Chromium by hand" >&2
    exit 4
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q && apt-get install -y -q chromium; } >&2; then
    echo "apt-get could not install chromium (no network or package mirror?)" >&2
    exit 5
fi
command -v chromium
