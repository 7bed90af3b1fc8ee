#!/usr/bin/env node
/**
 * Strip outputs from notebooks so that they never reach a commit: outputs, execution counts and
 * per-run cell metadata (execution timings, scroll state) are removed; sources, cell ids and the
 * notebook's own metadata stay. The kernel metadata a run adds (language_info's version and
 * codemirror_mode, a kernelspec's extra keys, as tslab and Jupyter write them when a notebook is
 * executed) is cut back to the fixed fields the committed notebooks carry, so an executed and saved
 * notebook is unchanged in `git status`. Written as Jupyter writes notebooks (one-space indent, sorted keys,
 * UTF-8, trailing newline), so a clean notebook passes through unchanged.
 *
 *   node scripts/nbstrip.js                  # as git's clean filter: notebook on stdin, stripped on stdout
 *   node scripts/nbstrip.js FILE.ipynb ...   # in place (npm run notebooks:clean does notebooks/*.ipynb)
 *   node scripts/nbstrip.js --check FILE ... # exit 1 naming every notebook that carries outputs
 *
 * The git filter is set up by `npm run notebooks:setup` (.gitattributes: notebooks/*.ipynb filter=nbstrip).
 * Hand-written: nbstripout (the usual tool) is not packaged by Debian 12 and pip is unreachable here;
 * the format is plain JSON and the rules fit in this file.
 */
"use strict";
const fs = require("fs");

const VOLATILE_CELL_METADATA = ["execution", "collapsed", "scrolled", "ExecuteTime", "jupyter", "tags_runtime"];
const VOLATILE_NB_METADATA = ["widgets", "vscode", "toc", "varInspector"];
/** The kernel metadata kept (the rest is written anew by whichever kernel and front end ran the notebook). */
const KEPT_KERNEL_METADATA = { kernelspec: ["display_name", "language", "name"], language_info: ["file_extension", "mimetype", "name"] };

function keepOnly(obj, keys) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return obj;
  const out = {};
  for (const k of keys) if (k in obj) out[k] = obj[k];
  return out;
}

function strip(nb) {
  for (const cell of nb.cells || []) {
    if (cell.cell_type === "code") {
      cell.outputs = [];
      cell.execution_count = null;
    }
    if (cell.metadata) for (const k of VOLATILE_CELL_METADATA) delete cell.metadata[k];
  }
  if (nb.metadata) {
    for (const k of VOLATILE_NB_METADATA) delete nb.metadata[k];
    for (const [k, keys] of Object.entries(KEPT_KERNEL_METADATA)) if (k in nb.metadata) nb.metadata[k] = keepOnly(nb.metadata[k], keys);
  }
  return nb;
}

function hasOutputs(nb) {
  return (nb.cells || []).some((c) => c.cell_type === "code" && ((c.outputs && c.outputs.length > 0) || c.execution_count != null));
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]);
    return out;
  }
  return value;
}

/** As nbformat writes: json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n". */
function format(nb) {
  return JSON.stringify(sortKeys(nb), null, 1) + "\n";
}

function main(argv) {
  const check = argv[0] === "--check";
  const files = check ? argv.slice(1) : argv;
  if (files.length === 0) {
    const input = fs.readFileSync(0, "utf8");
    let nb;
    try {
      nb = JSON.parse(input);
    } catch {
      process.stdout.write(input); // not JSON (e.g. a merge conflict): leave it to the user
      return 0;
    }
    process.stdout.write(format(strip(nb)));
    return 0;
  }
  let dirty = 0;
  for (const f of files) {
    const nb = JSON.parse(fs.readFileSync(f, "utf8"));
    if (check) {
      if (hasOutputs(nb)) {
        dirty += 1;
        process.stderr.write(`${f}: carries outputs (run npm run notebooks:clean)\n`);
      }
      continue;
    }
    const text = format(strip(nb));
    if (text !== fs.readFileSync(f, "utf8")) {
      fs.writeFileSync(f, text);
      process.stdout.write(`stripped ${f}\n`);
    }
  }
  return dirty ? 1 : 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
module.exports = { strip, hasOutputs, format };
