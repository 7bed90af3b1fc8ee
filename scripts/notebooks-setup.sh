#!/usr/bin/env bash
# Set up the notebook workflow: Jupyter from Debian, headless Chromium for the render check, the tslab
# kernel registered where every Jupyter front end looks (the user's Jupyter data dir), and the git filter
# that keeps notebook outputs out of commits.
#
#   npm run notebooks:setup                         # as root: installs missing Debian packages; otherwise prints the command
#   bash scripts/notebooks-setup.sh --no-chromium   # skip chromium (only needed by `npm run notebooks:check`)
#
# Idempotent: installs nothing that is present; rewrites the kernel only when it differs.
# The kernel: `tslab install --user` with a launcher (scripts/tslab-launcher.sh) that starts the tslab of
# the checkout a notebook lives in, so plain `jupyter notebook`, `jupyter kernelspec list`, VS Code and
# JupyterLab (where installed) see it with no environment variables, and several checkouts share it.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY=/usr/bin/python3   # Debian's python: the default python3 on these machines has no Jupyter
TSLAB="$REPO/node_modules/.bin/tslab"
WANT_CHROMIUM=1
for a in "$@"; do
  case "$a" in
    --no-chromium) WANT_CHROMIUM=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
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

apt_hint() {
  # Who holds the dpkg/apt lock, if anyone: the usual reason an install stops here.
  local holder=""
  if command -v fuser >/dev/null 2>&1; then
    holder="$(fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock 2>/dev/null | tr -s ' ' || true)"
  fi
  echo "notebooks-setup: apt-get failed. If another apt/dpkg is running${holder:+ (lock held by PID${holder})}, wait for it" >&2
  echo "  and run 'npm run notebooks:setup' again; apt waited up to ${APT_LOCK_WAIT}s for the lock. Otherwise read apt's message above." >&2
}

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    # Another apt or dpkg (an unattended upgrade, a colleague's install) holds the lock: wait for it.
    APT_LOCK_WAIT="${CD_APT_LOCK_WAIT:-600}"
    echo "notebooks-setup: installing Debian packages: ${missing[*]} (waiting up to ${APT_LOCK_WAIT}s for a held dpkg lock)"
    if ! apt-get -o DPkg::Lock::Timeout="$APT_LOCK_WAIT" update -qq ||
      ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$APT_LOCK_WAIT" install -y -qq "${missing[@]}"; then
      apt_hint
      exit 1
    fi
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

# The kernel, in the user's Jupyter data dir (~/.local/share/jupyter unless JUPYTER_DATA_DIR says otherwise).
DATA_DIR="$("$PY" -c 'from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())')"
LAUNCHER="$DATA_DIR/curriculum-distill/tslab-launcher"
NODE_DIR="$(dirname "$(command -v node)")"
rendered="$(sed -e "s|@NODE_DIR@|$NODE_DIR|g" -e "s|@REPO@|$REPO|g" "$REPO/scripts/tslab-launcher.sh")"
KERNEL_JSON="$DATA_DIR/kernels/tslab/kernel.json"
current=""
[ -f "$KERNEL_JSON" ] && current="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["argv"][0])' "$KERNEL_JSON" 2>/dev/null || true)"
if [ "$current" = "$LAUNCHER" ] && [ -f "$LAUNCHER" ] && [ "$(cat "$LAUNCHER")" = "$rendered" ]; then
  echo "notebooks-setup: tslab kernel already registered ($KERNEL_JSON)"
else
  mkdir -p "$(dirname "$LAUNCHER")"
  printf '%s\n' "$rendered" >"$LAUNCHER.tmp" && chmod 755 "$LAUNCHER.tmp" && mv "$LAUNCHER.tmp" "$LAUNCHER"
  echo "notebooks-setup: registering the tslab kernel in $DATA_DIR/kernels (launcher $LAUNCHER)"
  "$TSLAB" install --user --python "$PY" --binary "$LAUNCHER"
fi

# Visible to Debian's Jupyter with no extra environment (JUPYTER_PATH cleared for the check).
specs="$(env -u JUPYTER_PATH "$PY" -m jupyter kernelspec list 2>/dev/null || true)"
if ! grep -q "^ *tslab " <<<"$specs"; then
  echo "notebooks-setup: the tslab kernel is not visible to 'jupyter kernelspec list':" >&2
  echo "$specs" >&2
  exit 1
fi

# Notebook outputs stay out of commits: git runs scripts/nbstrip.js on notebooks/*.ipynb (.gitattributes).
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$REPO" config filter.nbstrip.clean "node scripts/nbstrip.js"
  git -C "$REPO" config filter.nbstrip.smudge cat
  echo "notebooks-setup: git filter nbstrip set (notebook outputs are stripped when staged)"
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
