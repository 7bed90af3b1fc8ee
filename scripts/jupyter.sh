#!/usr/bin/env bash
# Start the classic Jupyter notebook server on 127.0.0.1 (no browser) with the TypeScript (tslab) kernel.
#   npm run jupyter                       # full mode: notebooks run their real configurations
#   npm run jupyter -- --quick            # quick mode (CD_QUICK=1): tiny configurations, every cell in seconds
#   npm run jupyter -- --port 8890        # other options go to jupyter notebook
# env: CD_JUPYTER_PORT (default 8888), CD_NO_BUILD=1 skips the build.
# Notebooks import the compiled library from ../dist, so the library is built first; a failing build
# is reported but the server still starts with the dist/ already there (the notebooks' first cell then
# warns that dist/ is older than src/).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export PYDEVD_DISABLE_FILE_VALIDATION=1
args=()
for a in "$@"; do
  if [ "$a" = --quick ]; then export CD_QUICK=1; else args+=("$a"); fi
done
specs="$(/usr/bin/python3 -m jupyter kernelspec list 2>/dev/null || true)"
if ! grep -q "^ *tslab " <<<"$specs"; then
  echo "jupyter: the TypeScript kernel is not registered: run 'npm run notebooks:setup'" >&2
  exit 1
fi
if [ "${CD_NO_BUILD:-0}" != 1 ]; then
  npm run --silent build || echo "jupyter: WARNING: 'npm run build' failed; notebooks will use the existing dist/" >&2
fi
if [ "${CD_QUICK:-0}" = 1 ]; then
  echo "jupyter: QUICK MODE (CD_QUICK=1): notebooks run tiny configurations"
else
  echo "jupyter: full mode: notebooks run their real configurations (see each notebook's first cell for how long); 'npm run jupyter -- --quick' for tiny ones"
fi
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)
# scripts/jupyter_notebook_config.py: after a save, a notebook unchanged but for its outputs stays clean in `git status`.
exec /usr/bin/python3 -m notebook --no-browser --ip=127.0.0.1 --port="${CD_JUPYTER_PORT:-8888}" \
  --config="$REPO/scripts/jupyter_notebook_config.py" \
  --notebook-dir="$REPO/notebooks" "${extra[@]}" ${args[@]+"${args[@]}"}
