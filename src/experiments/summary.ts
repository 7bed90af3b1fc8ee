/**
 * What a parity run's results are, as data: a student run, the per-method summary and the median
 * that summary.json reports. Browser-safe (no file code), so the live page (demo/) summarises with
 * the same functions; results.ts re-exports everything here and adds the files.
 */
import { CurvePoint, PhaseStart, StudentState } from "../train/driver";

export type { CurvePoint, PhaseStart } from "../train/driver";

export interface StudentRun {
  seed: number;
  method: string;
  /** Samples seen (every phase counts) when held-out accuracy first reached the target; null if never. */
  samplesToTarget: number | null;
  samples: number;
  steps: number;
  seconds: number;
  stepsPerSecond: number;
  finalAccuracy: number;
  /** Bytes the method needed stored besides the final teacher, as saved on disk (null: not recorded). */
  storedBytes: number | null;
  /** The step at which each phase started (phases that ended early under tapSteps "auto" show here). */
  phases: PhaseStart[];
  curve: CurvePoint[];
}

/** Each phase's steps per second, from its start to the next phase's (or to the run's end at `steps`, `seconds`). */
export function withPhaseRates(phases: readonly PhaseStart[], steps: number, seconds: number): PhaseStart[] {
  return phases.map((p, i) => {
    const next = phases[i + 1];
    const [s1, t1] = next ? [next.step, next.seconds] : [steps, seconds];
    const dt = p.seconds === undefined || t1 === undefined ? NaN : t1 - p.seconds;
    return { ...p, stepsPerSecond: dt > 0 && s1 > p.step ? Math.round(((s1 - p.step) / dt) * 10) / 10 : null };
  });
}

/** A student's run record from its policy's state (train/driver.ts studentPolicy); `storedBytes` null where not counted. */
export function studentRunOf(seed: number, method: string, s: StudentState, storedBytes: number | null): StudentRun {
  const last = s.curve[s.curve.length - 1];
  const steps = last?.step ?? 0;
  const seconds = last?.seconds ?? 0;
  return {
    seed,
    method,
    samplesToTarget: s.hit,
    samples: last?.samples ?? 0,
    steps,
    seconds,
    stepsPerSecond: steps / Math.max(seconds, 1e-9),
    finalAccuracy: last?.accuracy ?? NaN,
    storedBytes,
    phases: withPhaseRates(s.phases, steps, seconds),
    curve: s.curve,
  };
}

/** Steps spent in tap phases (named "tap:..."): up to the first later phase's start, or to `steps`. */
export function tapStepsOf(r: Pick<StudentRun, "phases" | "steps">): number {
  let total = 0;
  r.phases.forEach((p, i) => {
    if (p.name.startsWith("tap")) total += (r.phases[i + 1]?.step ?? r.steps) - p.step;
  });
  return total;
}

/** What a run spent until its held-out accuracy first reached the target (the curve's point there). */
export interface CostToTarget {
  samples: number;
  teacherFlops: number;
  studentFlops: number;
  seconds: number;
}

/** The run's cost to the target; null when it never reached it. */
export function costToTarget(r: StudentRun): CostToTarget | null {
  if (r.samplesToTarget === null) return null;
  const p = r.curve.find((c) => c.samples === r.samplesToTarget);
  return p ? { samples: p.samples, teacherFlops: p.teacherFlops, studentFlops: p.studentFlops, seconds: p.seconds } : null;
}

export interface MethodSummary {
  /** One entry per seed, in seed order; null when the target was not reached. */
  samplesToTarget: Array<number | null>;
  /** Median over seeds, counting a miss as the cap. */
  median: number;
  seconds: number[];
  stepsPerSecond: number[];
  /** Per seed: bytes stored besides the final teacher (progressive's checkpoints; cx: 0). */
  storedBytes: Array<number | null>;
  /** Per seed, up to the first evaluation at the target (null = not reached): teacher forward and student FLOPs, wall seconds. */
  teacherFlopsToTarget: Array<number | null>;
  studentFlopsToTarget: Array<number | null>;
  secondsToTarget: Array<number | null>;
  /** Per seed: steps spent in tap phases (cx; 0 for the other methods). */
  tapSteps: number[];
}

/** What every summary.json and run record carries: the backend and its WebGPU adapter (null elsewhere). */
export interface Recorded {
  backend: string;
  adapter: { vendor: string; architecture: string; description: string; software: boolean } | null;
  /** The native kernel library on wasm (OpenBLAS's build string), else null. */
  native: string | null;
}

/** Any experiment's summary.json: the config, the backend, and per-method results. */
export interface SummaryBase extends Recorded {
  config: Record<string, unknown>;
  methods: Record<string, unknown>;
  [extra: string]: unknown;
}

/** The parity experiments' summary.json. */
export interface Summary extends SummaryBase {
  methods: Record<string, MethodSummary>;
  teachers?: Record<string, unknown>;
  [extra: string]: unknown;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The median of the finite values (null and NaN = not reached, left out); NaN when there are none. */
export function medianOfReached(xs: ReadonlyArray<number | null | undefined>): number {
  return median(xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x)));
}

export function round(x: number, digits: number): number {
  const f = Math.pow(10, digits);
  return Math.round(x * f) / f;
}

/** Summarise runs by method (in `methods` order) and seed (in `seeds` order). */
export function summarize(runs: readonly StudentRun[], methods: readonly string[], seeds: readonly number[], cap: number): Record<string, MethodSummary> {
  const out: Record<string, MethodSummary> = {};
  for (const m of methods) {
    const bySeed = seeds.map((s) => runs.find((r) => r.method === m && r.seed === s));
    if (bySeed.every((r) => r === undefined)) continue;
    const hits = bySeed.map((r) => (r ? r.samplesToTarget : null));
    out[m] = {
      samplesToTarget: hits,
      median: median(hits.map((h) => h ?? cap)),
      seconds: bySeed.map((r) => (r ? round(r.seconds, 2) : NaN)),
      stepsPerSecond: bySeed.map((r) => (r ? round(r.stepsPerSecond, 1) : NaN)),
      storedBytes: bySeed.map((r) => r?.storedBytes ?? null),
      teacherFlopsToTarget: bySeed.map((r) => (r ? (costToTarget(r)?.teacherFlops ?? null) : null)),
      studentFlopsToTarget: bySeed.map((r) => (r ? (costToTarget(r)?.studentFlops ?? null) : null)),
      tapSteps: bySeed.map((r) => (r ? tapStepsOf(r) : NaN)),
      secondsToTarget: bySeed.map((r) => {
        const c = r ? costToTarget(r) : null;
        return c ? round(c.seconds, 2) : null;
      }),
    };
  }
  return out;
}

/** Teachers for summary.json: their info without the curve. */
export function teacherSummaries<T extends { curve: unknown }>(teachers: Record<number, T>): Record<string, Omit<T, "curve">> {
  const out: Record<string, Omit<T, "curve">> = {};
  for (const [seed, t] of Object.entries(teachers)) {
    const { curve: _c, ...rest } = t;
    out[seed] = rest;
  }
  return out;
}
