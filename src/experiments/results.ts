/**
 * Result objects and their files: config.json (the resolved config), curves.csv (one row per
 * evaluation), summary.json (samples to target per method and seed, medians, timings). All files
 * are written atomically.
 */
import * as path from "node:path";
import { configToJson } from "../config";
import { writeFileAtomic, writeJsonAtomic } from "../io";
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

export interface Summary {
  config: Record<string, unknown>;
  backend: string;
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

export function round(x: number, digits: number): number {
  const f = Math.pow(10, digits);
  return Math.round(x * f) / f;
}

export function curvesCsv(runs: readonly StudentRun[]): string {
  const head = "seed,method,step,samples,phase,accuracy,loss,trainLoss,seconds";
  const rows = runs.flatMap((r) =>
    r.curve.map((c) =>
      [r.seed, r.method, c.step, c.samples, c.phase, c.accuracy.toFixed(5), c.loss.toFixed(5), Number.isFinite(c.trainLoss) ? c.trainLoss.toFixed(5) : "", c.seconds.toFixed(2)].join(","),
    ),
  );
  return [head, ...rows].join("\n") + "\n";
}

export function writeResults(dir: string, config: object, summary: Summary, runs: readonly StudentRun[]): void {
  writeJsonAtomic(path.join(dir, "config.json"), configToJson(config));
  writeFileAtomic(path.join(dir, "curves.csv"), curvesCsv(runs));
  writeJsonAtomic(path.join(dir, "summary.json"), summary);
}
