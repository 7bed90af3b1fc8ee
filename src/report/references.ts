/**
 * Full-size reference results, from committed result summaries (docs/results/*.json: each file names the
 * command that produced it and where its numbers come from). One function per table and per quoted figure,
 * used both by `npm run docs` (scripts/docs-tables.ts writes them into README.md, docs/*.md and the
 * notebooks' text between marker comments) and by the notebooks (`showReference`, beside their quick-mode
 * numbers), so a table or a figure quoted in prose cannot drift from its source: test/docs.test.ts fails
 * when one no longer matches.
 *
 * Everything derived (medians with a miss counted as the cap, speed-ups, "vs best fixed", means) is
 * computed here from the per-seed values, never typed in.
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import * as fs from "fs";
import * as path from "path";
import { fmtSamples } from "../format";
import type { Row } from "./tables";

/** docs/results in the checkout this module was built into (dist/report/ or src/report/ -> the repo). */
export const REFERENCE_DIR = path.resolve(__dirname, "..", "..", "docs", "results");

type Samples = Array<number | null>;
// biome-ignore lint/suspicious/noExplicitAny: the summaries are plain JSON read back; each renderer names the fields it reads
type Json = any;

/** A committed result summary, docs/results/<name>.json. */
export function readReference(name: string, dir = REFERENCE_DIR): Json {
  const file = path.join(dir, `${name}.json`);
  if (!fs.existsSync(file)) throw new Error(`no committed result summary ${file}`);
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** Median of per-seed samples, a miss (null) counting as the cap. */
export function medianAtCap(xs: Samples, cap: number): number {
  const v = xs.map((x) => (x === null ? cap : x)).sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const miss = (cap: number) => `not reached by ${fmtSamples(cap)}`;
const seedCell = (x: number | null, cap: number) => (x === null ? miss(cap) : fmtSamples(x));
const seedList = (xs: Samples, short = "miss") => xs.map((x) => (x === null ? short : fmtSamples(x))).join(", ");
const exp = (x: number, digits = 1) => x.toExponential(digits).replace("e+", "e");
const ratio = (x: number) => `${x.toFixed(x >= 10 ? 0 : 2)}x`;
const pct = (x: number, digits = 2) => `${(100 * x).toFixed(digits)}%`;
const signed = (x: number, digits: number) => `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;
const bytes = (b: number) => (b === 0 ? "0 B" : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(0)} kB`);
const medianLabel = (xs: Samples, cap: number) => {
  const m = medianAtCap(xs, cap);
  return xs.filter((x) => x !== null).length * 2 <= xs.length ? `${fmtSamples(cap)} (cap)` : fmtSamples(m);
};

/** A rendered reference table: a caption (with the source file) and its rows. */
export interface ReferenceTable {
  caption: string;
  rows: Row[];
}

function source(name: string, r: Json): string {
  return `docs/results/${name}.json${r.source === "transcribed" ? ", transcribed from the README's table" : ""}`;
}

function parityMethods(name: string, dir: string): ReferenceTable {
  const r = readReference(name, dir);
  const cap: number = r.config.maxSamples;
  const seeds: number[] = r.config.seeds;
  const one = r.methods.oneshot ? medianAtCap(r.methods.oneshot.samplesToTarget, cap) : NaN;
  const rows = Object.entries(r.methods as Record<string, Json>).map(([m, s]) => {
    const row: Row = { method: m, [`median to ${pct(r.config.targetAccuracy, 0)}`]: medianLabel(s.samplesToTarget, cap) };
    seeds.forEach((seed, i) => {
      row[`seed ${seed}`] = seedCell(s.samplesToTarget[i], cap);
    });
    if (Number.isFinite(one)) row["speed-up vs one-shot"] = ratio(one / medianAtCap(s.samplesToTarget, cap));
    if (s.storedBytes !== undefined) row["stored besides the teacher"] = bytes(s.storedBytes);
    if (s.flopsToTargetMedian !== undefined) row["FLOPs to target (median of the seeds that reached it)"] = exp(s.flopsToTargetMedian) + (s.flopsNote ? ` (${s.flopsNote})` : "");
    return row;
  });
  return { caption: `${r.title}; cap ${fmtSamples(cap)} (${source(name, r)})`, rows };
}

function costTable(dir: string): ReferenceTable {
  const r = readReference("parity-main-cost", dir);
  const rows = Object.entries(r.methods as Record<string, Json>).map(([m, s]) => ({
    method: m,
    "samples to 95%": fmtSamples(s.samplesToTarget),
    "stored besides the final teacher": bytes(s.storedBytes) + (s.checkpoints ? ` (${s.checkpoints} checkpoints)` : ""),
    "teacher FLOPs to 95%": exp(s.teacherFlops),
    "student FLOPs to 95%": exp(s.studentFlops),
    "seconds to 95%": s.secondsToTarget.toFixed(1),
  }));
  return { caption: `${r.title} (${source("parity-main-cost", r)})`, rows };
}

function tapStepsTable(key: string, dir: string): ReferenceTable {
  const r = readReference("tapsteps-auto", dir);
  const c = r.configurations[key];
  const cap: number = c.cap;
  const arms = c.arms as Json[];
  const fixed = arms.filter((a) => a.setting !== "auto");
  const bestSamples = Math.min(...fixed.map((a) => medianAtCap(a.samplesToTarget, cap)));
  const bestFlops = Math.min(...fixed.map((a) => a.flopsToTargetMedian));
  const rows: Row[] = arms.map((a) => ({
    tapSteps: a.setting,
    "median samples to target": fmtSamples(medianAtCap(a.samplesToTarget, cap)),
    "median FLOPs to target": exp(a.flopsToTargetMedian, 2),
    "vs best fixed (samples)": ratio(medianAtCap(a.samplesToTarget, cap) / bestSamples),
    "vs best fixed (FLOPs)": ratio(a.flopsToTargetMedian / bestFlops),
    "per seed": seedList(a.samplesToTarget),
    "tap steps run": a.tapSteps.join(", "),
  }));
  if (c.oneshot) {
    rows.push({
      tapSteps: "one-shot",
      "median samples to target": fmtSamples(medianAtCap(c.oneshot.samplesToTarget, cap)),
      "median FLOPs to target": exp(c.oneshot.flopsToTargetMedian, 2),
      "vs best fixed (samples)": "",
      "vs best fixed (FLOPs)": "",
      "per seed": seedList(c.oneshot.samplesToTarget),
      "tap steps run": "0",
    });
  }
  return { caption: `${c.label}: ${r.title} (${source("tapsteps-auto", r)})`, rows };
}

function beyondTable(dir: string): ReferenceTable {
  const r = readReference("parity-beyond-presets", dir);
  const rows = (r.rows as Json[]).map((x) => ({ configuration: x.configuration, cx: seedList(x.cx, `not reached by ${fmtSamples(r.cap)}`), oneshot: seedList(x.oneshot, `not reached by ${fmtSamples(r.cap)}`) }));
  return { caption: `${r.title}; ${r.measured} (${source("parity-beyond-presets", r)})`, rows };
}

function mlmAccuracy(name: string, dir: string): ReferenceTable {
  const r = readReference(name, dir);
  const seeds: number[] = r.config.seeds;
  const rows = Object.entries(r.accuracyAtBudget as Record<string, number[]>).map(([m, acc]) => {
    const row: Row = { method: m, [`mean accuracy at ${r.config.studentSteps} steps`]: pct(mean(acc)) };
    seeds.forEach((seed, i) => {
      row[`seed ${seed}`] = pct(acc[i]);
    });
    return row;
  });
  return { caption: `${r.title}; teachers ${(r.teachers as number[]).map((t) => pct(t)).join(", ")} (${source(name, r)})`, rows };
}

function mlmComparisons(name: string, dir: string): ReferenceTable {
  const r = readReference(name, dir);
  const rows = (r.comparisons as Json[]).map((c) => ({
    method: c.method,
    "student steps": String(c.steps),
    seeds: String(c.seeds),
    "accuracy − one-shot (points)": `${signed(c.acc, 2)} [${signed(c.accLo, 2)}, ${signed(c.accHi, 2)}]`,
    "loss − one-shot (nats)": `${signed(c.loss, 3)} [${signed(c.lossLo, 3)}, ${signed(c.lossHi, 3)}]`,
    "vs one-shot (95%)": c.accLo > 0 ? "better" : c.accHi < 0 ? "worse" : "within noise",
  }));
  return { caption: `each method minus one-shot, paired by seed, mean with a 95% t interval (${source(name, r)})`, rows };
}

function mlmMain(dir: string): ReferenceTable {
  const r = readReference("mlm-main", dir);
  const cell = (acc: number[]) => `${pct(mean(acc), 1)} (${acc.map((a) => (100 * a).toFixed(1)).join(", ")})`;
  const rows = Object.values(r.corpora as Record<string, Json>).map((c) => {
    const row: Row = { "corpus (teacher accuracy)": `${c.label} (teacher ${c.teachers.map((t: number) => pct(t, 1)).join(", ")})` };
    for (const [m, acc] of Object.entries(c.accuracyAtBudget as Record<string, number[]>)) row[m] = cell(acc);
    return row;
  });
  return { caption: `${r.title} (${source("mlm-main", r)})`, rows };
}

function layersVsMlp(dir: string): ReferenceTable {
  const r = readReference("layers-vs-mlp", dir);
  const rows = (r.seeds as number[]).map((seed, i) => ({ seed: String(seed), "fromLayersModel + distill": fmtSamples(r.distill[i]), "project's MLP": fmtSamples(r.mlp[i]) }));
  rows.push({ seed: "median", "fromLayersModel + distill": fmtSamples(medianAtCap(r.distill, Infinity)), "project's MLP": fmtSamples(medianAtCap(r.mlp, Infinity)) });
  return { caption: `${r.title} (${source("layers-vs-mlp", r)})`, rows };
}

/** The papers'-scale run as far as it went (docs/results/paper-scale.json, written by scripts/paper-status.ts). */
function paperScale(dir: string): ReferenceTable {
  const r = readReference("paper-scale", dir);
  const rows: Row[] = (r.teachers as Json[]).map((t) => {
    const last = t.curve[t.curve.length - 1] ?? [t.samples, NaN];
    const best = Math.max(...t.curve.map((p: [number, number]) => p[1]));
    return {
      seed: String(t.seed),
      "teacher samples (batch 1: steps)": fmtSamples(t.samples),
      "held-out accuracy, latest": pct(last[1], 1),
      "best so far": pct(best, 1),
      "to 99%": t.samplesToTarget === null ? "not yet" : fmtSamples(t.samplesToTarget),
      "steps per second": String(t.stepsPerSecond ?? "-"),
    };
  });
  return { caption: `The paper preset (n=100, k=6, teacher 50,000 wide, batch 1, SGD 0.005), status ${r.status} at ${String(r.measured).slice(0, 16)} UTC (docs/results/paper-scale.json)`, rows };
}

/** The papers'-scale students finished so far (docs/results/paper-scale.json's `students`, read by scripts/paper-status.ts). */
function paperScaleStudents(dir: string): ReferenceTable {
  const r = readReference("paper-scale", dir);
  const c = r.config as Json;
  const target = pct(c.targetAccuracy, 0);
  const rows: Row[] = ((r.students ?? []) as Json[]).map((s) => ({
    seed: String(s.seed),
    method: s.method,
    [`samples to ${target}`]: s.samplesToTarget === null ? `not reached by ${fmtSamples(s.samples)}` : fmtSamples(s.samplesToTarget),
    "held-out accuracy at the end": pct(s.finalAccuracy, 1),
    "stored besides the teacher": bytes(s.storedBytes),
    "wall time": `${Math.round(s.seconds / 60)} min`,
    [`steps per second (batch ${c.batch})`]: String(s.stepsPerSecond ?? "-"),
    run: s.run,
  }));
  return {
    caption: `Students of the paper preset finished so far (width ${c.studentWidth}, batch ${c.batch}, SGD ${c.lr}, cap ${fmtSamples(c.maxSamples)}; docs/results/paper-scale.json${r.studentsCommand ? `; seed 0's students: ${r.studentsCommand}` : ""})`,
    rows,
  };
}

/** The paper section of `npm run bench` against the PyTorch peer in the same run (docs/results/bench-paper.json). */
function paperBench(dir: string): ReferenceTable {
  const r = readReference("bench-paper", dir);
  const p = r.paper;
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const row = (step: string, ours: number, theirs: number, perSample = 1): Row => ({
    step,
    ours: perSample === 1 ? ms(ours) : `${ms(ours)} (${(ours / perSample).toFixed(3)} ms a sample)`,
    PyTorch: ms(theirs),
    "ours / PyTorch": (ours / theirs).toFixed(3),
  });
  const rows = [
    row("teacher step (batch 1)", p.teacherStepMs, p.pytorch.teacherStepMs),
    row("one-shot step, teacher forward included (batch 1; targets 32 batches at a time)", p.oneshotStepMs, p.pytorch.oneshotStepMs),
    row("cx tap step, teacher hidden layer and projection included (batch 1; targets 32 batches at a time)", p.tapStepMs[0], p.pytorch.tapStepMs[0]),
    ...(p.alone
      ? [
          row("one-shot step, teacher targets one batch at a time (batch 1)", p.alone.oneshotStepMs, p.pytorch.alone.oneshotStepMs),
          row("cx tap step, teacher targets one batch at a time (batch 1)", p.alone.tapStepMs[0], p.pytorch.alone.tapStepMs[0]),
        ]
      : []),
    row("scratch step (batch 1)", p.scratchStepMs, p.pytorch.scratchStepMs),
    row("one-shot step (batch 32)", p.batch32.oneshotStepMs, p.pytorch.batch32.oneshotStepMs, 32),
    row("cx tap step (batch 32)", p.batch32.tapStepMs[0], p.pytorch.batch32.tapStepMs[0], 32),
    row("scratch step (batch 32)", p.batch32.scratchStepMs, p.pytorch.batch32.scratchStepMs, 32),
  ];
  return { caption: `The papers' scale per step (n 100, teacher 50,000, student 100), ${r.backend}${r.native ? " + native kernels" : ""}, PyTorch ${r.pytorchVersion ?? "1.13"} one thread, one run (docs/results/bench-paper.json: ${r.command})`, rows };
}

/**
 * Teacher success within the cap (issue 23): samples to 99% held-out accuracy per seed, one initialisation
 * each, ours against the PyTorch peer on the same seed numbers (which pick different random draws in the two).
 */
function teacherSuccess(dir: string): ReferenceTable {
  const r = readReference("teacher-success", dir);
  const rows: Row[] = [];
  for (const c of r.configurations as Json[]) {
    for (const impl of ["ours", "peer"] as const) {
      const xs = c[impl] as Array<number | null | string>;
      const done = xs.filter((x): x is number | null => x === null || typeof x === "number");
      const row: Row = { "n, k (cap)": `${c.n}, ${c.k} (${fmtSamples(c.cap)})`, impl: impl === "ours" ? "ours" : "PyTorch peer" };
      (r.seeds as number[]).forEach((s, i) => {
        const x = xs[i];
        row[`seed ${s}`] = typeof x === "string" ? x : x === null ? "missed" : fmtSamples(x);
      });
      row.reached = `${done.filter((x) => x !== null).length} of ${done.length}`;
      row["median (miss = cap)"] = done.length ? fmtSamples(medianAtCap(done, c.cap)) : "-";
      rows.push(row);
    }
  }
  return { caption: `Transformer teacher (${r.teacher}): samples to 99% held-out accuracy, one initialisation per seed (docs/results/teacher-success.json; commands in docs/notes/teachers.md)`, rows };
}

/** Kernels per step on the cpu composite and on WebGPU with the project's WGSL kernels (issue 27). */
function kernelCountsTable(dir: string): ReferenceTable {
  const r = readReference("kernel-counts", dir);
  const list = (x: number | number[]) => (Array.isArray(x) ? x : [x]);
  const fmt = (x: number | number[]) => list(x).map((v) => v.toLocaleString("en-US")).join(" / ");
  const rows: Row[] = (r.steps as Json[]).map((s) => {
    const c = list(s.composite);
    const w = list(s.webgpu);
    return {
      step: s.step,
      "cpu composite": fmt(s.composite),
      "webgpu + wgsl": fmt(s.webgpu) + (s.dispatches !== undefined ? ` (${fmt(s.dispatches)} dispatches)` : ""),
      "fewer by": c.map((v, i) => `${(v / w[i]).toFixed(1)}x`).join(" / "),
    };
  });
  return { caption: `Kernels per training step as tf.profile counts them (docs/results/kernel-counts.json: ${r.command})`, rows };
}

/** Every reference table by name (the name in `<!-- table:NAME -->` markers and in `showReference`). */
export const REFERENCE_TABLES: Record<string, (dir: string) => ReferenceTable> = {
  "parity-main": (dir) => parityMethods("parity-main", dir),
  "parity-main-cost": costTable,
  "parity-quick": (dir) => parityMethods("parity-quick", dir),
  "tapsteps-main": (dir) => tapStepsTable("main", dir),
  "tapsteps-n40k5": (dir) => tapStepsTable("n40k5", dir),
  "tapsteps-n50k4": (dir) => tapStepsTable("n50k4", dir),
  "tapsteps-transformer": (dir) => tapStepsTable("transformer", dir),
  "parity-beyond-presets": beyondTable,
  "parity-transformer-main": (dir) => parityMethods("parity-transformer-main", dir),
  "mlm-brown-reference": (dir) => mlmAccuracy("mlm-brown-reference", dir),
  "mlm-brown-comparisons": (dir) => mlmComparisons("mlm-brown-reference", dir),
  "mlm-pcfg-reference": (dir) => mlmAccuracy("mlm-pcfg-reference", dir),
  "mlm-pcfg-comparisons": (dir) => mlmComparisons("mlm-pcfg-reference", dir),
  "mlm-main": mlmMain,
  "layers-vs-mlp": layersVsMlp,
  "paper-scale": paperScale,
  "paper-scale-students": paperScaleStudents,
  "paper-bench": paperBench,
  "teacher-success": teacherSuccess,
  "kernel-counts": kernelCountsTable,
};

function comparison(name: string, method: string, steps: number, dir: string): Json {
  const c = (readReference(name, dir).comparisons as Json[]).find((x) => x.method === method && x.steps === steps);
  if (!c) throw new Error(`${name}: no comparison for ${method} at ${steps} steps`);
  return c;
}
const points = (c: Json) => `${signed(c.acc, 2)} points (95% interval ${signed(c.accLo, 2)} to ${signed(c.accHi, 2)}, ${c.seeds} seeds)`;
const parityMedian = (name: string, method: string, dir: string) => {
  const r = readReference(name, dir);
  return medianAtCap(r.methods[method].samplesToTarget, r.config.maxSamples);
};
const quickWins = (dir: string) => {
  const r = readReference("parity-quick", dir);
  const cx: Samples = r.methods.cx.samplesToTarget;
  const one: Samples = r.methods.oneshot.samplesToTarget;
  const wins = cx.filter((x, i) => x !== null && (one[i] === null || x < (one[i] as number))).length;
  return `${wins} of ${cx.length}`;
};

/** "auto" against the best fixed phase length of configuration `key`, in samples or FLOPs (the ratio the table shows). */
function autoVsBest(key: string, what: "samples" | "flops", dir: string): number {
  const c = readReference("tapsteps-auto", dir).configurations[key];
  const v = (a: Json) => (what === "samples" ? medianAtCap(a.samplesToTarget, c.cap) : a.flopsToTargetMedian);
  const arms = c.arms as Json[];
  const auto = arms.find((a) => a.setting === "auto");
  return v(auto) / Math.min(...arms.filter((a) => a.setting !== "auto").map(v));
}
const MLP_CONFIGS = ["main", "n40k5", "n50k4"];
const and3 = (xs: string[]) => `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;

/** Every figure quoted in prose, by name (`<!-- fig:NAME -->...<!-- /fig -->`). */
const kernelStep = (dir: string, step: string) => {
  const k = (readReference("kernel-counts", dir).steps as Json[]).find((x) => x.step === step);
  if (!k) throw new Error(`kernel-counts: no step "${step}"`);
  return `${(k.composite as number).toLocaleString("en-US")} to ${(k.webgpu as number).toLocaleString("en-US")}`;
};

export const REFERENCE_FIGURES: Record<string, (dir: string) => string> = {
  "paper-bench.teacher": (dir) => `${readReference("bench-paper", dir).paper.teacherStepMs.toFixed(2)} ms`,
  "paper-bench.oneshot": (dir) => `${readReference("bench-paper", dir).paper.oneshotStepMs.toFixed(2)} ms`,
  "paper-bench.tap": (dir) => `${readReference("bench-paper", dir).paper.tapStepMs[0].toFixed(2)} ms`,
  "paper-bench.oneshot-alone": (dir) => `${readReference("bench-paper", dir).paper.alone.oneshotStepMs.toFixed(2)} ms`,
  "paper-bench.tap-alone": (dir) => `${readReference("bench-paper", dir).paper.alone.tapStepMs[0].toFixed(2)} ms`,
  "paper-bench.teacher-vs-pytorch": (dir) => {
    const p = readReference("bench-paper", dir).paper;
    return `1/${Math.round(p.pytorch.teacherStepMs / p.teacherStepMs)}`;
  },
  "kernels.transformer-teacher": (dir) => kernelStep(dir, "parity transformer teacher"),
  "kernels.mlm-teacher": (dir) => kernelStep(dir, "masked LM teacher (toy size)"),
  "parity-main.cx": (dir) => fmtSamples(parityMedian("parity-main", "cx", dir)),
  "parity-main.oneshot": (dir) => fmtSamples(parityMedian("parity-main", "oneshot", dir)),
  "parity-main.progressive": (dir) => fmtSamples(parityMedian("parity-main", "progressive", dir)),
  "parity-main.speedup": (dir) => ratio(parityMedian("parity-main", "oneshot", dir) / parityMedian("parity-main", "cx", dir)),
  "parity-main.oneshot-seeds": (dir) => seedList(readReference("parity-main", dir).methods.oneshot.samplesToTarget, `not reached by ${fmtSamples(readReference("parity-main", dir).config.maxSamples)}`),
  "parity-main.cx-seeds": (dir) => seedList(readReference("parity-main", dir).methods.cx.samplesToTarget),
  "parity-quick.cx-wins": quickWins,
  "parity-quick.cx": (dir) => fmtSamples(parityMedian("parity-quick", "cx", dir)),
  "parity-quick.oneshot": (dir) => fmtSamples(parityMedian("parity-quick", "oneshot", dir)),
  "parity-transformer-main.cx": (dir) => fmtSamples(parityMedian("parity-transformer-main", "cx", dir)),
  "parity-transformer-main.oneshot-misses": (dir) => {
    const xs: Samples = readReference("parity-transformer-main", dir).methods.oneshot.samplesToTarget;
    return `${xs.filter((x) => x === null).length} of ${xs.length}`;
  },
  "parity-main.tap-steps": (dir) => String(readReference("parity-main", dir).methods.cx.tapStepsMedian),
  "parity-main.teachers": (dir) => seedList(readReference("parity-main", dir).teachers.samplesToTarget),
  "parity-main.pytorch": (dir) => {
    const p = readReference("parity-main", dir).pytorchReference;
    const cap = `not reached`;
    return `teachers ${seedList(p.teachers)}; cx ${seedList(p.cx, cap)} with a 500-step phase 1; one-shot ${seedList(p.oneshot, cap)}; progressive ${seedList(p.progressive, cap)}; scratch ${seedList(p.scratch, cap)}`;
  },
  "mlm-brown.cx600": (dir) => points(comparison("mlm-brown-reference", "cx", 600, dir)),
  "mlm-brown.progressive600": (dir) => points(comparison("mlm-brown-reference", "progressive", 600, dir)),
  "mlm-pcfg.cx600": (dir) => points(comparison("mlm-pcfg-reference", "cx", 600, dir)),
  "tapsteps.mlp-auto-samples": (dir) => and3(MLP_CONFIGS.map((k) => ratio(autoVsBest(k, "samples", dir)))),
  "tapsteps.mlp-auto-flops": (dir) => and3(MLP_CONFIGS.map((k) => ratio(autoVsBest(k, "flops", dir)))),
  "tapsteps.mlp-auto-vs-oneshot": (dir) => {
    const r = readReference("tapsteps-auto", dir);
    const x = MLP_CONFIGS.map((k) => {
      const c = r.configurations[k];
      const auto = (c.arms as Json[]).find((a) => a.setting === "auto");
      return medianAtCap(c.oneshot.samplesToTarget, c.cap) / medianAtCap(auto.samplesToTarget, c.cap);
    });
    return `${Math.min(...x).toFixed(0)}-${Math.max(...x).toFixed(0)}x`;
  },
  "tapsteps.transformer-auto": (dir) => {
    const c = readReference("tapsteps-auto", dir).configurations.transformer;
    const arms = c.arms as Json[];
    const med = (a: Json) => medianAtCap(a.samplesToTarget, c.cap);
    const best = arms.filter((a) => a.setting !== "auto").reduce((a, b) => (med(b) < med(a) ? b : a));
    const auto = arms.find((a) => a.setting === "auto");
    return `${fmtSamples(med(auto))} against ${fmtSamples(med(best))} samples for the best fixed length (${best.setting} per block), ${ratio(autoVsBest("transformer", "samples", dir))}, and ${ratio(autoVsBest("transformer", "flops", dir))} in FLOPs`;
  },
  "tapsteps.transformer-300": (dir) => {
    const c = readReference("tapsteps-auto", dir).configurations.transformer;
    const arms = c.arms as Json[];
    const med = (a: Json) => medianAtCap(a.samplesToTarget, c.cap);
    const best = Math.min(...arms.filter((a) => a.setting !== "auto").map(med));
    return ratio(med(arms.find((a) => a.setting === "300")) / best);
  },
  "layers-vs-mlp.medians": (dir) => {
    const r = readReference("layers-vs-mlp", dir);
    return `${fmtSamples(medianAtCap(r.distill, Infinity))} and ${fmtSamples(medianAtCap(r.mlp, Infinity))}`;
  },
};

/** A reference table by name. */
export function referenceTable(name: string, dir = REFERENCE_DIR): ReferenceTable {
  const f = REFERENCE_TABLES[name];
  if (!f) throw new Error(`no reference table "${name}" (known: ${Object.keys(REFERENCE_TABLES).join(", ")})`);
  return f(dir);
}

/** A quoted figure by name. */
export function referenceFigure(name: string, dir = REFERENCE_DIR): string {
  const f = REFERENCE_FIGURES[name];
  if (!f) throw new Error(`no reference figure "${name}" (known: ${Object.keys(REFERENCE_FIGURES).join(", ")})`);
  return f(dir);
}

/** Rows as a GitHub Markdown table (every cell as text, pipes escaped). */
export function markdownTable(rows: readonly Row[]): string {
  if (rows.length === 0) return "";
  const cols = Object.keys(rows[0]);
  const esc = (v: unknown) => String(v ?? "").replace(/\|/g, "\\|");
  return [`| ${cols.map(esc).join(" | ")} |`, `| ${cols.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${cols.map((c) => esc(r[c])).join(" | ")} |`)].join("\n");
}
