/**
 * Benchmark of the wasm matMul kernels: stock tfjs-backend-wasm vs the re-registered fast kernels
 * (src/kernels/xnnpack.ts) vs the pure-JS cpu backend.
 *
 *   npx tsx src/bench/kernels.ts            # prints a table and the JSON
 *   npx tsx src/bench/kernels.ts --quick    # fewer repetitions
 *
 * `benchKernels()` returns the same figures as an object (for `npm run bench`).
 * Two cores are noisy: compare ratios within one run, not absolute times across runs.
 */
import * as tf from "@tensorflow/tfjs";
import { BACKENDS, BackendName, initBackend } from "../backend";
import { installBackendKernels } from "../kernels";
import { BATCH_LOOP_MIN_FLOPS } from "../kernels/xnnpack";

type Mode = "wasm-stock" | "wasm-fast" | "cpu";
const MODES: Mode[] = ["wasm-stock", "wasm-fast", "cpu"];

export interface KernelBenchOptions {
  /** Scale of repetitions (1 = default; smaller is quicker and noisier). */
  effort?: number;
  /** Skip the cpu backend on large shapes (it is 30-100x slower). */
  cpu?: boolean;
  log?: (line: string) => void;
}

export interface KernelBenchResult {
  machine: { node: string; cores: number; wasmThreads: number };
  mlpStepMs: { input: number; hidden: number; output: number; batch: number; ms: Record<Mode, number | null> }[];
  attentionGflops: { a: number[]; b: number[]; transposeB: boolean; gflops: Record<Mode, number | null> }[];
  dispatchUs: { op: string; us: Record<"wasm" | "cpu", number> }[];
  /** Student MLP 50->20->2, batch 32: autodiff step vs hand-written backprop (fewer kernels). */
  studentStep: { variant: string; kernels: number; ms: Record<"wasm" | "cpu", number> }[];
  batchLoopThreshold: number;
  speedups: Record<string, number>;
}

async function useMode(mode: Mode): Promise<void> {
  if (mode === "cpu") {
    await tf.setBackend("cpu");
    return;
  }
  if (tf.findBackend("wasm") === null) await initBackend("wasm"); // loads it (and registers the fast kernels)
  await tf.setBackend("wasm");
  installBackendKernels("wasm", mode === "wasm-fast" ? ["xnnpack"] : []);
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}
function randTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const r = lcg(seed);
  const n = shape.reduce((p, d) => p * d, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = r() * scale;
  return tf.tensor(v, shape);
}

/**
 * Best (lowest) block average over `reps` blocks of `inner` calls, in ms per call. The minimum is
 * the least noisy estimate on a shared 2-core machine (noise only ever adds time).
 */
function timeIt(fn: () => void, inner: number, reps: number): number {
  fn();
  fn();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    best = Math.min(best, (performance.now() - t0) / inner);
  }
  return best;
}

interface Workload {
  flops: number;
  run: () => void;
  dispose: () => void;
}

/** One SGD step of a 2-layer MLP (relu hidden, softmax cross-entropy, autodiff). */
function mlpWorkload(input: number, hidden: number, output: number, batch: number): Workload {
  const w1 = tf.variable(randTensor([input, hidden], 1, 2 / Math.sqrt(input)));
  const b1 = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(randTensor([hidden, output], 2, 2 / Math.sqrt(hidden)));
  const b2 = tf.variable(tf.zeros([output]));
  const x = randTensor([batch, input], 3);
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % output), "int32"), output);
  const vars = [w1, b1, w2, b2];
  const lr = tf.scalar(0.01);
  const run = (): void => {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
        const logits = tf.add(tf.matMul(h, w2), b2);
        return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
      }, vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(lr, grads[v.name])));
    });
  };
  return { flops: 6 * batch * (input * hidden + hidden * output), run, dispose: () => tf.dispose([...vars, x, labels, lr]) };
}

function matMulWorkload(aShape: number[], bShape: number[], transposeB: boolean): Workload {
  const a = randTensor(aShape, 4);
  const b = randTensor(bShape, 5);
  const [batch, m, k] = aShape;
  const n = transposeB ? bShape[1] : bShape[2];
  return { flops: 2 * batch * m * k * n, run: () => tf.matMul(a, b, false, transposeB).dispose(), dispose: () => tf.dispose([a, b]) };
}

/**
 * ms per call of a workload on the stock wasm kernels, the fast ones (interleaved, same tensors)
 * and the cpu backend.
 */
async function compareModes(build: () => Workload, effort: number, withCpu: boolean): Promise<{ ms: Record<Mode, number | null>; flops: number }> {
  const ms: Record<Mode, number | null> = { "wasm-stock": Infinity, "wasm-fast": Infinity, cpu: null };
  await useMode("wasm-fast");
  const w = build();
  const inner = Math.max(2, Math.min(300, Math.round((effort * 1e8) / w.flops)));
  for (let r = 0; r < 5; r++) {
    for (const mode of ["wasm-stock", "wasm-fast"] as const) {
      await useMode(mode);
      ms[mode] = Math.min(ms[mode]!, timeIt(w.run, inner, 1));
    }
  }
  w.dispose();
  await useMode("wasm-fast");
  if (withCpu) {
    await useMode("cpu");
    const c = build();
    ms.cpu = timeIt(c.run, Math.max(2, Math.round(inner / 20)), 3);
    c.dispose();
  }
  return { ms, flops: w.flops };
}

/**
 * Two ways to write one SGD step of the student (input -> hidden relu -> classes, softmax CE):
 * "autodiff" (variableGrads over unfused ops, as most code does) and "manual" (fused forward,
 * closed-form backward, in-place style updates), to show what op count costs when every kernel
 * is a few microseconds of dispatch.
 */
function studentSteps(input: number, hidden: number, classes: number, batch: number): { variant: string; step: () => void; dispose: () => void }[] {
  const w1 = tf.variable(randTensor([input, hidden], 21, 0.3));
  const b1 = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(randTensor([hidden, classes], 22, 0.3));
  const b2 = tf.variable(tf.zeros([classes]));
  const x = randTensor([batch, input], 23);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % classes), "int32"), classes);
  const vars = [w1, b1, w2, b2];
  const lr = tf.scalar(0.01);
  const lrOverB = tf.scalar(0.01 / batch);
  const autodiff = (): void => {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
        return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h, w2), b2)) as tf.Scalar;
      }, vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(lr, grads[v.name])));
    });
  };
  const manual = (): void => {
    tf.tidy(() => {
      const h = tf.fused.matMul({ a: x, b: w1, bias: b1, activation: "relu" });
      const logits = tf.fused.matMul({ a: h, b: w2, bias: b2 });
      // d(mean CE)/dlogits = (softmax - y) / batch; the 1/batch is folded into the learning rate.
      const g = tf.sub(tf.softmax(logits), y);
      const dh = tf.mul(tf.matMul(g, w2, false, true), tf.step(h));
      w2.assign(tf.sub(w2, tf.mul(lrOverB, tf.matMul(h, g, true, false))));
      b2.assign(tf.sub(b2, tf.mul(lrOverB, tf.sum(g, 0))));
      w1.assign(tf.sub(w1, tf.mul(lrOverB, tf.matMul(x, dh, true, false))));
      b1.assign(tf.sub(b1, tf.mul(lrOverB, tf.sum(dh, 0))));
    });
  };
  const dispose = (): void => tf.dispose([...vars, x, y, lr, lrOverB]);
  return [
    { variant: "autodiff (variableGrads, unfused)", step: autodiff, dispose: () => {} },
    { variant: "manual backprop (fused forward)", step: manual, dispose },
  ];
}

async function countKernels(fn: () => void): Promise<number> {
  const info = await tf.profile(() => {
    fn();
  });
  return info.kernels.length;
}

function dispatchUs(): { op: string; fn: () => void }[] {
  const x = randTensor([32, 20], 6);
  const y = randTensor([32, 20], 7);
  const w = randTensor([20, 2], 8);
  const w1 = randTensor([50, 20], 9);
  const xin = randTensor([32, 50], 10);
  return [
    { op: "add [32,20]+[32,20]", fn: () => tf.add(x, y).dispose() },
    { op: "relu [32,20]", fn: () => tf.relu(x).dispose() },
    { op: "matMul [32,20]x[20,2]", fn: () => tf.matMul(x, w).dispose() },
    { op: "matMul [32,50]x[50,20]", fn: () => tf.matMul(xin, w1).dispose() },
    { op: "matMul [32,20]x[32,2] tA", fn: () => tf.matMul(x, randTensorCached, true, false).dispose() },
    { op: "tidy(empty)", fn: () => tf.tidy(() => {}) },
  ];
}
let randTensorCached: tf.Tensor;

export async function benchKernels(opts: KernelBenchOptions = {}): Promise<KernelBenchResult> {
  const effort = opts.effort ?? 1;
  const log = opts.log ?? (() => {});
  const withCpu = opts.cpu ?? true;
  const prevBackend = tf.getBackend();
  const result: KernelBenchResult = {
    machine: { node: process.version, cores: require("node:os").cpus().length, wasmThreads: 1 },
    mlpStepMs: [],
    attentionGflops: [],
    dispatchUs: [],
    studentStep: [],
    batchLoopThreshold: BATCH_LOOP_MIN_FLOPS,
    speedups: {},
  };

  const mlps: [number, number, number, number][] = [
    [50, 20, 2, 32],
    [50, 1000, 2, 32],
    [50, 4096, 2, 32],
  ];
  for (const [i, h, o, bs] of mlps) {
    const { ms } = await compareModes(() => mlpWorkload(i, h, o, bs), effort, withCpu);
    result.mlpStepMs.push({ input: i, hidden: h, output: o, batch: bs, ms });
    log(`MLP ${i}->${h}->${o} batch ${bs}: ms/step ${fmtRow(ms)}`);
  }

  const att: [number[], number[], boolean][] = [
    [[64 * 8, 21, 8], [64 * 8, 8, 21], false],
    [[64 * 8, 21, 8], [64 * 8, 21, 8], true],
    [[64 * 4, 64, 32], [64 * 4, 32, 64], false],
    [[64 * 4, 64, 32], [64 * 4, 64, 32], true],
  ];
  for (const [as, bs, tB] of att) {
    const { ms, flops } = await compareModes(() => matMulWorkload(as, bs, tB), effort, withCpu);
    const g = {} as Record<Mode, number | null>;
    for (const mode of MODES) g[mode] = ms[mode] === null ? null : flops / (ms[mode]! * 1e6);
    result.attentionGflops.push({ a: as, b: bs, transposeB: tB, gflops: g });
    log(`matMul [${as}] x [${bs}]${tB ? " (transposeB)" : ""}: GFLOP/s ${fmtRow(g)}`);
  }

  const disp: Record<string, Record<"wasm" | "cpu", number>> = {};
  for (const be of ["wasm", "cpu"] as const) {
    await useMode(be === "wasm" ? "wasm-fast" : "cpu");
    randTensorCached = randTensor([32, 2], 11);
    for (const { op, fn } of dispatchUs()) {
      (disp[op] ??= { wasm: 0, cpu: 0 })[be] = timeIt(fn, Math.round(2000 * effort) + 10, 5) * 1000;
    }
  }
  const student: Record<string, { kernels: number; ms: Record<"wasm" | "cpu", number> }> = {};
  for (const be of ["wasm", "cpu"] as const) {
    await useMode(be === "wasm" ? "wasm-fast" : "cpu");
    const variants = studentSteps(50, 20, 2, 32);
    for (const { variant, step } of variants) {
      const kernels = await countKernels(step);
      (student[variant] ??= { kernels, ms: { wasm: 0, cpu: 0 } }).ms[be] = timeIt(step, Math.round(300 * effort) + 10, 5);
    }
    variants.forEach((v) => v.dispose());
  }
  for (const [variant, r] of Object.entries(student)) {
    result.studentStep.push({ variant, ...r });
    log(`student 50->20->2 b32 ${variant}: ${r.kernels} kernels, wasm ${r.ms.wasm.toFixed(3)} ms, cpu ${r.ms.cpu.toFixed(3)} ms`);
  }

  for (const [op, us] of Object.entries(disp)) {
    result.dispatchUs.push({ op, us });
    log(`dispatch ${op}: wasm ${us.wasm.toFixed(1)} µs, cpu ${us.cpu.toFixed(1)} µs`);
  }

  for (const r of result.mlpStepMs) {
    if (r.ms["wasm-stock"] && r.ms["wasm-fast"]) result.speedups[`mlp H=${r.hidden}`] = r.ms["wasm-stock"] / r.ms["wasm-fast"];
  }
  for (const r of result.attentionGflops) {
    if (r.gflops["wasm-stock"] && r.gflops["wasm-fast"])
      result.speedups[`matMul [${r.a}]x[${r.b}]${r.transposeB ? "T" : ""}`] = r.gflops["wasm-fast"] / r.gflops["wasm-stock"];
  }

  // Leave the process as we found it: fast kernels on, previous backend selected.
  await useMode("wasm-fast");
  if (BACKENDS.includes(prevBackend as BackendName)) await initBackend(prevBackend as BackendName);
  else if (prevBackend) await tf.setBackend(prevBackend);
  return result;
}

function fmtRow(r: Record<string, number | null>): string {
  return Object.entries(r)
    .map(([k, v]) => `${k} ${v === null ? "-" : v < 10 ? v.toFixed(2) : v.toFixed(1)}`)
    .join(", ");
}

if (require.main === module) {
  const quick = process.argv.includes("--quick");
  benchKernels({ effort: quick ? 0.3 : 1, log: (l) => console.log(l) }).then((r) => {
    console.log(JSON.stringify(r, null, 2));
  });
}
