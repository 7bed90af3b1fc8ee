/**
 * Ablations as data: a sweep of one config field gives one "arm" per setting (a label and its
 * student runs, one per seed). These helpers turn arms into table rows, a samples-to-target bar
 * chart and learning curves, and pair two methods seed by seed for a speed-up table. A run that
 * never reached the target is shown as "not reached" (with its final accuracy and sample count),
 * never as a number.
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import { StudentRun, median } from "../experiments/results";
import { fmtSamples } from "../progress";
import { AccuracyCurvesOpts, Curve, FigureSpec, SamplesToTargetOpts, accuracyCurves, samplesToTargetBars } from "./plots";
import { Row } from "./tables";

/** One setting of an ablation: its label (e.g. "p1Steps = 250") and its runs (one per seed). */
export interface AblationArm {
  label: string;
  runs: readonly StudentRun[];
}

export interface AblationOpts {
  /** Only runs of this method count (default: every run of the arm). */
  method?: string;
  /** Seeds in column order (default: the seeds found in the arms, ascending). */
  seeds?: readonly number[];
}

export interface AblationRowsOpts extends AblationOpts {
  /** Header of the label column (default "setting"). */
  name?: string;
  /** Label of the reference arm: adds a column "vs <baseline>" = baseline median / arm median. */
  baseline?: string;
}

function armRuns(arm: AblationArm, method: string | undefined): StudentRun[] {
  return arm.runs.filter((r) => method === undefined || r.method === method);
}

/** The seeds of the arms, ascending, unless given. */
export function ablationSeeds(arms: readonly AblationArm[], opts: AblationOpts = {}): number[] {
  if (opts.seeds) return opts.seeds.slice();
  const s = new Set<number>();
  for (const a of arms) for (const r of armRuns(a, opts.method)) s.add(r.seed);
  return [...s].sort((a, b) => a - b);
}

/** Samples to target per seed (null: not reached, or no run for that seed). */
export function armSamples(arm: AblationArm, seeds: readonly number[], method?: string): Array<number | null> {
  const runs = armRuns(arm, method);
  return seeds.map((seed) => runs.find((r) => r.seed === seed)?.samplesToTarget ?? null);
}

/**
 * Median over seeds with a miss counted as +Infinity, so the median is Infinity ("not reached")
 * whenever it depends on a run that did not reach the target. NaN when there are no seeds.
 */
export function medianReached(samples: ReadonlyArray<number | null>): number {
  return median(samples.map((s) => (s === null ? Infinity : s)));
}

/** A run's samples-to-target as text; a miss says how far it got. */
export function runCell(run: StudentRun | undefined): string {
  if (run === undefined) return "-";
  if (run.samplesToTarget !== null) return fmtSamples(run.samplesToTarget);
  return `not reached (${run.finalAccuracy.toFixed(2)} at ${fmtSamples(run.samples)})`;
}

function medianCell(m: number): string {
  return Number.isNaN(m) ? "-" : Number.isFinite(m) ? fmtSamples(m) : "not reached";
}

/** One row per arm: the label, a column per seed, how many seeds reached the target, the median. */
export function ablationRows(arms: readonly AblationArm[], opts: AblationRowsOpts = {}): Row[] {
  const seeds = ablationSeeds(arms, opts);
  const name = opts.name ?? "setting";
  const base = opts.baseline === undefined ? undefined : arms.find((a) => a.label === opts.baseline);
  if (opts.baseline !== undefined && base === undefined) {
    throw new Error(`ablationRows: baseline ${JSON.stringify(opts.baseline)} is not one of the arms (${arms.map((a) => a.label).join(", ")})`);
  }
  const baseMedian = base ? medianReached(armSamples(base, seeds, opts.method)) : NaN;
  return arms.map((arm) => {
    const runs = armRuns(arm, opts.method);
    const samples = armSamples(arm, seeds, opts.method);
    const row: Row = { [name]: arm.label };
    for (const seed of seeds) row[`seed ${seed}`] = runCell(runs.find((r) => r.seed === seed));
    row.reached = `${samples.filter((s) => s !== null).length}/${seeds.length}`;
    const m = medianReached(samples);
    row[`median`] = medianCell(m);
    if (base) {
      row[`vs ${base.label}`] = Number.isFinite(m) && Number.isFinite(baseMedian) ? `${(baseMedian / m).toFixed(2)}x` : "-";
    }
    return row;
  });
}

/** Bars of samples to target per arm (mean over the seeds that reached it; "not reached" otherwise). */
export function ablationBars(arms: readonly AblationArm[], opts: AblationOpts & SamplesToTargetOpts = {}): FigureSpec {
  const seeds = ablationSeeds(arms, opts);
  return samplesToTargetBars(
    arms.map((a) => ({ method: a.label, samples: armSamples(a, seeds, opts.method) })),
    opts,
  );
}

/** Learning curves keyed by arm label (one curve per seed), for accuracyCurves. */
export function ablationCurves(arms: readonly AblationArm[], method?: string): Record<string, Curve[]> {
  const out: Record<string, Curve[]> = {};
  for (const a of arms) {
    const runs = armRuns(a, method).sort((x, y) => x.seed - y.seed);
    if (runs.length) out[a.label] = runs.map((r) => ({ samples: r.curve.map((c) => c.samples), accuracy: r.curve.map((c) => c.accuracy), loss: r.curve.map((c) => c.loss) }));
  }
  return out;
}

/** accuracyCurves of the arms: one colour per arm, seeds faint, the target dashed. */
export function ablationCurvesFigure(arms: readonly AblationArm[], opts: AccuracyCurvesOpts & { method?: string } = {}): FigureSpec {
  return accuracyCurves(ablationCurves(arms, opts.method), { perSeed: true, ...opts });
}

export interface SpeedupOpts {
  /** The faster method (default "cx"). */
  method?: string;
  /** The reference method (default "oneshot"). */
  baseline?: string;
  /** Seeds in row order (default: the seeds of the runs, ascending). */
  seeds?: readonly number[];
}

function ratioCell(num: number | null, den: number | null, numRun: StudentRun | undefined): string {
  if (den === null) return "-";
  if (num !== null) return `${(num / den).toFixed(1)}x`;
  // The baseline missed: its samples so far bound the speed-up from below.
  return numRun ? `> ${(numRun.samples / den).toFixed(1)}x` : "-";
}

/**
 * Paired speed-up per seed (same teacher, same student init, same batches): baseline samples /
 * method samples. When the baseline did not reach the target the speed-up is a lower bound
 * ("> ..."), when the method did not, there is none ("-"). A last row compares the medians
 * (misses counted as not reached).
 */
export function speedupRows(runs: readonly StudentRun[], opts: SpeedupOpts = {}): Row[] {
  const method = opts.method ?? "cx";
  const baseline = opts.baseline ?? "oneshot";
  const seeds = opts.seeds ? opts.seeds.slice() : [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const find = (m: string, seed: number) => runs.find((r) => r.method === m && r.seed === seed);
  const rows: Row[] = seeds.map((seed) => {
    const a = find(method, seed);
    const b = find(baseline, seed);
    return {
      seed: String(seed),
      [method]: runCell(a),
      [baseline]: runCell(b),
      [`speed-up ${method} vs ${baseline}`]: ratioCell(b?.samplesToTarget ?? null, a?.samplesToTarget ?? null, b),
    };
  });
  const ma = medianReached(seeds.map((s) => find(method, s)?.samplesToTarget ?? null));
  const mb = medianReached(seeds.map((s) => find(baseline, s)?.samplesToTarget ?? null));
  // When the baseline's median is a miss, its samples so far (the cap) bound it from below.
  const mbSoFar = median(seeds.map((s) => {
    const b = find(baseline, s);
    return b ? b.samplesToTarget ?? b.samples : Infinity;
  }));
  let speedup = "-";
  if (Number.isFinite(ma) && Number.isFinite(mb)) speedup = `${(mb / ma).toFixed(1)}x`;
  else if (Number.isFinite(ma) && Number.isFinite(mbSoFar)) speedup = `> ${(mbSoFar / ma).toFixed(1)}x`;
  rows.push({ seed: "median", [method]: medianCell(ma), [baseline]: medianCell(mb), [`speed-up ${method} vs ${baseline}`]: speedup });
  return rows;
}
