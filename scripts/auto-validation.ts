/**
 * tapSteps "auto" against fixed tap-phase lengths (issue 15's validation): reads a sweep folder over
 * `tapSteps` (its job-*\/summary.json, written by `curriculum-distill sweep`) and, optionally, a
 * one-shot result folder of the same configuration and seeds, and prints a Markdown table: per arm
 * the samples and the FLOPs (teacher forward + student) to the target, median over seeds and per
 * seed, the tap steps each run spent, and the ratio of the median to the best fixed length's.
 *
 *   npx tsx scripts/auto-validation.ts SWEEP_DIR [ONESHOT_RESULT_DIR]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MethodSummary, median } from "../src/experiments/results";
import { fmtSamples } from "../src/progress";

interface Arm {
  arm: string;
  seeds: number[];
  samples: Array<number | null>;
  flops: Array<number | null>;
  tapSteps: number[];
}

function readSummary(dir: string): { config: Record<string, unknown>; methods: Record<string, MethodSummary> } {
  return JSON.parse(fs.readFileSync(path.join(dir, "summary.json"), "utf8"));
}

function armsOf(sweep: string): Arm[] {
  const byArm = new Map<string, Arm>();
  for (const job of fs.readdirSync(sweep).filter((d) => d.startsWith("job-")).sort()) {
    const s = readSummary(path.join(sweep, job));
    const m = s.methods.cx;
    const arm = String(s.config.tapSteps);
    const a = byArm.get(arm) ?? { arm, seeds: [], samples: [], flops: [], tapSteps: [] };
    (s.config.seeds as number[]).forEach((seed, i) => {
      a.seeds.push(seed);
      a.samples.push(m.samplesToTarget[i]);
      const t = m.teacherFlopsToTarget[i];
      const st = m.studentFlopsToTarget[i];
      a.flops.push(t === null || st === null ? null : t + st);
      a.tapSteps.push(m.tapSteps[i]);
    });
    byArm.set(arm, a);
  }
  return [...byArm.values()];
}

/** Median with a miss counted as `cap` (as the project's tables do). */
const med = (xs: Array<number | null>, cap: number) => median(xs.map((x) => x ?? cap));
const flops = (x: number) => x.toExponential(2).replace("e+", "e");

function main(): void {
  const [sweep, oneshotDir] = process.argv.slice(2);
  if (!sweep) {
    console.error("usage: tsx scripts/auto-validation.ts SWEEP_DIR [ONESHOT_RESULT_DIR]");
    process.exit(2);
  }
  const arms = armsOf(sweep);
  const any = readSummary(path.join(sweep, fs.readdirSync(sweep).find((d) => d.startsWith("job-"))!));
  const cap = Number(any.config.maxSamples);
  const fixed = arms.filter((a) => a.arm !== "auto");
  const bestSamples = Math.min(...fixed.map((a) => med(a.samples, cap)));
  const bestFlops = Math.min(...fixed.map((a) => med(a.flops, Infinity)));
  const rows = arms.map((a) => {
    const ms = med(a.samples, cap);
    const mf = med(a.flops, Infinity);
    return [
      a.arm,
      fmtSamples(ms),
      flops(mf),
      `${(ms / bestSamples).toFixed(2)}x`,
      `${(mf / bestFlops).toFixed(2)}x`,
      a.samples.map((x) => (x === null ? "miss" : fmtSamples(x))).join(", "),
      a.tapSteps.join(", "),
    ];
  });
  if (oneshotDir) {
    const o = readSummary(oneshotDir).methods.oneshot;
    const f = o.samplesToTarget.map((_, i) => (o.teacherFlopsToTarget[i] === null ? null : o.teacherFlopsToTarget[i]! + o.studentFlopsToTarget[i]!));
    rows.push(["one-shot", fmtSamples(med(o.samplesToTarget, cap)), flops(med(f, Infinity)), "", "", o.samplesToTarget.map((x) => (x === null ? "miss" : fmtSamples(x))).join(", "), "0"]);
  }
  const header = ["tapSteps", "median samples to target", "median FLOPs to target", "vs best fixed (samples)", "vs best fixed (FLOPs)", "per seed", "tap steps run"];
  console.log(`seeds ${arms[0].seeds.join(", ")}; cap ${fmtSamples(cap)} (a miss counts as the cap in the samples median, as infinite in the FLOPs median); FLOPs = teacher forward + student`);
  console.log(`| ${header.join(" | ")} |\n| ${header.map(() => "---").join(" | ")} |`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

main();
