/**
 * Loaded into the TypeScript kernel by its launcher (scripts/tslab-launcher.sh, NODE_OPTIONS=--require):
 * when a cell fails to compile with "Cannot find name 'x'" in a kernel where no notebook's setup cell has
 * run (a fresh or restarted kernel: every variable is gone), one more line on the cell's stderr says what
 * to do, instead of tslab's bare diagnostic:
 *
 *   1:7 - Cannot find name 'costFigures'.
 *   This kernel has not run the notebook's setup cell (the first code cell) since it started: after a
 *   restart every variable is gone. Run the cells from the top (Cell > Run All Above, or Run All), then this one.
 *
 * It wraps tslab's createExecutor (tslab/dist/executor.js) when tslab loads it; in any other process (the
 * worker threads, node run outside a kernel) it does nothing. notebookSetup (src/report/notebook.ts) sets
 * globalThis.__cdNotebookSetup.
 */
"use strict";
const Module = require("module");

const HINT =
  "This kernel has not run the notebook's setup cell (the first code cell) since it started: after a restart " +
  "every variable is gone. Run the cells from the top (Cell > Run All Above, or Run All), then this one.";
const MISSING_NAME = /Cannot find name '|Cannot find module '\.\.\/dist/;

function hintingConsole(console, state) {
  return new Proxy(console, {
    get(target, prop) {
      const v = target[prop];
      if (prop !== "error" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
      return (...args) => {
        v.apply(target, args);
        if (state.hinted || globalThis.__cdNotebookSetup) return;
        if (args.some((a) => typeof a === "string" && MISSING_NAME.test(a))) {
          state.hinted = true;
          v.call(target, HINT);
        }
      };
    },
  });
}

function wrap(executorModule) {
  const create = executorModule.createExecutor;
  if (typeof create !== "function" || create.__cdHints) return;
  const wrapped = function (rootDir, convs, console) {
    const state = { hinted: false };
    const ex = create.call(this, rootDir, convs, hintingConsole(console, state));
    const execute = ex.execute;
    ex.execute = (...a) => {
      state.hinted = false; // at most one hint per cell
      return execute.apply(ex, a);
    };
    return ex;
  };
  wrapped.__cdHints = true;
  executorModule.createExecutor = wrapped;
}

const load = Module._load;
let done = false;
Module._load = function (request, parent, isMain) {
  const m = load.apply(this, arguments);
  if (!done && request === "./executor" && parent && /[\\/]tslab[\\/]dist[\\/]main\.js$/.test(parent.filename || "")) {
    done = true;
    Module._load = load;
    try {
      wrap(m);
    } catch {
      // never break the kernel over a hint
    }
  }
  return m;
};

module.exports = { HINT };
