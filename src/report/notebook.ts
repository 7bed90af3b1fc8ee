/**
 * What every notebook's first cell does (`notebookSetup`) and how cells display results (`show`).
 *
 * - Staleness guard: notebooks run the compiled library in dist/. When a file in src/ is newer than its
 *   build, or dist/ was rebuilt after this kernel loaded it (Node keeps the old modules: the cells then fail
 *   with errors like "(0 , progress_1.newHelper) is not a function"), one line on stderr says so and what
 *   to do.
 * - The plotly loader (html.ts) is displayed once, here, so figures survive re-running any cell.
 * - A visible banner: quick mode (CD_QUICK=1, tiny configurations: the numbers are not the main
 *   configuration's), or full mode with how long "Run All" takes.
 * - `show(x)` displays a figure spec (as plotly's own MIME type `application/vnd.plotly.v1+json` for
 *   front ends that render it, e.g. VS Code or JupyterLab with plotly's extension, with the HTML figure
 *   as the fallback that classic Jupyter and nbconvert use), a danfojs DataFrame, rows, or HTML.
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import * as fs from "fs";
import * as path from "path";
import { escapeHtml, figureHtml, plotlyLoaderHtml } from "./html";
import type { FigureSpec } from "./plots";
import { referenceTable } from "./references";
import { DataFrameLike, Row, TableHtmlOpts, frameHtml, isDataFrame, tableHtml } from "./tables";

const LOADED_AT = Date.now();
/** The checkout this module was built into (dist/report/ -> the repo). */
const ROOT = path.resolve(__dirname, "..", "..");

/** A file in src/ that is newer than its compiled JavaScript in dist/, or null when the build is current. */
export interface Staleness {
  /** "stale": src changed after the build; "rebuilt": dist/ changed after this process loaded it. */
  kind: "stale" | "rebuilt";
  file: string;
  message: string;
}

function walk(dir: string, ext: string, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, ext, out);
    else if (e.name.endsWith(ext) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/**
 * Compare src/ with dist/ under `root` (default: the checkout this module was built into). A missing
 * src/ (an installed package) is never stale.
 */
export function checkBuild(root = ROOT, loadedAt = LOADED_AT): Staleness | null {
  const src = path.join(root, "src");
  const dist = path.join(root, "dist");
  if (!fs.existsSync(src) || !fs.existsSync(dist)) return null;
  for (const file of walk(src, ".ts")) {
    const rel = path.relative(src, file);
    const js = path.join(dist, rel.replace(/\.ts$/, ".js"));
    const srcTime = fs.statSync(file).mtimeMs;
    const jsTime = fs.existsSync(js) ? fs.statSync(js).mtimeMs : -Infinity;
    if (srcTime > jsTime) {
      return {
        kind: "stale",
        file: path.join("src", rel),
        message: `dist/ is older than src/ (${path.join("src", rel)} changed after the last build): run \`npm run build\`, then restart the kernel`,
      };
    }
  }
  for (const js of walk(dist, ".js")) {
    if (fs.statSync(js).mtimeMs > loadedAt + 1000) {
      return {
        kind: "rebuilt",
        file: path.relative(root, js),
        message: `dist/ was rebuilt after this kernel loaded the library (${path.relative(root, js)}): restart the kernel (Kernel > Restart) to use the new build`,
      };
    }
  }
  return null;
}

let warned = false;
let checkedByShow = false;

/** Check the build and warn once per process, in one line on stderr, when it is stale. Returns the finding. */
export function warnIfStale(): Staleness | null {
  const s = checkBuild();
  if (s && !warned) {
    warned = true;
    process.stderr.write(`WARNING: ${s.message}\n`);
  }
  return s;
}

/** tslab's display writer: `update` false sends display_data, true update_display_data (for `transient.display_id`). */
export type DisplayWriter = (content: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/**
 * The running tslab kernel's display writer. tslab's public `display` sends one MIME type per output;
 * a figure needs two (plotly JSON and its HTML fallback), so this takes the writer the kernel itself
 * uses (tslab/dist/jupyter.js, `lastWriteDisplayData`, set for every cell). It is looked up among the
 * loaded modules, so it is the kernel's own instance whichever tslab binary runs it. Null outside a kernel.
 */
export function kernelWriter(): DisplayWriter | null {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    const w = (mod?.exports as { lastWriteDisplayData?: DisplayWriter | null } | undefined)?.lastWriteDisplayData;
    if (typeof w === "function") return w;
  }
  return null;
}

/** Display a MIME bundle in the notebook (every entry one representation of the same output). */
export function displayBundle(data: Record<string, unknown>): void {
  const w = kernelWriter();
  if (w === null) throw new Error("displayBundle: not running in a tslab kernel");
  w({ data, metadata: {}, transient: {} }, false);
}

/** The MIME bundle of a figure: plotly's JSON for front ends that render it, the HTML figure for the rest. */
export function figureBundle(spec: FigureSpec): Record<string, unknown> {
  const config = { responsive: true, displaylogo: false, ...(spec.config ?? {}) };
  return {
    "application/vnd.plotly.v1+json": { data: spec.data, layout: spec.layout, config },
    "text/html": figureHtml(spec),
    "text/plain": `<plotly figure: ${spec.data.length} trace(s)${spec.layout.title ? `, "${spec.layout.title.text}"` : ""}>`,
  };
}

function isFigure(x: unknown): x is FigureSpec {
  return typeof x === "object" && x !== null && Array.isArray((x as FigureSpec).data) && typeof (x as FigureSpec).layout === "object";
}

/**
 * Display a figure spec, a danfojs DataFrame, rows (an array of objects, rendered through a DataFrame)
 * or an HTML string. Tables take `opts` (caption, digits).
 */
export function show(x: FigureSpec | DataFrameLike | Row[] | string, opts: TableHtmlOpts = {}): void {
  if (!checkedByShow) {
    checkedByShow = true; // the first cell checks every run; show adds one check per kernel (a stat of each file)
    warnIfStale();
  }
  if (typeof x === "string") displayBundle({ "text/html": x });
  else if (isFigure(x)) displayBundle(figureBundle(x));
  else if (isDataFrame(x)) displayBundle({ "text/html": frameHtml(x, opts) });
  else displayBundle({ "text/html": tableHtml(x, undefined, opts) });
}

export interface NotebookSetupOpts {
  /** How long "Run All" takes in full mode, measured (e.g. "about 4 min on 2 cores"). */
  fullRunTime: string;
  /** What quick mode shrinks, for the banner (e.g. "n=12, k=3, one seed"). */
  quickConfig?: string;
}

export interface NotebookContext {
  /** CD_QUICK=1: tiny configurations. */
  quick: boolean;
  /** Teacher cache shared with the CLI (CD_CACHE_DIR overrides; tests point it at a temporary folder). */
  cacheDir: string;
  /** Where notebooks write results folders (CD_RESULTS_DIR; default data/results/notebooks in the checkout). */
  resultsDir: string;
  /** Worker threads for runParity (CD_WORKERS, default 2). */
  workers: number;
  /** The staleness check's finding, if any. */
  staleness: Staleness | null;
}

/** The banner's HTML (exported so that tests and pages can show the same). */
export function modeBannerHtml(quick: boolean, opts: NotebookSetupOpts): string {
  if (quick) {
    return (
      `<div class="cd-banner cd-quick" style="border:2px solid #c60;background:#fff4e5;padding:8px 12px;margin:6px 0;font-weight:bold">` +
      `QUICK MODE (CD_QUICK=1): tiny configurations${opts.quickConfig ? ` (${escapeHtml(opts.quickConfig)})` : ""} that only ` +
      `exercise every cell. The numbers and charts below are not the results the text describes; each result states the ` +
      `configuration it was run with. A full run (unset CD_QUICK) takes ${escapeHtml(opts.fullRunTime)}.</div>`
    );
  }
  return (
    `<div class="cd-banner cd-full" style="border:1px solid #999;background:#f4f4f4;padding:6px 12px;margin:6px 0">` +
    `Full mode: "Run All" takes ${escapeHtml(opts.fullRunTime)}. For a tiny run that exercises every cell, start Jupyter ` +
    `with CD_QUICK=1 (<code>npm run jupyter -- --quick</code>).</div>`
  );
}

/**
 * The first cell of every notebook: the staleness guard, the plotly loader and the mode banner.
 * Returns the settings the notebook reads from the environment.
 */
export function notebookSetup(opts: NotebookSetupOpts): NotebookContext {
  warned = false;
  // scripts/tslab-hints.js (loaded by the kernel's launcher) reads this: a "Cannot find name" in a kernel
  // where no setup cell ran (a fresh or restarted kernel) gets a hint to run the setup cell first.
  (globalThis as { __cdNotebookSetup?: boolean }).__cdNotebookSetup = true;
  const staleness = warnIfStale();
  const quick = process.env.CD_QUICK === "1";
  displayBundle({ "text/html": `${plotlyLoaderHtml()}\n${modeBannerHtml(quick, opts)}` });
  const workers = Number(process.env.CD_WORKERS ?? "2");
  return {
    quick,
    cacheDir: process.env.CD_CACHE_DIR ?? path.join(ROOT, "data", "cache", "teachers"),
    resultsDir: process.env.CD_RESULTS_DIR ?? path.join(ROOT, "data", "results", "notebooks"),
    workers: Number.isInteger(workers) && workers >= 1 ? workers : 2,
    staleness,
  };
}

let currentAbort: AbortController | null = null;
let sigintListening = false;

/**
 * An AbortSignal that aborts when the kernel is interrupted (Kernel > Interrupt: Jupyter sends the kernel
 * SIGINT, on which tslab gives up waiting for the cell; this makes the work itself stop). Each call starts
 * a new signal for the cell that asked; an interrupt aborts the latest one.
 */
export function interruptSignal(): AbortSignal {
  if (!sigintListening) {
    sigintListening = true;
    // Registered after the cell's synchronous part, not during it. tslab runs that part through
    // vm.runInThisContext({ breakOnSigint: true }): node takes every SIGINT listener off for its duration
    // and puts them back after it, and when it stops its SIGINT watchdog it sets the signal's handler to
    // node's exit-on-SIGINT. Putting tslab's listener back re-installs libuv's handler over that, but only
    // if no SIGINT listener is active by then: one added during the synchronous part (ours, here) keeps
    // libuv from re-installing it, and the next interrupt kills the kernel (exit by SIGINT, no message;
    // seen with strace: rt_sigaction(SIGINT, SA_RESETHAND) after the cell started, then the kill).
    const listen = () => process.on("SIGINT", () => currentAbort?.abort(new Error("interrupted (Kernel > Interrupt)")));
    if (process.listenerCount("SIGINT") === 0) setImmediate(listen);
    else listen();
  }
  currentAbort = new AbortController();
  return currentAbort.signal;
}

/**
 * Run options for a long cell, with `signal` set to interruptSignal(): the experiment runner and distill()
 * stop their work (workers included) when the kernel is interrupted, and write nothing after it.
 *   const r = await runParity(cfg, interruptible({ cacheDir: nb.cacheDir, onProgress: live.onProgress }));
 */
export function interruptible<T extends object>(opts: T): T & { signal: AbortSignal } {
  return { ...opts, signal: interruptSignal() };
}

/**
 * Show a full-size reference result beside a notebook's own (quick) numbers: a table from the committed
 * result summaries in docs/results (references.ts), captioned as a reference, not this run.
 */
export function showReference(name: string): void {
  const t = referenceTable(name);
  show(t.rows, { caption: `FULL-SIZE REFERENCE (committed results, not this run): ${t.caption}` });
}
