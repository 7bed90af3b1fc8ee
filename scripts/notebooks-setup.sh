#!/usr/bin/env bash
# Set up the notebook workflow: Jupyter from Debian, headless Chromium for the render check, and the
# tslab kernel (from this repo's node_modules) registered under the repo-local prefix .jupyter/.
#
#   npm run notebooks:setup             # as root: installs missing Debian packages; otherwise prints the command
#   bash scripts/notebooks-setup.sh --no-chromium   # skip chromium (only needed by `npm run notebooks:check`)
#
# Idempotent: installs nothing that is present, re-registers the kernel only if its kernel.json is
# missing or points at another tslab binary (e.g. the repo moved).
# Use the kernel with JUPYTER_PATH=<repo>/.jupyter/share/jupyter (the npm scripts set it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY=/usr/bin/python3   # Debian's python: the default python3 on these machines has no Jupyter
PREFIX="$REPO/.jupyter"
KERNEL_JSON="$PREFIX/share/jupyter/kernels/tslab/kernel.json"
TSLAB="$REPO/node_modules/.bin/tslab"
WANT_CHROMIUM=1
for a in "$@"; do
  case "$a" in
    --no-chromium) WANT_CHROMIUM=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "notebooks-setup: unknown option $a" >&2; exit 2 ;;
  esac
done
export PYDEVD_DISABLE_FILE_VALIDATION=1

t0=$(date +%s)
pymod() { [ -x "$PY" ] && "$PY" -c "import $1" >/dev/null 2>&1; }

missing=()
command -v jupyter-nbconvert >/dev/null 2>&1 && pymod nbconvert || missing+=(jupyter-nbconvert)
pymod nbclient || missing+=(python3-nbclient)
pymod jupyter_client || missing+=(jupyter-client)
pymod IPython || missing+=(python3-ipython)
command -v jupyter-notebook >/dev/null 2>&1 && pymod notebook || missing+=(jupyter-notebook)
if [ "$WANT_CHROMIUM" = 1 ]; then command -v chromium >/dev/null 2>&1 || missing+=(chromium); fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "notebooks-setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "notebooks-setup: missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    echo "then run this again." >&2
    exit 1
  fi
else
  echo "notebooks-setup: Debian packages present"
fi

if [ ! -x "$TSLAB" ]; then
  echo "notebooks-setup: $TSLAB not found: run 'npm ci' first" >&2
  exit 1
fi

current=""
if [ -f "$KERNEL_JSON" ]; then
  current="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["argv"][0])' "$KERNEL_JSON" 2>/dev/null || true)"
fi
if [ "$current" = "$TSLAB" ]; then
  echo "notebooks-setup: tslab kernel already registered ($KERNEL_JSON)"
else
  echo "notebooks-setup: registering the tslab kernel under $PREFIX"
  "$TSLAB" install --python "$PY" --binary "$TSLAB" --prefix "$PREFIX"
fi

export JUPYTER_PATH="$PREFIX/share/jupyter"
specs="$(jupyter kernelspec list 2>/dev/null || true)"
if ! grep -q "^ *tslab " <<<"$specs"; then
  echo "notebooks-setup: the tslab kernel is not visible to jupyter (JUPYTER_PATH=$JUPYTER_PATH)" >&2
  exit 1
fi

"$PY" - <<'PYEOF'
import nbconvert, nbclient, jupyter_client, nbformat, IPython, notebook
print(f"notebooks-setup: nbconvert {nbconvert.__version__}, nbclient {nbclient.__version__}, "
      f"jupyter_client {jupyter_client.__version__}, nbformat {nbformat.__version__}, "
      f"ipython {IPython.__version__}, notebook {notebook.__version__}")
PYEOF
echo "notebooks-setup: tslab $("$TSLAB" --version 2>/dev/null | head -1)"
if command -v chromium >/dev/null 2>&1; then echo "notebooks-setup: $(chromium --version 2>/dev/null | head -1)"; fi
echo "notebooks-setup: done in $(( $(date +%s) - t0 ))s"
