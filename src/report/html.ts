/**
 * HTML for plotly figures: notebook outputs and self-contained report pages.
 *
 * Nothing may come from a CDN here, so plotly travels inside the page. Two choices keep pages and saved
 * notebooks small and make figures survive any re-run of any cell:
 *
 * - The bundle is plotly's "basic" build (plotly.js-basic-dist-min: scatter, bar and pie, which is every
 *   trace type these charts use; 1.07 MB against 4.56 MB for the full build), gzip-compressed and
 *   base64-encoded (about 0.47 MB), and unpacked in the browser with DecompressionStream
 *   (`plotlyLoaderHtml`). A notebook emits it once, from its first cell (`notebookSetup`), not from
 *   whichever figure happened to be drawn first: re-running a plotting cell no longer removes plotly
 *   from the saved notebook, and a figure never carries the bundle.
 * - A figure (`figureHtml`) is a `<div>` plus a short script that waits for plotly: `window.Plotly`
 *   when the page has it, else the loader's promise `window.cdPlotly`. A page with neither says so in
 *   the figure's place (and in a `data-error` attribute the render check reads).
 *
 * The bundle is wrapped so that `define`, `exports` and `module` are hidden from its UMD header: with
 * require.js on the page (classic Jupyter, nbconvert's HTML template) plotly would otherwise register as
 * an AMD module and never set window.Plotly.
 *
 * Each figure is `<div class="cd-figure" data-expected-traces="N">`; scripts/check-reports.py renders
 * exported pages in headless Chromium and compares N with the traces plotly actually drew.
 *
 * Keep this file within TypeScript 5.0 syntax (tslab compiles notebooks against its .d.ts with TS 5.0.4).
 */
import * as fs from "fs";
import * as zlib from "zlib";
import type { FigureSpec } from "./plots";
import { writeFileAtomic } from "../io";
import { resolveOptional } from "../optional";

let bundleCache: string | null = null;
let loaderCache: string | null = null;
let figureCounter = 0;

/** Path of the plotly bundle in node_modules. */
export function plotlyBundlePath(): string {
  return resolveOptional("plotly.js-basic-dist-min/plotly-basic.min.js", "plotly.js-basic-dist-min", "figures (plotly)");
}

/** The minified plotly bundle's source (read once, cached). */
export function plotlyBundle(): string {
  if (bundleCache === null) bundleCache = fs.readFileSync(plotlyBundlePath(), "utf8");
  return bundleCache;
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;"));
}

/** JSON that is safe inside a <script> element (no "</script>", no U+2028/2029 line breaks). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * One <script> that makes plotly available on the page: it sets `window.cdPlotly`, a promise of the
 * plotly object, unpacking the gzip+base64 bundle it carries. Emitting it twice is harmless (the second
 * copy sees the promise and does nothing). About 0.47 MB.
 */
export function plotlyLoaderHtml(): string {
  if (loaderCache === null) {
    const gz = zlib.gzipSync(Buffer.from(plotlyBundle(), "utf8"), { level: 9 }).toString("base64");
    loaderCache =
      `<script type="text/javascript" class="cd-plotly-loader">(function(){` +
      `if(window.cdPlotly)return;` +
      `if(window.Plotly){window.cdPlotly=Promise.resolve(window.Plotly);return;}` +
      `var b64="${gz}";` +
      `window.cdPlotly=(function(){` +
      `if(typeof DecompressionStream==="undefined")return Promise.reject(new Error("this browser has no DecompressionStream: open the page in a current browser"));` +
      `var bin=atob(b64),bytes=new Uint8Array(bin.length);for(var i=0;i<bin.length;i++)bytes[i]=bin.charCodeAt(i);` +
      `return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text().then(function(code){` +
      `var s=document.createElement("script");` +
      `s.text="(function(define,exports,module){\\n"+code+"\\n}).call(window);";` +
      `(document.head||document.documentElement).appendChild(s);` +
      `if(!window.Plotly)throw new Error("the plotly bundle did not set window.Plotly");` +
      `return window.Plotly;});})();` +
      `})();</script>`;
  }
  return loaderCache;
}

export interface FigureHtmlOpts {
  /** Element id (default: a unique generated one). */
  id?: string;
  /** Traces the checker should find rendered (default: spec.data.length). */
  expectedTraces?: number;
  /** CSS height of the container when the layout has none (default 420px). */
  height?: number;
}

function newId(): string {
  figureCounter += 1;
  return `cd-fig-${process.pid.toString(36)}-${Date.now().toString(36)}-${figureCounter}`;
}

/** The message a figure shows when its page has no plotly. */
export const NO_PLOTLY_MESSAGE = "plotly is not loaded on this page: run the notebook's first cell (notebookSetup), then this one";

/**
 * What a figure shows where its script did not run: Jupyter runs no script of a notebook it does not trust
 * (one received from someone else, or saved by another program), so its figures stay blank. The script
 * removes this note as soon as it runs.
 */
export const UNTRUSTED_MESSAGE =
  "Figure not drawn: Jupyter did not run this output's script, which happens when the notebook is not trusted " +
  "(it was not last saved by you). Trust it with File > Trust Notebook (or `jupyter trust NOTEBOOK.ipynb`), then " +
  "reload the page; or re-run the cells.";

/**
 * A figure as HTML: `<div>` + `<script>` that draws it once plotly is there (window.Plotly, or the
 * loader's promise). Carries no bundle: a notebook's first cell emits plotlyLoaderHtml (notebookSetup),
 * a report page has it in <head>. In a notebook use `show(spec)` (notebook.ts).
 */
export function figureHtml(spec: FigureSpec, opts: FigureHtmlOpts = {}): string {
  const id = opts.id ?? newId();
  const expected = opts.expectedTraces ?? spec.data.length;
  const layoutHeight = typeof spec.layout.height === "number" ? spec.layout.height : undefined;
  const height = layoutHeight ?? opts.height ?? 420;
  const config = { responsive: true, displaylogo: false, ...(spec.config ?? {}) };
  const eid = escapeHtml(id);
  return (
    `<div id="${eid}" class="cd-figure" data-expected-traces="${expected}" style="width:100%;min-height:${height}px">` +
    `<p class="cd-untrusted" style="color:#a33;font-style:italic">${escapeHtml(UNTRUSTED_MESSAGE)}</p></div>\n` +
    `<script type="text/javascript">(function(){` +
    `var el=document.getElementById(${scriptJson(id)});` +
    `var note=el.querySelector(".cd-untrusted");if(note)el.removeChild(note);` +
    `function fail(msg){el.textContent=msg;el.setAttribute("data-error",msg);}` +
    `function draw(){` +
    `var p=window.Plotly?Promise.resolve(window.Plotly):window.cdPlotly;` +
    `if(!p){fail(${scriptJson(NO_PLOTLY_MESSAGE)});return;}` +
    `p.then(function(P){return P.newPlot(el,${scriptJson(spec.data)},${scriptJson(spec.layout)},${scriptJson(config)});})` +
    `.catch(function(e){fail("figure not drawn: "+e);});}` +
    // A page whose loader comes later in the document (not written by this project) still gets its plots.
    `if(!window.Plotly&&!window.cdPlotly&&document.readyState==="loading")document.addEventListener("DOMContentLoaded",draw);else draw();` +
    `})();</script>`
  );
}

/** A section of a report page; every field is optional and rendered in this order. */
export interface ReportSection {
  heading?: string;
  /** Plain text; blank lines separate paragraphs. Escaped. */
  text?: string;
  /** Raw HTML (e.g. tableHtml output). Not escaped. */
  html?: string;
  figures?: FigureSpec[];
}

const PAGE_CSS = `
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.7em}h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #ddd}
table.cd-table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
table.cd-table th,table.cd-table td{border:1px solid #ccc;padding:4px 8px;text-align:right}
table.cd-table th{background:#f3f3f3}
table.cd-table td.cd-str,table.cd-table th.cd-str{text-align:left}
.cd-figure{margin:1em 0}
`;

/** A self-contained offline HTML page: the plotly loader once in <head>, then the sections. */
export function reportHtml(title: string, sections: ReportSection[], opts: { generated?: string } = {}): string {
  const hasFigures = sections.some((s) => (s.figures?.length ?? 0) > 0);
  const body: string[] = [`<h1>${escapeHtml(title)}</h1>`];
  if (opts.generated !== undefined) body.push(`<p class="cd-generated">${escapeHtml(opts.generated)}</p>`);
  let n = 0;
  for (const s of sections) {
    body.push(`<section>`);
    if (s.heading !== undefined) body.push(`<h2>${escapeHtml(s.heading)}</h2>`);
    if (s.text !== undefined) {
      for (const para of s.text.split(/\n\s*\n/)) {
        if (para.trim() !== "") body.push(`<p>${escapeHtml(para.trim()).replace(/\n/g, "<br>")}</p>`);
      }
    }
    if (s.html !== undefined) body.push(s.html);
    for (const f of s.figures ?? []) {
      n += 1;
      body.push(figureHtml(f, { id: `cd-report-fig-${n}` }));
    }
    body.push(`</section>`);
  }
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(title)}</title>\n<style>${PAGE_CSS}</style>\n` +
    (hasFigures ? `${plotlyLoaderHtml()}\n` : "") +
    `</head>\n<body>\n${body.join("\n")}\n</body>\n</html>\n`
  );
}

/** Write a report page atomically (io.ts's writer: a temporary file in the same folder, then rename). */
export function writeReport(file: string, html: string): void {
  writeFileAtomic(file, html);
}
