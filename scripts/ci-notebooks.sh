#!/usr/bin/env bash
# CI piece for the notebooks: setup (Debian packages when root, tslab kernel), execute every notebook in
# quick mode, then check in headless Chromium that every plot rendered. Exits non-zero on any failure.
#   bash scripts/ci-notebooks.sh [notebook ...]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
OUT="${CD_REPORTS_DIR:-reports}"
t0=$(date +%s)
bash scripts/notebooks-setup.sh
t1=$(date +%s)
rm -f "$OUT"/*.html "$OUT"/*.ipynb 2>/dev/null || true
CD_QUICK=1 bash scripts/run-notebooks.sh "$@"
t2=$(date +%s)
/usr/bin/python3 scripts/check-reports.py "$OUT"/*.html
t3=$(date +%s)
echo "ci-notebooks: ok (setup $((t1 - t0))s, notebooks $((t2 - t1))s, render check $((t3 - t2))s)"
