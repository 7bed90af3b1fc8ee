/**
 * Axes that tell the truth, applied by every spec builder in plots.ts (`honestAxes`):
 *
 * - log axes get explicit ticks at 1, 2, 5 x 10^e (1..9 x 10^e over less than a decade, decades only over
 *   many) labelled with their full value ("10k", "20k", "1M", "0.002"): plotly's own log labels print
 *   minor ticks as bare digits ("3 ... 10 ... 2 3"), which read as other numbers;
 * - a numeric axis whose values are all integers (n, k, widths) gets integer ticks: the values themselves
 *   when there are at most 12 of them, else an integer tick step, never a tick like 10.5;
 * - bars start from zero on a linear axis (bar builders set `rangemode: "tozero"` and refuse log axes);
 * - a long title wraps (`<br>` between words, the top margin grown to fit) instead of being clipped at
 *   both ends: plotly never wraps a title by itself.
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import type { Axis, FigureSpec, Trace } from "./plots";

/** A tick value as an unambiguous label: 10k, 2.5M, 300, 0.05, 2e-3. `parseTickLabel` inverts it. */
export function tickLabel(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  const trim = (x: number) => String(Number(x.toPrecision(3)));
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e3) return `${trim(v / 1e3)}k`;
  if (a >= 0.01) return trim(v);
  const [m, e] = v.toExponential(2).split("e");
  return `${Number(m)}e${Number(e)}`;
}

/** The value a tickLabel stands for (NaN when it is not one). */
export function parseTickLabel(s: string): number {
  const m = /^(-?[0-9.]+(?:e-?[0-9]+)?)([kMG]?)$/.exec(s);
  if (!m) return NaN;
  const scale = m[2] === "k" ? 1e3 : m[2] === "M" ? 1e6 : m[2] === "G" ? 1e9 : 1;
  return Number(m[1]) * scale;
}

/** Tick values for a log axis over [lo, hi] (both > 0): 1-2-5 per decade, denser or sparser as fits. */
export function logTickValues(lo: number, hi: number): number[] {
  if (!(lo > 0 && hi >= lo)) return [];
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  const pick = (mantissas: number[], every = 1): number[] => {
    const out: number[] = [];
    for (let e = e0; e <= e1; e++) {
      if ((e - e0) % every !== 0) continue;
      for (const m of mantissas) {
        const v = Number((m * Math.pow(10, e)).toPrecision(12));
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
      }
    }
    return out;
  };
  let ticks = pick([1, 2, 5]);
  if (ticks.length < 3) ticks = pick([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  if (ticks.length > 12) ticks = pick([1]);
  for (let every = 2; ticks.length > 12; every++) ticks = pick([1], every);
  // Keep the axis labelled where the data are: a tick just outside the data when none falls inside.
  if (ticks.length === 0) ticks = [Number(Math.pow(10, Math.round(Math.log10(lo))).toPrecision(12))];
  return ticks;
}

function numericValues(traces: readonly Trace[], key: "x" | "y"): number[] {
  const out: number[] = [];
  for (const t of traces) {
    for (const v of t[key] as unknown[]) if (typeof v === "number" && Number.isFinite(v)) out.push(v);
  }
  return out;
}

/**
 * Integer ticks for an axis whose values are all integers (null when they are not). With `atValues`
 * (the x axis: n, k, widths) and at most 12 distinct values, the ticks are the values themselves.
 */
export function integerTicks(values: readonly number[], atValues = true): Partial<Axis> | null {
  if (values.length === 0 || !values.every((v) => Number.isInteger(v))) return null;
  const distinct = Array.from(new Set(values)).sort((a, b) => a - b);
  if (atValues && distinct.length <= 12) return { tickmode: "array", tickvals: distinct, ticktext: distinct.map(tickLabel) };
  const span = distinct[distinct.length - 1] - distinct[0];
  // plotly picks integer steps by itself once the span is wide; below ~20 it may choose 0.5 or 2.5.
  if (span < 20) return { tick0: 0, dtick: Math.max(1, Math.ceil(span / 10)) };
  return null;
}

/** Longest title line before it wraps: about what a figure 700 px wide shows at plotly's title font. */
export const TITLE_LINE_CHARS = 80;

/** `text` broken into lines of at most `width` characters at spaces (a longer word stays whole), joined by `<br>`. */
export function wrapTitle(text: string, width = TITLE_LINE_CHARS): string {
  if (text.includes("<br>") || text.length <= width) return text;
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join("<br>");
}

/** Wrap the layout's title in place and make room for its lines in the top margin. */
export function wrapLayoutTitle(layout: FigureSpec["layout"]): void {
  if (!layout.title?.text) return;
  const text = wrapTitle(layout.title.text);
  const lines = text.split("<br>").length;
  layout.title = { ...layout.title, text };
  if (lines > 1) {
    const margin = (layout.margin ?? {}) as Record<string, number>;
    layout.margin = { ...margin, t: Math.max(margin.t ?? 0, 30 + 22 * lines) };
  }
}

/**
 * Apply the rules above to a spec's numeric axes (and its title), in place; returns the spec. An axis the caller
 * already gave `tickvals` keeps them. Horizontal bars keep their values on x (`orientation: "h"`).
 */
export function honestAxes(spec: FigureSpec): FigureSpec {
  wrapLayoutTitle(spec.layout);
  const horizontal = spec.data.some((t) => t.orientation === "h");
  for (const key of ["x", "y"] as const) {
    const axis = key === "x" ? spec.layout.xaxis : spec.layout.yaxis;
    if (axis.type === "category" || axis.tickvals !== undefined) continue;
    const values = numericValues(spec.data, key);
    const isValueAxis = spec.data.some((t) => t.type === "bar") && (key === "x") === horizontal;
    if (isValueAxis) {
      if (axis.type === "log") throw new Error("a bar chart on a log axis starts its bars at an arbitrary base: use a linear axis");
      axis.rangemode = "tozero";
    }
    if (axis.type === "log") {
      const pos = values.filter((v) => v > 0);
      if (pos.length === 0) continue;
      const ticks = logTickValues(Math.min(...pos), Math.max(...pos));
      axis.tickmode = "array";
      axis.tickvals = ticks;
      axis.ticktext = ticks.map(tickLabel);
    } else if (!isValueAxis) {
      const ticks = integerTicks(values, key === "x");
      if (ticks) Object.assign(axis, ticks);
    }
  }
  return spec;
}
