#!/usr/bin/env bash
# Renders the admin's venue overview and venue pages, with their pictures, to PNG files in
# ./screenshots using headless Chromium (Debian's chromium package). Runs on the embedded
# default: the demo data (bash scripts/demo.sh --no-serve) must exist first; a second full run
# as of a later day gives the history and flows pictures two points to draw.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/python manage.py screenshots --out "${1:-screenshots}"
