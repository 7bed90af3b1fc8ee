/**
 * Plotly figure specs as plain JSON ({data, layout}): no plotly import, nothing rendered here.
 * Render them with `show` (notebook.ts) in a notebook or figureHtml (html.ts) in a report page.
 * Every builder ends with `honestAxes` (axes.ts): readable log ticks, integer ticks for integer axes,
 * bars from zero on a linear axis.
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */

/** One learning curve: held-out accuracy (and optionally loss) after `samples[i]` training samples. */
export interface Curve {
  samples: number[];
  accuracy: number[];
  loss?: number[];
}

/** A plotly trace; only the fields the builders set are typed, anything else passes through. */
export interface Trace {
  type: "scatter" | "bar" | string;
  name?: string;
  x: Array<number | string>;
  y: number[];
  mode?: string;
  [key: string]: unknown;
}

export interface Axis {
  title?: { text: string };
  type?: "linear" | "log" | "category";
  range?: [number, number];
  [key: string]: unknown;
}

export interface Layout {
  title?: { text: string };
  xaxis: Axis;
  yaxis: Axis;
  [key: string]: unknown;
}

/** A plotly figure: pass `data` and `layout` to Plotly.newPlot. */
export interface FigureSpec {
  data: Trace[];
  layout: Layout;
  config?: Record<string, unknown>;
}

import { honestAxes } from "./axes";
import { methodColor } from "../distill/methods";
import { fmtSamples } from "../format";

export interface CommonOpts {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

/** Colours assigned to series in order (plotly's default cycle). */
export const PALETTE: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

export function colorFor(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

function axis(title: string | undefined, log: boolean | undefined, extra?: Axis): Axis {
  const a: Axis = { ...(extra ?? {}) };
  if (title !== undefined) a.title = { text: title };
  if (log) a.type = "log";
  return a;
}

function baseLayout(opts: CommonOpts, xDefault?: string, yDefault?: string): Layout {
  const layout: Layout = {
    xaxis: axis(opts.xTitle ?? xDefault, opts.logX),
    yaxis: axis(opts.yTitle ?? yDefault, opts.logY),
    margin: { l: 60, r: 20, t: opts.title ? 50 : 20, b: 50 },
    legend: { orientation: "h", y: -0.2 },
  };
  if (opts.title) layout.title = { text: opts.title };
  if (opts.width !== undefined) layout.width = opts.width;
  if (opts.height !== undefined) layout.height = opts.height;
  return layout;
}

function checkLengths(what: string, xs: ArrayLike<unknown>, ys: ArrayLike<unknown>): void {
  if (xs.length !== ys.length) {
    throw new Error(`${what}: x has ${xs.length} points but y has ${ys.length}`);
  }
}

/** Linear interpolation of (xs, ys) at x; xs ascending. Outside the range: the nearest end value. */
export function interpolate(xs: number[], ys: number[], x: number): number {
  if (xs.length === 0) return NaN;
  if (x <= xs[0]) return ys[0];
  if (x >= xs[xs.length - 1]) return ys[ys.length - 1];
  let lo = 0;
  let hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  const t = xs[hi] === xs[lo] ? 0 : (x - xs[lo]) / (xs[hi] - xs[lo]);
  return ys[lo] + t * (ys[hi] - ys[lo]);
}

/**
 * Mean of several curves over seeds. When all curves share the same sample grid the mean is taken
 * point-wise; otherwise each curve is interpolated onto the grid of the longest one, and a curve that
 * ended early (a run stops when it reaches its target) is held at its last value, so the mean runs
 * to the end of the longest run instead of stopping where the first seed stopped.
 */
export function meanCurve(curves: Curve[], field: "accuracy" | "loss" = "accuracy"): { x: number[]; y: number[] } {
  const usable = curves.filter((c) => (field === "accuracy" ? c.accuracy : c.loss) !== undefined);
  if (usable.length === 0) return { x: [], y: [] };
  const get = (c: Curve): number[] => (field === "accuracy" ? c.accuracy : (c.loss as number[]));
  for (const c of usable) checkLengths("meanCurve", c.samples, get(c));
  const first = usable[0].samples;
  const sameGrid = usable.every((c) => c.samples.length === first.length && c.samples.every((s, i) => s === first[i]));
  if (sameGrid) {
    return { x: first.slice(), y: first.map((_, i) => usable.reduce((acc, c) => acc + get(c)[i], 0) / usable.length) };
  }
  const lo = Math.max(...usable.map((c) => c.samples[0] ?? Infinity));
  const hi = Math.max(...usable.map((c) => c.samples[c.samples.length - 1] ?? -Infinity));
  const longest = usable.reduce((a, b) => (b.samples.length > a.samples.length ? b : a));
  const grid = longest.samples.filter((s) => s >= lo && s <= hi);
  return { x: grid, y: grid.map((x) => usable.reduce((acc, c) => acc + interpolate(c.samples, get(c), x), 0) / usable.length) };
}

export interface AccuracyCurvesOpts extends CommonOpts {
  /** Draw every seed as a thin, faint line under the mean (default false). */
  perSeed?: boolean;
  /** Draw the seed mean (default true when a method has several seeds). With one seed the curve itself is drawn. */
  mean?: boolean;
  /** Plot `loss` instead of `accuracy`. */
  metric?: "accuracy" | "loss";
  /** A dashed horizontal line, e.g. the target accuracy. Adds one trace. */
  target?: number;
  /**
   * y range. Default for accuracy: fitted to the plotted values (target line included), padded by 5%
   * of their span and clipped to [0, 1.02], so that curves at 3-19% are not squeezed against a 0-1
   * axis; automatic for loss.
   */
  yRange?: [number, number];
  /** Fixed colours per method name. */
  colors?: Record<string, string>;
  /**
   * Accuracy in percent (values and target x 100, "%" in the y title) on a range from zero to just above the
   * highest value, for notebooks whose tables speak percent: a range fitted to 4.5-9.2% would magnify noise.
   */
  percent?: boolean;
}

/** [0, a round number just above the highest value]: a percent axis that does not magnify small differences. */
export function percentRange(data: readonly Trace[]): [number, number] | undefined {
  const ys = data.flatMap((t) => t.y).filter((v) => Number.isFinite(v));
  if (ys.length === 0) return undefined;
  const hi = Math.max(...ys) * 1.1;
  const step = hi > 50 ? 10 : hi > 20 ? 5 : hi > 5 ? 2 : 1;
  return [0, Math.min(100, Math.ceil(hi / step) * step)];
}

/**
 * Learning curves: x = samples seen, y = held-out accuracy, one trace per method.
 * A method maps to one curve or to one curve per seed; several seeds are averaged into one trace
 * (`mean`), and each seed can be drawn as well (`perSeed`).
 */
export function accuracyCurves(curvesByMethod: Record<string, Curve | Curve[]>, opts: AccuracyCurvesOpts = {}): FigureSpec {
  const metric = opts.metric ?? "accuracy";
  if (opts.percent && metric === "accuracy") {
    const scaled: Record<string, Curve[]> = {};
    for (const [m, v] of Object.entries(curvesByMethod)) scaled[m] = (Array.isArray(v) ? v : [v]).map((c) => ({ ...c, accuracy: c.accuracy.map((a) => 100 * a) }));
    const spec = accuracyCurves(scaled, {
      ...opts,
      percent: false,
      target: opts.target === undefined ? undefined : 100 * opts.target,
      yTitle: opts.yTitle ?? "held-out accuracy (%)",
      yRange: [0, 1], // placeholder, replaced below (the fraction range would clip percent values)
    });
    spec.layout.yaxis.range = opts.yRange ?? percentRange(spec.data);
    return spec;
  }
  const data: Trace[] = [];
  const methods = Object.keys(curvesByMethod);
  let xMax = -Infinity;
  let xMin = Infinity;
  methods.forEach((method, mi) => {
    const v = curvesByMethod[method];
    const curves = Array.isArray(v) ? v : [v];
    const color = opts.colors?.[method] ?? methodColor(method) ?? colorFor(mi);
    const many = curves.length > 1;
    const drawMean = opts.mean ?? true;
    if (opts.perSeed && many) {
      curves.forEach((c, si) => {
        const y = metric === "accuracy" ? c.accuracy : c.loss;
        if (y === undefined) return;
        checkLengths(`accuracyCurves(${method}, seed ${si})`, c.samples, y);
        data.push({
          type: "scatter",
          mode: "lines",
          name: `${method} seed ${si}`,
          x: c.samples.slice(),
          y: y.slice(),
          line: { color, width: 1 },
          opacity: 0.35,
          legendgroup: method,
          showlegend: false,
          hoverinfo: "x+y+name",
        });
      });
    }
    if (!many || drawMean) {
      const m = meanCurve(curves, metric);
      if (m.x.length === 0 && curves.every((c) => (metric === "accuracy" ? c.accuracy : c.loss) === undefined)) return;
      data.push({
        type: "scatter",
        mode: m.x.length <= 30 ? "lines+markers" : "lines",
        name: many ? `${method} (mean of ${curves.length})` : method,
        x: m.x,
        y: m.y,
        line: { color, width: 2 },
        legendgroup: method,
      });
    }
    for (const c of curves) {
      for (const s of c.samples) {
        if (s > xMax) xMax = s;
        if (s < xMin) xMin = s;
      }
    }
  });
  if (opts.target !== undefined && Number.isFinite(xMin)) {
    data.push({
      type: "scatter",
      mode: "lines",
      name: `target ${opts.target}`,
      x: [xMin, xMax],
      y: [opts.target, opts.target],
      line: { color: "#444", width: 1, dash: "dash" },
      hoverinfo: "name",
    });
  }
  const layout = baseLayout(opts, "samples seen", metric === "accuracy" ? "held-out accuracy" : "loss");
  const yRange = opts.yRange ?? (metric === "accuracy" && !opts.logY ? fittedRange(data) : undefined);
  if (yRange) layout.yaxis.range = yRange;
  return honestAxes({ data, layout });
}

/**
 * A y range that fits the traces' values: [lo - pad, hi + pad] with pad = 5% of the span (at least
 * 0.01), clipped to [0, 1.02] (accuracies). Undefined when there are no values.
 */
export function fittedRange(data: readonly Trace[]): [number, number] | undefined {
  const ys = data.flatMap((t) => t.y).filter((v) => Number.isFinite(v));
  if (ys.length === 0) return undefined;
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const pad = Math.max(0.01, 0.05 * (hi - lo));
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return [r(Math.max(0, lo - pad)), r(Math.min(1.02, hi + pad))];
}

/** One series of a line chart. */
export interface Series {
  name: string;
  x: number[];
  y: number[];
  /** plotly dash style: "solid", "dash", "dot", ... */
  dash?: string;
  color?: string;
  markers?: boolean;
}

/** Generic line chart: one trace per series. */
export function lineChart(series: Series[], opts: CommonOpts = {}): FigureSpec {
  const data: Trace[] = series.map((s, i) => {
    checkLengths(`lineChart(${s.name})`, s.x, s.y);
    return {
      type: "scatter",
      mode: s.markers ? "lines+markers" : "lines",
      name: s.name,
      x: s.x.slice(),
      y: s.y.slice(),
      line: { color: s.color ?? colorFor(i), width: 2, ...(s.dash ? { dash: s.dash } : {}) },
    };
  });
  return honestAxes({ data, layout: baseLayout(opts) });
}

/** One group of bars: a value per category. `error` adds symmetric error bars. */
export interface BarSeries {
  name: string;
  values: number[];
  error?: number[];
  color?: string;
}

export interface BarOpts extends CommonOpts {
  /** "group" (default) or "stack". */
  barmode?: "group" | "stack";
  /** Horizontal bars (categories on the y axis). */
  horizontal?: boolean;
}

/** Bar chart: `categories` on the x axis, one trace per series; values from zero on a linear axis (logY is refused). */
export function barChart(categories: string[], series: BarSeries[], opts: BarOpts = {}): FigureSpec {
  const data: Trace[] = series.map((s, i) => {
    checkLengths(`barChart(${s.name})`, categories, s.values);
    if (s.error) checkLengths(`barChart(${s.name}) error`, categories, s.error);
    const t: Trace = {
      type: "bar",
      name: s.name,
      x: categories.slice(),
      y: s.values.slice(),
      marker: { color: s.color ?? colorFor(i) },
    };
    if (s.error) t.error_y = { type: "data", array: s.error.slice(), visible: true };
    if (opts.horizontal) {
      t.orientation = "h";
      const x = t.x;
      t.x = t.y;
      t.y = x as number[];
      if (t.error_y) {
        t.error_x = t.error_y;
        delete t.error_y;
      }
    }
    return t;
  });
  const layout = baseLayout(opts);
  layout.barmode = opts.barmode ?? "group";
  const cat = opts.horizontal ? layout.yaxis : layout.xaxis;
  cat.type = "category";
  return honestAxes({ data, layout });
}

/** Samples needed to reach a target, per method: `null` (or a missing/non-finite value) means "not reached". */
export interface SamplesToTarget {
  method: string;
  /** One value per seed (or a single value). */
  samples: Array<number | null> | number | null;
}

export interface SamplesToTargetOpts extends Omit<CommonOpts, "logY"> {
  /** The accuracy target, shown in the default title. */
  target?: number;
  /**
   * The sample budget of every run: a seed that did not reach the target is drawn at the cap and counts
   * as the cap in the median. Required when a seed missed.
   */
  cap?: number;
}

/**
 * Samples to target per method, honestly: a bar per method at the median over seeds (a miss counted as
 * the cap, as in the tables) on a linear axis from zero, and every seed as a marker (a red cross at
 * the cap for a seed that did not reach the target, with a dotted cap line). A median that depends on a
 * miss is labelled as a lower bound ("≥ 3.00M, 2/3 not reached"). Two traces: bars, seeds.
 */
export function samplesToTargetBars(rows: SamplesToTarget[], opts: SamplesToTargetOpts = {}): FigureSpec {
  const x: string[] = [];
  const y: number[] = [];
  const text: string[] = [];
  const seedX: string[] = [];
  const seedY: number[] = [];
  const seedSymbol: string[] = [];
  const seedColor: string[] = [];
  const seedText: string[] = [];
  let missed = false;
  for (const r of rows) {
    const all = Array.isArray(r.samples) ? r.samples : [r.samples];
    const values = all.map((v) => (typeof v === "number" && Number.isFinite(v) ? v : null));
    const misses = values.filter((v) => v === null).length;
    if (misses > 0 && opts.cap === undefined) {
      throw new Error(`samplesToTargetBars: ${r.method} did not reach the target on ${misses} seed(s); pass opts.cap (the runs' sample budget) to draw it`);
    }
    const cap = opts.cap ?? NaN;
    const counted = values.map((v) => (v === null ? cap : v)).sort((a, b) => a - b);
    const m = counted.length >> 1;
    const med = counted.length === 0 ? NaN : counted.length % 2 ? counted[m] : (counted[m - 1] + counted[m]) / 2;
    // Sorted, the reached values come first; the median is a lower bound when it uses a miss (index m).
    const lowerBound = misses > 0 && m >= values.length - misses;
    x.push(r.method);
    y.push(med);
    text.push(misses === 0 ? fmtSamples(med) : `${lowerBound ? "≥ " : ""}${fmtSamples(med)} (${misses}/${values.length} not reached)`);
    values.forEach((v, i) => {
      seedX.push(r.method);
      seedY.push(v ?? cap);
      seedSymbol.push(v === null ? "x" : "circle");
      seedColor.push(v === null ? "#d62728" : "#222");
      seedText.push(v === null ? `seed #${i + 1}: not reached by ${fmtSamples(cap)}` : `seed #${i + 1}: ${fmtSamples(v)}`);
    });
    if (misses > 0) missed = true;
  }
  const title = opts.title ?? (opts.target !== undefined ? `samples to reach accuracy ${opts.target} (bars: median over seeds; markers: seeds)` : undefined);
  const layout = baseLayout({ ...opts, title }, "method", "samples to target");
  layout.xaxis.type = "category";
  layout.showlegend = false;
  if (missed && opts.cap !== undefined) {
    layout.shapes = [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: opts.cap, y1: opts.cap, line: { color: "#d62728", width: 1, dash: "dot" } }];
    // The key goes under the axis, not on the cap line, where the bars' "not reached" labels are.
    layout.xaxis.title = { text: `${layout.xaxis.title?.text ?? "method"}  (dotted line: the cap, ${fmtSamples(opts.cap)}; × = not reached)` };
  }
  const bars: Trace = {
    type: "bar",
    name: "median over seeds",
    x,
    y,
    text,
    textposition: "outside",
    cliponaxis: false,
    marker: { color: x.map((m, i) => methodColor(String(m)) ?? colorFor(i)), opacity: 0.75 },
  };
  const seeds: Trace = {
    type: "scatter",
    mode: "markers",
    name: "seeds",
    x: seedX,
    y: seedY,
    text: seedText,
    hoverinfo: "text",
    marker: { symbol: seedSymbol, color: seedColor, size: 9, line: { width: 1, color: "#fff" } },
  };
  return honestAxes({ data: [bars, seeds], layout });
}
