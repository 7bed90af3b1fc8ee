#!/usr/bin/env bash
# Execute notebooks headless and export them: reports/<name>.html (writeup) and reports/<name>.ipynb
# (the executed notebook).
#
#   npm run notebooks                      # every notebooks/*.ipynb
#   npm run notebooks -- 00-smoke 01-x     # some of them (names or paths)
#   CD_QUICK=1 npm run notebooks           # quick mode: notebooks pick tiny configs
#
# Env: CD_QUICK and everything else pass through to the kernel (CD_CACHE_DIR, CD_RESULTS_DIR, CD_WORKERS:
# see notebooks/README.md); CD_CELL_TIMEOUT (s per cell, default 900); CD_REPORTS_DIR (default reports);
# CD_NO_BUILD=1 skips `npm run build`.
# Runs every notebook even if one fails; on a failing cell prints the notebook, the cell index, the head
# of its source and its real error text (see scripts/nbexec.py), and exits 1.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export PYDEVD_DISABLE_FILE_VALIDATION=1
OUT="${CD_REPORTS_DIR:-reports}"

specs="$(/usr/bin/python3 -m jupyter kernelspec list 2>/dev/null || true)"
if ! /usr/bin/python3 -c "import nbclient, nbconvert" 2>/dev/null || ! grep -q "^ *tslab " <<<"$specs"; then
  echo "notebooks: Jupyter or the tslab kernel is missing: run 'npm run notebooks:setup'" >&2
  exit 1
fi

if [ "${CD_NO_BUILD:-0}" != 1 ]; then
  if ! npm run --silent build; then
    echo "notebooks: 'npm run build' failed" >&2
    exit 1
  fi
fi

nbs=()
if [ $# -gt 0 ]; then
  for a in "$@"; do
    if [ -f "$a" ]; then nbs+=("$a")
    elif [ -f "notebooks/$a" ]; then nbs+=("notebooks/$a")
    elif [ -f "notebooks/$a.ipynb" ]; then nbs+=("notebooks/$a.ipynb")
    else echo "notebooks: no notebook '$a'" >&2; exit 2
    fi
  done
else
  for f in notebooks/*.ipynb; do [ -f "$f" ] && nbs+=("$f"); done
fi
if [ ${#nbs[@]} -eq 0 ]; then echo "notebooks: no notebooks found" >&2; exit 2; fi

echo "notebooks: ${#nbs[@]} notebook(s), CD_QUICK=${CD_QUICK:-0}, cell timeout ${CD_CELL_TIMEOUT:-900}s, output $OUT/"
failed=()
t0=$(date +%s)
for nb in "${nbs[@]}"; do
  if ! /usr/bin/python3 scripts/nbexec.py "$nb" --out-dir "$OUT" --timeout "${CD_CELL_TIMEOUT:-900}"; then
    failed+=("$nb")
  fi
done
echo "notebooks: $(( ${#nbs[@]} - ${#failed[@]} ))/${#nbs[@]} passed in $(( $(date +%s) - t0 ))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "notebooks: FAILED: ${failed[*]}" >&2
  exit 1
fi
