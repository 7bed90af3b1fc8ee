/**
 * `npm run bench`: per-step times and effective GFLOP/s of the parity training steps (teacher step,
 * one-shot student step with the teacher's forward pass, curriculum-extraction phase-1 step,
 * held-out evaluation) at the smoke/main shapes and at the paper's teacher width; tensor count and
 * RSS over a run of steps; the PyTorch yardstick on the same work, in the same run, when Debian's
 * PyTorch is installed; optionally the end-to-end main reproduction (--e2e). Prints a table and
 * writes JSON to data/bench/bench-<time>.json.
 *
 *   npm run bench                      # step timings + memory + PyTorch yardstick if available
 *   npm run bench -- --e2e             # also the main reproduction, ours and PyTorch's, same run
 *   npm run bench -- --quick           # fewer repetitions
 *   npm run bench -- --peer PATH       # torch_parity.py (default ../shared/peer/torch_parity.py)
 *   npm run bench -- --kernels         # also the wasm kernel micro-benchmarks (src/bench/kernels.ts)
 *   npm run bench -- --soak N          # N steps of each method: tensor count and RSS (issue: no growth)
 *
 * Two cores are noisy: compare the ratios measured in one run, not absolute times across runs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend";
import { parityTask } from "../data/sparseParity";
import { curriculumExtraction } from "../distill/curriculumExtraction";
import { labelsPhase, outputPhase } from "../distill/outputs";
import { Phase } from "../distill/phases";
import { parityStream } from "../experiments/parityTask";
import { createMlp } from "../models/mlp";
import { TappedModel } from "../models/types";
import { rootRng } from "../rng";
import { trainStep } from "../train/loop";
import { createOptimizer } from "../train/optimizers";
import { writeJsonAtomic } from "../io";
import { alignedTable } from "../report/text";

interface Shape {
  name: string;
  n: number;
  teacherWidth: number;
  studentWidth: number;
  batch: number;
}

const SHAPES: Shape[] = [
  { name: "main (smoke shapes too)", n: 50, teacherWidth: 1000, studentWidth: 20, batch: 32 },
  { name: "paper teacher", n: 100, teacherWidth: 50000, studentWidth: 100, batch: 32 },
];

export interface StepTiming {
  shape: string;
  step: string;
  ms: number;
  stepsPerSecond: number;
  gflops: number;
}

/** Multiply-adds x 2 of one step: forward (1x) + backward (2x) for trained layers. */
function mlpFlops(batch: number, n: number, w: number, train: boolean): number {
  const fwd = 2 * batch * (n * w + w * 2);
  return train ? 3 * fwd : fwd;
}

function timeSteps(fn: () => void, minMs: number, maxIters: number): number {
  for (let i = 0; i < 3; i++) fn(); // warm-up (kernel set-up, XNNPACK operator cache)
  let iters = 0;
  const t0 = performance.now();
  while (iters < maxIters && (iters < 5 || performance.now() - t0 < minMs)) {
    fn();
    iters++;
  }
  return (performance.now() - t0) / iters;
}

function stepRunner(model: TappedModel, phase: Phase, stream: ReturnType<typeof parityStream>): () => void {
  const opt = createOptimizer(phase.optimizer);
  return () => {
    const b = stream.nextBatch();
    const loss = trainStep(model, phase, b, (g) => opt.apply(phase.trainable, g));
    b.x.dispose();
    b.y.dispose();
    loss.dispose();
  };
}

export function benchSteps(effort = 1, log: (s: string) => void = () => {}): StepTiming[] {
  const out: StepTiming[] = [];
  for (const s of SHAPES) {
    const rng = rootRng(0);
    const task = parityTask(s.n, 5);
    const big = s.teacherWidth > 10000;
    const stream = parityStream(task, rng.derive("d"), rng.derive("h"), s.batch, big ? 1024 : 4096);
    const teacher = createMlp({ inputDim: s.n, width: s.teacherWidth, outputDim: 2 }, rng.derive("t"));
    const student = createMlp({ inputDim: s.n, width: s.studentWidth, outputDim: 2 }, rng.derive("s"));
    const cx = curriculumExtraction(student, teacher, rng.derive("p"), {
      pairs: [{ teacherTap: "hidden", studentTap: "hidden" }],
      tapSteps: 1,
      tapOptimizer: { kind: "sgd", lr: 0.05 },
      output: { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 },
    });
    const minMs = (big ? 3000 : 1500) * effort;
    const cases: Array<[string, () => void, number]> = [
      ["teacher step", stepRunner(teacher, labelsPhase(stream, teacher, 1, { kind: "sgd", lr: 0.1 }), stream), mlpFlops(s.batch, s.n, s.teacherWidth, true)],
      [
        "one-shot student step (with teacher forward)",
        stepRunner(student, outputPhase("t", student, teacher, 1, { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 }), stream),
        mlpFlops(s.batch, s.n, s.teacherWidth, false) + mlpFlops(s.batch, s.n, s.studentWidth, true),
      ],
      ["cx phase-1 step (with teacher hidden + projection)", stepRunner(student, cx.phases[0], stream), mlpFlops(s.batch, s.n, s.teacherWidth, false) + 2 * s.batch * s.teacherWidth * s.studentWidth + mlpFlops(s.batch, s.n, s.studentWidth, true)],
      ["scratch student step", stepRunner(student, labelsPhase(stream, student, 1, { kind: "sgd", lr: 0.1 }), stream), mlpFlops(s.batch, s.n, s.studentWidth, true)],
      ["teacher held-out evaluation", () => stream.evaluate(teacher), mlpFlops(big ? 1024 : 4096, s.n, s.teacherWidth, false)],
    ];
    for (const [name, fn, flops] of cases) {
      const ms = timeSteps(fn, minMs, big ? 200 : 20000);
      const row = { shape: `${s.name}: n=${s.n} teacher ${s.teacherWidth} student ${s.studentWidth} batch ${s.batch}`, step: name, ms, stepsPerSecond: 1000 / ms, gflops: flops / (ms * 1e6) };
      out.push(row);
      log(`  ${row.shape} | ${name}: ${ms.toFixed(3)} ms (${row.stepsPerSecond.toFixed(0)}/s, ${row.gflops.toFixed(2)} GFLOP/s)`);
    }
    cx.dispose();
    teacher.dispose();
    student.dispose();
    stream.dispose();
  }
  return out;
}

export interface MemoryReport {
  steps: number;
  tensorsStart: number;
  tensorsEnd: number;
  rssStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
}

/** Steps of a one-shot student (teacher forward included): tensor count and RSS over the run. */
export function benchMemory(steps: number): MemoryReport {
  const rng = rootRng(1);
  const stream = parityStream(parityTask(50, 5), rng.derive("d"), rng.derive("h"), 32, 1024);
  const teacher = createMlp({ inputDim: 50, width: 1000, outputDim: 2 }, rng.derive("t"));
  const student = createMlp({ inputDim: 50, width: 20, outputDim: 2 }, rng.derive("s"));
  const step = stepRunner(student, outputPhase("t", student, teacher, 1, { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 }), stream);
  for (let i = 0; i < 200; i++) step(); // burn-in
  const mb = () => process.memoryUsage().rss / 2 ** 20;
  const tensorsStart = tf.memory().numTensors;
  const rssStartMb = mb();
  let rssMaxMb = rssStartMb;
  for (let i = 0; i < steps; i++) {
    step();
    if (i % 1000 === 0) rssMaxMb = Math.max(rssMaxMb, mb());
  }
  const r = { steps, tensorsStart, tensorsEnd: tf.memory().numTensors, rssStartMb, rssEndMb: mb(), rssMaxMb: Math.max(rssMaxMb, mb()) };
  teacher.dispose();
  student.dispose();
  stream.dispose();
  return r;
}

/** The PyTorch yardstick (one thread), or null when PyTorch or the script is missing. */
export function runPeer(peer: string, args: string[]): Array<Record<string, unknown>> | null {
  if (!fs.existsSync(peer)) return null;
  const probe = spawnSync("/usr/bin/python3", ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return null;
  const r = spawnSync("/usr/bin/python3", [peer, ...args, "--threads", "1"], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`PyTorch yardstick failed: ${r.stderr.slice(-400)}`);
  return r.stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function main(argv: string[]): Promise<void> {
  const quick = argv.includes("--quick");
  const backend = await initBackend(arg(argv, "--backend"));
  const peer = arg(argv, "--peer") ?? path.join("..", "shared", "peer", "torch_parity.py");
  const log = (s: string) => process.stderr.write(s + "\n");
  log(`bench: backend ${backend}${quick ? " (quick)" : ""}`);
  const report: Record<string, unknown> = { backend, node: process.version, date: new Date().toISOString() };

  log("step timings:");
  const steps = benchSteps(quick ? 0.3 : 1, log);
  report.steps = steps;

  const memSteps = Number(arg(argv, "--soak") ?? (quick ? 2000 : 20000));
  log(`memory over ${memSteps} one-shot steps...`);
  const mem = benchMemory(memSteps);
  report.memory = mem;

  // PyTorch on the same shapes (main config, seed 0), same run.
  log("PyTorch yardstick (main config, seed 0, one thread)...");
  const peerRows = runPeer(peer, ["--n", "50", "--k", "5", "--seeds", "0", "--methods", "cx,oneshot,ce"]);
  report.peer = peerRows;
  const ratios: Record<string, number> = {};
  if (peerRows) {
    const teacher = peerRows.find((r) => "teacher" in r)?.teacher as { samples: number; seconds: number } | undefined;
    const student = (m: string) => peerRows.find((r) => r.method === m) as { steps_per_s: number } | undefined;
    const ours = (step: string) => steps.find((s) => s.shape.startsWith("main") && s.step.startsWith(step))!.stepsPerSecond;
    if (teacher) ratios["teacher step: ours / PyTorch throughput"] = ours("teacher step") / (teacher.samples / 32 / teacher.seconds);
    if (student("oneshot")) ratios["one-shot student step: ours / PyTorch throughput"] = ours("one-shot") / student("oneshot")!.steps_per_s;
    if (student("ce")) ratios["scratch student step: ours / PyTorch throughput"] = ours("scratch") / student("ce")!.steps_per_s;
  } else {
    log("  (skipped: install Debian's python3-torch and libopenblas0-pthread, or pass --peer PATH)");
  }
  report.ratios = ratios;

  if (argv.includes("--e2e")) {
    const bin = path.join(__dirname, "..", "..", "bin", "curriculum-distill.js");
    const out = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "cd-bench-"));
    for (const workers of [2, 1]) {
      log(`end to end: main reproduction, 3 seeds, 4 methods, --workers ${workers}, teachers not cached...`);
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [bin, "parity", "--preset", "main", "--seeds", "0,1,2", "--quiet", "--no-cache", "--workers", String(workers), "--out", path.join(out, `w${workers}`)], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`reproduction failed: ${r.stderr.slice(-400)}`);
      report[`e2eSecondsWorkers${workers}`] = (Date.now() - t0) / 1000;
    }
    if (peerRows) {
      const t0 = Date.now();
      runPeer(peer, ["--n", "50", "--k", "5", "--seeds", "0,1,2"]);
      report.e2ePeerSeconds = (Date.now() - t0) / 1000;
      ratios["end to end (2 workers): ours / PyTorch time"] = (report.e2eSecondsWorkers2 as number) / (report.e2ePeerSeconds as number);
    }
  }

  if (argv.includes("--kernels")) {
    const { benchKernels } = await import("./kernels");
    report.kernels = await benchKernels({ effort: quick ? 0.3 : 1, log });
    await initBackend(backend);
  }

  process.stdout.write(
    alignedTable(
      ["shape", "step", "ms", "steps/s", "GFLOP/s"],
      steps.map((s) => [s.shape, s.step, s.ms.toFixed(3), s.stepsPerSecond.toFixed(0), s.gflops.toFixed(2)]),
    ) + "\n\n",
  );
  process.stdout.write(`memory: ${mem.steps} steps, tensors ${mem.tensorsStart} -> ${mem.tensorsEnd}, RSS ${mem.rssStartMb.toFixed(0)} -> ${mem.rssEndMb.toFixed(0)} MB (max ${mem.rssMaxMb.toFixed(0)})\n`);
  for (const [k, v] of Object.entries(ratios)) process.stdout.write(`${k}: ${v.toFixed(2)}\n`);
  for (const k of ["e2eSecondsWorkers2", "e2eSecondsWorkers1", "e2ePeerSeconds"]) if (k in report) process.stdout.write(`${k}: ${(report[k] as number).toFixed(1)} s\n`);
  const file = path.join("data", "bench", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeJsonAtomic(file, report);
  process.stdout.write(`written: ${file}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  });
}
