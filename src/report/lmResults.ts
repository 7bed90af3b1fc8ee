/**
 * Masked-LM results read back from a result folder (the reference-size runs take hours here, so
 * notebook 04 reads what the CLI wrote rather than running them): the paired comparisons with
 * one-shot as a table, and accuracy against compute (teacher forward + student FLOPs) per method.
 *
 * Keep this file within TypeScript 5.0 syntax (notebooks compile against its .d.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { FileError, readJson } from "../io";
import { Curve, FigureSpec, accuracyCurves } from "./plots";
import { Row } from "./tables";

// NaN in memory, null once written as JSON (too few seeds for an interval): read as NaN either way.
const maybe = z
  .number()
  .or(z.nan())
  .nullable()
  .transform((x) => x ?? NaN);
const INTERVAL = z.object({ n: z.number(), mean: maybe, lo: maybe, hi: maybe, level: z.number() });
const EVALUATION = z.object({ step: z.number(), accuracy: z.number(), loss: z.number(), teacherFlops: z.number(), studentFlops: z.number() });
const SUMMARY = z.object({
  config: z.object({ corpus: z.string(), preset: z.string(), seeds: z.array(z.number()), studentSteps: z.number() }).passthrough(),
  backend: z.string(),
  teachers: z.record(z.object({ accuracy: z.number() }).passthrough()),
  methods: z.record(z.record(z.object({ evaluations: z.array(EVALUATION) }).passthrough())),
  comparisons: z.array(z.object({ method: z.string(), budget: z.number(), accuracy: INTERVAL, loss: INTERVAL })),
});

/** What the readers below use of an mlm summary.json. */
export type MlmResult = z.infer<typeof SUMMARY>;

/** `dir/summary.json` of an `mlm` run, its shape checked; null when the folder has none (not run yet). */
export function readMlmResult(dir: string): MlmResult | null {
  const file = path.join(dir, "summary.json");
  if (!fs.existsSync(file)) return null;
  return mlmResultOf(readJson(file), file);
}

/** An mlm summary (e.g. `runLanguageModel(...).summary`) checked for what the readers use; `where` names it in errors. */
export function mlmResultOf(summary: unknown, where = "mlm summary"): MlmResult {
  const r = SUMMARY.safeParse(summary);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new FileError(where, `is not an mlm summary (${i.path.join(".")}: ${i.message})`);
  }
  return r.data;
}

const signed = (x: number, digits: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(digits)}` : "-");

/**
 * One row per (method, budget): the mean paired difference from one-shot (accuracy in points, loss
 * in nats) with its 95% t interval over seeds, and whether the interval excludes zero.
 */
export function comparisonRows(r: MlmResult): Row[] {
  return r.comparisons.map((c) => {
    const a = c.accuracy;
    const l = c.loss;
    const pts = (x: number) => 100 * x;
    const verdict = !Number.isFinite(a.lo) || !Number.isFinite(a.hi) ? "too few seeds" : a.lo > 0 ? "better" : a.hi < 0 ? "worse" : "within noise";
    return {
      method: c.method,
      "student steps": c.budget,
      seeds: a.n,
      "accuracy − one-shot (points)": `${signed(pts(a.mean), 2)} [${signed(pts(a.lo), 2)}, ${signed(pts(a.hi), 2)}]`,
      "loss − one-shot (nats)": `${signed(l.mean, 3)} [${signed(l.lo, 3)}, ${signed(l.hi, 3)}]`,
      "vs one-shot (95%)": verdict,
    };
  });
}

/** Validation accuracy against FLOPs spent (teacher forward + student), each seed a curve, mean in bold. */
export function accuracyVsCompute(r: MlmResult, title?: string): FigureSpec {
  const curves: Record<string, Curve[]> = {};
  for (const [method, seeds] of Object.entries(r.methods)) {
    curves[method] = Object.values(seeds).map((s) => ({
      samples: s.evaluations.map((e) => e.teacherFlops + e.studentFlops),
      accuracy: s.evaluations.map((e) => e.accuracy),
    }));
  }
  return accuracyCurves(curves, {
    perSeed: true,
    title: title ?? `${r.config.corpus}, preset ${r.config.preset}: masked-token accuracy against compute`,
    xTitle: "FLOPs spent (teacher forward + student)",
    yTitle: "validation masked-token accuracy (%)",
    percent: true,
  });
}
