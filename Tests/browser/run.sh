#!/usr/bin/env bash
# The dashboard in headless Chromium (Debian's chromium + chromium-driver, selenium from PyPI) against the real
# server on 127.0.0.1. Screenshots of every view land in SCREENSHOTS (default .build-artifacts/screenshots).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="${SOCKPIT_BIN:-$(swift build --show-bin-path)/sockpit}"
SHOTS="${SCREENSHOTS:-.build-artifacts/screenshots}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rm -f "$SHOTS"/*.png
python3 Tests/browser/dashboard.py "$BIN" "$WORK" "$SHOTS" || { tail -20 "$WORK/dashboard-server.log"; exit 1; }
echo "screenshots: $(ls "$SHOTS" | tr '\n' ' ')"
