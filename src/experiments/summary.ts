/**
 * What a parity run's results are, as data: a student run, the per-method summary and the median
 * that summary.json reports. Browser-safe (no file code), so the live page (demo/) summarises with
 * the same functions; results.ts re-exports everything here and adds the files.
 */
import { EvalEvent } from "../train/loop";

/** One evaluation of a run: the loop's eval event without its tag. */
export type CurvePoint = Omit<EvalEvent, "type">;

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
  curve: CurvePoint[];
}

export interface MethodSummary {
  /** One entry per seed, in seed order; null when the target was not reached. */
  samplesToTarget: Array<number | null>;
  /** Median over seeds, counting a miss as the cap. */
  median: number;
  seconds: number[];
  stepsPerSecond: number[];
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
