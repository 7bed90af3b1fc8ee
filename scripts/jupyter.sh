#!/usr/bin/env bash
# Start the classic Jupyter notebook server on 127.0.0.1 (no browser) with the repo's tslab kernel.
#   npm run jupyter [-- --port 8890]        env: CD_JUPYTER_PORT (default 8888), CD_NO_BUILD=1 skips the build
# Notebooks import the compiled library from ../dist, so the library is built first; a failing build
# is reported but the server still starts with the dist/ already there.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export JUPYTER_PATH="$REPO/.jupyter/share/jupyter"
export PYDEVD_DISABLE_FILE_VALIDATION=1
if [ ! -f "$JUPYTER_PATH/kernels/tslab/kernel.json" ]; then
  echo "jupyter: the tslab kernel is not registered: run 'npm run notebooks:setup'" >&2
  exit 1
fi
if [ "${CD_NO_BUILD:-0}" != 1 ]; then
  npm run --silent build || echo "jupyter: WARNING: 'npm run build' failed; notebooks will use the existing dist/" >&2
fi
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)
exec /usr/bin/python3 -m notebook --no-browser --ip=127.0.0.1 --port="${CD_JUPYTER_PORT:-8888}" \
  --notebook-dir="$REPO/notebooks" "${extra[@]}" "$@"
