/**
 * HTML for plotly figures: notebook outputs (tslab.display.html) and self-contained report pages.
 *
 * Nothing may come from a CDN here, so the plotly bundle (plotly.js-dist-min, about 4.8 MB) is inlined:
 * once per process for notebook outputs (the first figure of a notebook carries it; later ones reuse
 * window.Plotly), once per page for reportHtml.
 *
 * Each figure is `<div class="cd-figure" data-expected-traces="N">`; scripts/check-reports.py renders
 * exported pages in headless Chromium and compares N with the traces plotly actually drew.
 *
 * Keep this file within TypeScript 5.0 syntax (tslab compiles notebooks against its .d.ts with TS 5.0.4).
 */
import * as fs from "fs";
import * as path from "path";
import type { FigureSpec } from "./plots";

let bundleCache: string | null = null;
let bundleInlined = false;
let figureCounter = 0;

/** Path of the plotly bundle in node_modules. */
export function plotlyBundlePath(): string {
  return require.resolve("plotly.js-dist-min/plotly.min.js");
}

/** The minified plotly bundle's source (read once, cached). */
export function plotlyBundle(): string {
  if (bundleCache === null) bundleCache = fs.readFileSync(plotlyBundlePath(), "utf8");
  return bundleCache;
}

/** Forget that the bundle was inlined: the next figureHtml inlines it again (e.g. after clearing outputs). */
export function resetBundle(): void {
  bundleInlined = false;
}

/** Whether a figure in this process already carried the bundle. */
export function bundleAlreadyInlined(): boolean {
  return bundleInlined;
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
 * The bundle as one <script>. It is wrapped so that `define`, `exports` and `module` are hidden from its
 * UMD header: with require.js on the page (classic Jupyter, nbconvert's template) plotly would otherwise
 * register as an AMD module and never set window.Plotly.
 */
export function bundleScript(): string {
  const src = plotlyBundle().replace(/<\/(script)/gi, "<\\/$1");
  return `<script type="text/javascript">(function(define, exports, module){\n${src}\n}).call(window);</script>`;
}

export interface FigureHtmlOpts {
  /** Element id (default: a unique generated one). */
  id?: string;
  /**
   * true: always inline the bundle; false: never (the page already has it); "auto" (default): inline
   * it only if no figure in this process did yet.
   */
  inlineBundle?: boolean | "auto";
  /** Traces the checker should find rendered (default: spec.data.length). */
  expectedTraces?: number;
  /** CSS height of the container when the layout has none (default 420px). */
  height?: number;
}

function newId(): string {
  figureCounter += 1;
  return `cd-fig-${process.pid.toString(36)}-${Date.now().toString(36)}-${figureCounter}`;
}

/**
 * A figure as HTML: `<div>` + `<script>Plotly.newPlot(...)</script>` (the bundle first when it is inlined).
 * In a tslab notebook: `tslab.display.html(figureHtml(spec))`.
 */
export function figureHtml(spec: FigureSpec, opts: FigureHtmlOpts = {}): string {
  const id = opts.id ?? newId();
  const mode = opts.inlineBundle ?? "auto";
  const inline = mode === true || (mode === "auto" && !bundleInlined);
  if (inline) bundleInlined = true;
  const expected = opts.expectedTraces ?? spec.data.length;
  const layoutHeight = typeof spec.layout.height === "number" ? spec.layout.height : undefined;
  const height = layoutHeight ?? opts.height ?? 420;
  const config = { responsive: true, displaylogo: false, ...(spec.config ?? {}) };
  const eid = escapeHtml(id);
  const jsId = scriptJson(id);
  const plot =
    `<div id="${eid}" class="cd-figure" data-expected-traces="${expected}" style="width:100%;min-height:${height}px"></div>\n` +
    `<script type="text/javascript">(function(){` +
    `var el=document.getElementById(${jsId});` +
    `if(!window.Plotly){el.textContent="plotly bundle not loaded on this page (call resetBundle() and re-run the cell)";el.setAttribute("data-error","no-plotly");return;}` +
    `window.Plotly.newPlot(el,${scriptJson(spec.data)},${scriptJson(spec.layout)},${scriptJson(config)})` +
    `.catch(function(e){el.setAttribute("data-error",String(e));});` +
    `})();</script>`;
  return inline ? `${bundleScript()}\n${plot}` : plot;
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

/**
 * A self-contained offline HTML page: plotly inlined once in <head>, then the sections.
 * Does not touch the per-process notebook flag.
 */
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
      body.push(figureHtml(f, { id: `cd-report-fig-${n}`, inlineBundle: false }));
    }
    body.push(`</section>`);
  }
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(title)}</title>\n<style>${PAGE_CSS}</style>\n` +
    (hasFigures ? `${bundleScript()}\n` : "") +
    `</head>\n<body>\n${body.join("\n")}\n</body>\n</html>\n`
  );
}

/** Write a report page (atomically: a temporary file in the same folder, then rename). */
export function writeReport(file: string, html: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, html);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
}
