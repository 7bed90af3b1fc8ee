/**
 * Results as danfojs DataFrames, and the tables of the notebooks and reports computed from them with
 * danfojs's own query / groupby / merge:
 *
 *   curves (one row per evaluation: the columns of curves.csv)
 *     -> samplesToTargetFrame   per (seed, method): samples at the first evaluation at or above the target
 *     -> medianFrame            per method (or any key): median over seeds (a miss counted as the cap), seeds reached
 *     -> pairedFrame            per seed: two methods side by side, their ratio and difference
 *   curves -> budgetFrame       per method: mean accuracy over seeds at fixed budgets (masked LM)
 *   merged.csv -> sweepMedianFrame  per (grid point, method): median over seeds
 *
 * A frame comes from a results folder (`readCurvesCsv`, `readMergedCsv`: danfojs's readCSV, i.e.
 * papaparse, so quoted fields such as list-valued grid settings parse) or from runs in memory
 * (`curvesFrame`, the same columns and values as curves.csv before its rounding to 5 decimals).
 * `formatFrame` turns numbers into the text a reader wants ("88k", "not reached") as the last step.
 *
 * danfojs is loaded with require(): its package.json declares types only under "exports", which
 * moduleResolution node10 (this project's and tslab's) does not read, so small structural types stand in.
 * Keep this file within TypeScript 5.0 syntax (tslab compiles notebooks against its .d.ts with TS 5.0.4).
 */
import * as fs from "fs";
import type { StudentRun } from "../experiments/results";
import { fmtSamples } from "../progress";
import { pairedDifference } from "../stats";
import { DataFrameLike, SeriesLike, danfo } from "./tables";

/** The columns of curves.csv (src/experiments/results.ts) in order. */
export const CURVE_COLUMNS = ["seed", "method", "step", "samples", "phase", "accuracy", "loss", "trainLoss", "seconds", "teacherFlops", "studentFlops"] as const;

/** Runs as a curves DataFrame: one row per evaluation, the columns of curves.csv. */
export function curvesFrame(runs: readonly StudentRun[]): DataFrameLike {
  const rows = runs.flatMap((r) =>
    r.curve.map((c) => [r.seed, r.method, c.step, c.samples, c.phase, c.accuracy, c.loss, Number.isFinite(c.trainLoss) ? c.trainLoss : null, c.seconds, c.teacherFlops, c.studentFlops]),
  );
  return new (danfo().DataFrame)(rows, { columns: [...CURVE_COLUMNS] });
}

async function readCsv(file: string): Promise<DataFrameLike> {
  if (!fs.existsSync(file)) throw new Error(`no such file: ${file}`);
  // danfojs's browser build reads a path as a URL; a Node stream is read as a stream by papaparse.
  return danfo().readCSV(fs.createReadStream(file));
}

/** curves.csv of a results folder as a DataFrame (empty trainLoss cells become null). */
export async function readCurvesCsv(file: string): Promise<DataFrameLike> {
  const df = await readCsv(file);
  // The columns the tables read (older results folders have no FLOP columns).
  const missing = ["seed", "method", "step", "samples", "accuracy"].filter((c) => !df.columns.includes(c));
  if (missing.length) throw new Error(`${file}: not a curves.csv (missing columns ${missing.join(", ")})`);
  return df;
}

/** A sweep's merged.csv as a DataFrame: grid fields, method, seed, samplesToTarget (empty = not reached). */
export async function readMergedCsv(file: string): Promise<DataFrameLike> {
  const df = await readCsv(file);
  for (const c of ["method", "seed", "samplesToTarget"]) if (!df.columns.includes(c)) throw new Error(`${file}: not a merged.csv (no column ${c})`);
  return df;
}

function renameColumns(df: DataFrameLike, map: Record<string, string>): DataFrameLike {
  return df.rename(map);
}

/**
 * Per (seed, method): `samplesToTarget` = samples at the first evaluation with accuracy >= target (NaN
 * when no evaluation reached it), `samples` and `accuracy` at the last evaluation. The runs stop at
 * the first hit, so this equals the run's own samplesToTarget (test/report.frames.test.ts checks it).
 */
export function samplesToTargetFrame(curves: DataFrameLike, target: number): DataFrameLike {
  const dfd = danfo();
  const keys = ["seed", "method"];
  const last = renameColumns(curves.groupby(keys).agg({ samples: "max" }), { samples_max: "samples" });
  // The last evaluation's accuracy: join back on (seed, method, samples); one row per run even if two
  // evaluations share the last sample count (a phase boundary).
  const joined = dfd.merge({ left: last, right: curves.loc({ columns: ["seed", "method", "samples", "accuracy"] }), on: [...keys, "samples"], how: "left" });
  const lastRows = renameColumns(joined.groupby([...keys, "samples"]).agg({ accuracy: "max" }), { accuracy_max: "accuracy" });
  const hitRows = curves.query(curves.column("accuracy").ge(target));
  if (hitRows.shape[0] === 0) {
    return lastRows.addColumn("samplesToTarget", lastRows.column("samples").values.map(() => NaN), { inplace: false });
  }
  const hits = renameColumns(hitRows.groupby(keys).agg({ samples: "min" }), { samples_min: "samplesToTarget" });
  return dfd.merge({ left: lastRows, right: hits, on: keys, how: "left" });
}

/** Runs' own samples to target as the same frame (for in-memory runs, no curve scan needed). */
export function runsFrame(runs: readonly StudentRun[]): DataFrameLike {
  const rows = runs.map((r) => [r.seed, r.method, r.samples, r.finalAccuracy, r.samplesToTarget ?? NaN]);
  return new (danfo().DataFrame)(rows, { columns: ["seed", "method", "samples", "accuracy", "samplesToTarget"] });
}

function isMiss(v: unknown): boolean {
  return v === null || v === undefined || v === "" || (typeof v === "number" && !Number.isFinite(v));
}

/**
 * Per value of `by` (default "method"): `median` over seeds with a miss counted as `cap`, `reached`
 * (seeds that reached the target), `seeds`. Rows in `order` when given (danfojs orders groups by first
 * appearance), else as danfojs returns them. `lowerBound` is 1 when the median uses a miss (the true
 * median is then at least this).
 */
export function medianFrame(stt: DataFrameLike, cap: number, opts: { by?: string; order?: readonly string[] } = {}): DataFrameLike {
  const by = opts.by ?? "method";
  const missCol = stt.column("samplesToTarget").values.map((v) => (isMiss(v) ? 1 : 0));
  const counted = stt.column("samplesToTarget").values.map((v) => (isMiss(v) ? cap : Number(v)));
  let df = stt.loc({ columns: [by, "seed"] });
  df = df.addColumn("counted", counted, { inplace: false });
  df = df.addColumn("missed", missCol, { inplace: false });
  const g = df.groupby([by]).agg({ counted: "median", missed: "sum", seed: "count" });
  let out = renameColumns(g, { counted_median: "median", missed_sum: "missed", seed_count: "seeds" });
  out = out.addColumn("reached", out.column("seeds").values.map((n, i) => Number(n) - Number(out.column("missed").values[i])), { inplace: false });
  // Sorted, the reached seeds come first and the median's upper index is seeds >> 1: it uses a miss
  // when no more seeds than that reached the target.
  const seeds = out.column("seeds").values.map(Number);
  const reached = out.column("reached").values.map(Number);
  out = out.addColumn("lowerBound", seeds.map((n, i) => (reached[i] < n && reached[i] <= n >> 1 ? 1 : 0)), { inplace: false });
  return opts.order ? reorder(out, by, opts.order) : out;
}

/** Rows of `df` in the order of `order` by column `key` (rows with other keys last). */
export function reorder(df: DataFrameLike, key: string, order: readonly string[]): DataFrameLike {
  // danfojs sorts by a column's values, not by a given list: rank each row, sort by the rank.
  const rank = df.column(key).values.map((v) => {
    const i = order.indexOf(String(v));
    return i < 0 ? order.length : i;
  });
  const ranked = df.addColumn("__rank", rank, { inplace: false }).sortValues("__rank", { ascending: true });
  return ranked.drop({ columns: ["__rank"] });
}

/**
 * Per seed: `method` and `baseline` side by side (samplesToTarget of each, NaN = not reached), with
 * `ratio` = baseline / method (the speed-up) and `difference` = baseline - method, both NaN unless
 * both reached the target. Joined with danfojs's merge on seed.
 */
export function pairedFrame(stt: DataFrameLike, method: string, baseline: string): DataFrameLike {
  const dfd = danfo();
  const pick = (m: string, as: string) =>
    renameColumns(stt.query(stt.column("method").eq(m)).loc({ columns: ["seed", "samplesToTarget", "samples"] }), { samplesToTarget: as, samples: `${as} samples` });
  const joined = dfd.merge({ left: pick(method, method), right: pick(baseline, baseline), on: ["seed"], how: "inner" });
  const a = joined.column(method).values.map(Number);
  const b = joined.column(baseline).values.map(Number);
  const both = (i: number) => Number.isFinite(a[i]) && Number.isFinite(b[i]);
  return joined
    .addColumn("ratio", a.map((x, i) => (both(i) ? b[i] / x : NaN)), { inplace: false })
    .addColumn("difference", a.map((x, i) => (both(i) ? b[i] - x : NaN)), { inplace: false });
}

/**
 * The paired comparison in one line: median ratio over seeds (danfojs), and the mean paired difference
 * of log10 samples with a 95% t interval (src/stats.ts), over the seeds where both reached the target.
 */
export function pairedSummary(paired: DataFrameLike, method: string, baseline: string): { seeds: number; bothReached: number; medianRatio: number; log10Difference: ReturnType<typeof pairedDifference> } {
  const ok = paired.query(paired.column("ratio").ge(0));
  const medianRatio = ok.shape[0] ? Number(ok.column("ratio").median()) : NaN;
  const lg = (v: unknown) => (isMiss(v) ? null : Math.log10(Number(v)));
  const d = pairedDifference(paired.column(baseline).values.map(lg), paired.column(method).values.map(lg));
  return { seeds: paired.shape[0], bothReached: ok.shape[0], medianRatio, log10Difference: d };
}

/**
 * Mean accuracy over seeds at fixed budgets (training steps), one row per method, a column `acc@<b>`
 * per budget (NaN where no run was evaluated at b). danfojs has no pivot, so the groupby result
 * (method, step, mean) is spread into columns by hand.
 */
export function budgetFrame(curves: DataFrameLike, budgets: readonly number[], order?: readonly string[]): DataFrameLike {
  const at = budgets.length && curves.shape[0] ? curves.query(isIn(curves.column("step"), budgets)) : null;
  const means = at?.shape[0] ? at.groupby(["method", "step"]).agg({ accuracy: "mean" }) : null;
  const methods = order ? order.slice() : Array.from(new Set(curves.column("method").values.map(String)));
  const rows = methods.map((m) => {
    const row: unknown[] = [m];
    for (const b of budgets) {
      let v = NaN;
      if (means) {
        const mv = means.column("method").values;
        const sv = means.column("step").values;
        const av = means.column("accuracy_mean").values;
        for (let i = 0; i < mv.length; i++) if (mv[i] === m && Number(sv[i]) === b) v = Number(av[i]);
      }
      row.push(v);
    }
    return row;
  });
  return new (danfo().DataFrame)(rows, { columns: ["method", ...budgets.map((b) => `acc@${b}`)] });
}

function isIn(s: SeriesLike, values: readonly number[]): SeriesLike {
  // danfojs has no isin(): one eq() per value, or-ed together.
  let mask = s.eq(values[0]);
  for (const v of values.slice(1)) mask = mask.or(s.eq(v));
  return mask;
}

/**
 * Per (grid point, method) of a sweep's merged.csv: median over seeds, a miss (empty samplesToTarget)
 * counted as `cap`. `keys` are the grid's fields (merged.csv's columns before "method").
 */
export function sweepMedianFrame(merged: DataFrameLike, cap: number): DataFrameLike {
  const keys = merged.columns.slice(0, merged.columns.indexOf("method"));
  const counted = merged.column("samplesToTarget").values.map((v) => (isMiss(v) ? cap : Number(v)));
  // A list-valued grid field arrives as its JSON text; groupby needs scalar keys, which it is.
  const df = merged.loc({ columns: [...keys, "method", "seed"] }).addColumn("counted", counted, { inplace: false });
  return renameColumns(df.groupby([...keys, "method"]).agg({ counted: "median", seed: "count" }), { counted_median: "median", seed_count: "seeds" });
}

/** How a cell is written: a function of the value (and the row's other values by column name). */
export type CellFormat = (v: unknown, row: Record<string, unknown>) => string | number;

/** A copy of `df` whose columns in `formats` are rewritten (e.g. samples as "88k"); the last step before display. */
export function formatFrame(df: DataFrameLike, formats: Record<string, CellFormat>, rename: Record<string, string> = {}): DataFrameLike {
  const cols = df.columns.slice();
  const values = df.values as unknown[][];
  const rows = values.map((r) => {
    const obj: Record<string, unknown> = {};
    cols.forEach((c, j) => (obj[c] = r[j]));
    return cols.map((c, j) => (formats[c] ? formats[c](r[j], obj) : r[j]));
  });
  return new (danfo().DataFrame)(rows, { columns: cols.map((c) => rename[c] ?? c) });
}

/** Samples as text ("88k"); a miss as "not reached". */
export const samplesCell: CellFormat = (v) => (isMiss(v) ? "not reached" : fmtSamples(Number(v)));
/** A fraction as a percentage with one decimal ("13.7%"). */
export const percentCell: CellFormat = (v) => (isMiss(v) ? "-" : `${(100 * Number(v)).toFixed(1)}%`);
