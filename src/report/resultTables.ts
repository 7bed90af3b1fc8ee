/**
 * The tables the notebooks and the parity report show, built on the danfojs frames of frames.ts:
 * medians and seeds reached come from danfojs's groupby (medianFrame), paired comparisons from its
 * merge (pairedFrame). Only the last step is by hand: spreading the per-seed values into one column
 * per seed (danfojs has no pivot) and writing numbers as text ("88k", "not reached (0.62 at 2.0M)").
 *
 * The CLI prints its method table without loading danfojs (text.ts, summaryRows, from summary.json's
 * medians); test/report.frames.test.ts checks that danfojs's medians equal those (summarize()).
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import type { StudentRun } from "../experiments/results";
import { AblationArm, ablationSeeds } from "./ablation";
import { fmtSamples } from "../progress";
import { medianFrame, pairedFrame, pairedSummary, runsFrame } from "./frames";
import { DataFrameLike, danfo, frameRecords as records } from "./tables";

type Obj = Record<string, unknown>;

function missed(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v));
}

/** A seed's samples to target as text; a miss says how far the run got. */
export function seedCell(r: Obj | undefined): string {
  if (r === undefined) return "-";
  if (!missed(r.samplesToTarget)) return fmtSamples(Number(r.samplesToTarget));
  return `not reached (${Number(r.accuracy).toFixed(2)} at ${fmtSamples(Number(r.samples))})`;
}

function medianText(m: Obj): string {
  return `${Number(m.lowerBound) === 1 ? "≥ " : ""}${fmtSamples(Number(m.median))}`;
}

function frame(rows: Obj[]): DataFrameLike {
  const columns = rows.length ? Object.keys(rows[0]) : [];
  return new (danfo().DataFrame)(rows.map((r) => columns.map((c) => r[c] ?? null)), { columns });
}

export interface MethodTableOpts {
  /** The runs' sample budget: a miss counts as the cap in the median. */
  cap: number;
  /** Row order (default: as the runs come). */
  order?: readonly string[];
  /** Accuracy target, for the median column's name. */
  target?: number;
  /** Speed-up column against this method's median (default "oneshot", when present). */
  baseline?: string;
  /** Name of the grouping column (default "method"). */
  by?: string;
}

/**
 * One row per method (or per `by` value): the median over seeds to the target (a miss counted as the cap;
 * "≥" when the median uses a miss), a column per seed, seeds reached, and the speed-up against the
 * baseline's median ("≥"/"≤" when either median is a bound).
 */
export function methodTable(stt: DataFrameLike, opts: MethodTableOpts): DataFrameLike {
  const by = opts.by ?? "method";
  const medians = records(medianFrame(stt, opts.cap, { by, order: opts.order }));
  const perSeed = records(stt);
  const seeds = Array.from(new Set(perSeed.map((r) => Number(r.seed)))).sort((a, b) => a - b);
  const baseName = opts.baseline ?? "oneshot";
  const base = medians.find((m) => m[by] === baseName);
  const medianName = opts.target === undefined ? "median" : `median to ${Math.round(opts.target * 100)}%`;
  return frame(
    medians.map((m) => {
      const row: Obj = { [by]: m[by], [medianName]: medianText(m) };
      for (const s of seeds) row[`seed ${s}`] = seedCell(perSeed.find((r) => r[by] === m[by] && Number(r.seed) === s));
      row.reached = `${m.reached}/${m.seeds}`;
      if (base) {
        const ratio = Number(base.median) / Number(m.median);
        // A bound on the baseline's median bounds the ratio from below, a bound on this row's from above.
        const bLow = Number(base.lowerBound) === 1;
        const mLow = Number(m.lowerBound) === 1;
        const sign = bLow && !mLow ? "≥ " : mLow && !bLow ? "≤ " : bLow && mLow ? "? " : "";
        row[`speed-up vs ${baseName}`] = m[by] === baseName ? "1.0x" : `${sign}${ratio.toFixed(1)}x`;
      }
      return row;
    }),
  );
}

/**
 * Two methods seed by seed (same teacher, student initialisation and batches) and the speed-up
 * baseline / method; a last row with the median speed-up over the seeds where both reached the target.
 */
export function pairedTable(stt: DataFrameLike, method: string, baseline: string): DataFrameLike {
  const paired = pairedFrame(stt, method, baseline);
  const rows = records(paired).map((r) => {
    const a: Obj = { samplesToTarget: r[method], samples: r[`${method} samples`], accuracy: NaN };
    const b: Obj = { samplesToTarget: r[baseline], samples: r[`${baseline} samples`], accuracy: NaN };
    let speedup = "-";
    if (!missed(r.ratio)) speedup = `${Number(r.ratio).toFixed(1)}x`;
    else if (!missed(r[method]) && missed(r[baseline])) speedup = `≥ ${(Number(b.samples) / Number(r[method])).toFixed(1)}x`;
    return {
      seed: String(r.seed),
      [method]: missed(r[method]) ? `not reached by ${fmtSamples(Number(a.samples))}` : fmtSamples(Number(r[method])),
      [baseline]: missed(r[baseline]) ? `not reached by ${fmtSamples(Number(b.samples))}` : fmtSamples(Number(r[baseline])),
      [`speed-up ${method} vs ${baseline}`]: speedup,
    };
  });
  const s = pairedSummary(paired, method, baseline);
  rows.push({
    seed: `median (${s.bothReached} of ${s.seeds} seeds both reached)`,
    [method]: "",
    [baseline]: "",
    [`speed-up ${method} vs ${baseline}`]: s.bothReached ? `${s.medianRatio.toFixed(1)}x` : "-",
  });
  return frame(rows);
}

/** The arms' runs as one frame with a "setting" column (the per-seed frame of runsFrame). */
export function armsFrame(arms: readonly AblationArm[], method?: string): DataFrameLike {
  const runs: StudentRun[] = [];
  const labels: string[] = [];
  for (const a of arms) {
    for (const r of a.runs) {
      if (method !== undefined && r.method !== method) continue;
      runs.push(r);
      labels.push(a.label);
    }
  }
  return runsFrame(runs).addColumn("setting", labels, { inplace: false });
}

/** An ablation's table: one row per arm in arm order, medians over seeds, and the ratio to `baseline`'s median. */
export function ablationTable(arms: readonly AblationArm[], opts: { cap: number; name?: string; baseline?: string; method?: string }): DataFrameLike {
  if (opts.baseline !== undefined && !arms.some((a) => a.label === opts.baseline)) {
    throw new Error(`ablationTable: baseline ${JSON.stringify(opts.baseline)} is not one of the arms (${arms.map((a) => a.label).join(", ")})`);
  }
  ablationSeeds(arms, { method: opts.method }); // an arm without runs (or missing a seed) is an error, not a dropped row
  const t = methodTable(armsFrame(arms, opts.method), { cap: opts.cap, by: "setting", order: arms.map((a) => a.label), baseline: opts.baseline ?? "\u0000none" });
  const name = opts.name ?? "setting";
  return name === "setting" ? t : t.rename({ setting: name });
}
