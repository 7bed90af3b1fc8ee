/**
 * Ablations as data: a sweep of one config field gives one "arm" per setting (a label and its
 * student runs, one per seed). These helpers turn arms into a samples-to-target chart and learning
 * curves; their table is `ablationTable` (resultTables.ts, computed with danfojs).
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import type { StudentRun } from "../experiments/results";
import { AccuracyCurvesOpts, Curve, FigureSpec, SamplesToTargetOpts, accuracyCurves, samplesToTargetBars } from "./plots";

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

function armRuns(arm: AblationArm, method: string | undefined): StudentRun[] {
  return arm.runs.filter((r) => method === undefined || r.method === method);
}

/**
 * Every arm must hold a run for every seed of the ablation: an arm with no runs (a setting that never ran,
 * e.g. after the seeds were edited and only some cells re-run) is an error, never a "not reached" bar or a
 * silently dropped row. Throws naming the arm and the missing seeds.
 */
export function checkArms(arms: readonly AblationArm[], seeds: readonly number[], method?: string): void {
  if (arms.length === 0) throw new Error("ablation: no arms");
  for (const a of arms) {
    const have = new Set(armRuns(a, method).map((r) => r.seed));
    const missing = seeds.filter((s) => !have.has(s));
    if (have.size === 0) throw new Error(`ablation arm "${a.label}" has no runs${method ? ` of ${method}` : ""}: run its cell (with the ablation's seeds ${seeds.join(",")}) before drawing it`);
    if (missing.length > 0) throw new Error(`ablation arm "${a.label}" has no run for seed(s) ${missing.join(",")} (it has ${[...have].sort((x, y) => x - y).join(",")}): re-run its cell`);
  }
}

/** The seeds of the arms, ascending, unless given. */
export function ablationSeeds(arms: readonly AblationArm[], opts: AblationOpts = {}): number[] {
  let seeds: number[];
  if (opts.seeds) seeds = opts.seeds.slice();
  else {
    const s = new Set<number>();
    for (const a of arms) for (const r of armRuns(a, opts.method)) s.add(r.seed);
    seeds = [...s].sort((a, b) => a - b);
  }
  checkArms(arms, seeds, opts.method);
  return seeds;
}

/** Samples to target per seed (null: not reached). A seed with no run is an error (checkArms). */
export function armSamples(arm: AblationArm, seeds: readonly number[], method?: string): Array<number | null> {
  checkArms([arm], seeds, method);
  const runs = armRuns(arm, method);
  return seeds.map((seed) => (runs.find((r) => r.seed === seed) as StudentRun).samplesToTarget);
}

/** Samples to target per arm: bars at the median over seeds from zero, every seed a marker (samplesToTargetBars). */
export function ablationBars(arms: readonly AblationArm[], opts: AblationOpts & SamplesToTargetOpts = {}): FigureSpec {
  const seeds = ablationSeeds(arms, opts);
  return samplesToTargetBars(
    arms.map((a) => ({ method: a.label, samples: armSamples(a, seeds, opts.method) })),
    opts,
  );
}

/** Learning curves keyed by arm label (one curve per seed), for accuracyCurves. */
export function ablationCurves(arms: readonly AblationArm[], method?: string): Record<string, Curve[]> {
  ablationSeeds(arms, { method });
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
