#!/bin/sh
# The TypeScript (tslab) kernel's launcher, installed into the user's Jupyter data dir by
# curriculum-distill's `npm run notebooks:setup` (scripts/notebooks-setup.sh) and named in the kernel's
# kernel.json. Jupyter starts a kernel in the notebook's folder, so this runs the tslab of the checkout the
# notebook lives in (node_modules/.bin/tslab in that folder or above): one registered kernel serves every
# checkout, each with its own tslab and library. Falls back to the checkout that installed it, then to a
# tslab on PATH. Node's folder at install time goes first on PATH (a desktop-started Jupyter may lack it).
PATH="@NODE_DIR@:$PATH"
export PATH
# scripts/tslab-hints.js of that checkout, where it has one, adds a hint to "Cannot find name" errors in a
# kernel whose setup cell has not run (after a restart).
d=$(pwd -P)
while :; do
  if [ -x "$d/node_modules/.bin/tslab" ]; then
    if [ -f "$d/scripts/tslab-hints.js" ]; then
      NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--require=\"$d/scripts/tslab-hints.js\""
      export NODE_OPTIONS
    fi
    exec "$d/node_modules/.bin/tslab" "$@"
  fi
  [ "$d" = / ] && break
  d=$(dirname "$d")
done
if [ -x "@REPO@/node_modules/.bin/tslab" ]; then exec "@REPO@/node_modules/.bin/tslab" "$@"; fi
exec tslab "$@"
