/**
 * Per-step milliseconds of the training steps the experiments run, built from the same phases and
 * `trainStep` as the experiments (no second implementation), for three shapes:
 *
 *   mlp          parity main: n 50, teacher 1000, student 20, batch 32, SGD
 *   transformer  parity-transformer main: n 20, teacher 2 x 64 / 8 heads, student 2 x 16 / 2 heads, batch 64, Adam
 *   mlm          masked-LM reference: vocabulary 8000, sequences of 64, batch 64, teacher 4 x 128 / 4 heads,
 *                student 4 x 32 / 2 heads, AdamW, layer-normalised tap targets
 *   paper        parity at the papers' scale (the `paper` preset): n 100, k 6, teacher 50,000, student
 *                100, batch 1, SGD 0.005; the students' steps also at the preset's student batch (32)
 *
 * Each section gives teacherStepMs (a teacher step on labels), oneshotStepMs (teacher forward + student
 * step), scratchStepMs (student on labels) and tapStepMs (one per curriculum-extraction tap phase:
 * teacher forward to the tapped block, student forward to its block, backward, update). The same
 * keys come from the PyTorch peers (scripts/peer_bench.py).
 */
import * as tf from "@tensorflow/tfjs";
import { parityTask } from "../data/sparseParity";
import { validationBatches } from "../data/maskedLm";
import { curriculumExtraction, defaultTapPairs } from "../distill/curriculumExtraction";
import { labelsPhase, outputPhase } from "../distill/outputs";
import { Phase, Task, disposeBatch, optimizerAt } from "../distill/phases";
import { MaskedLmTask, MlmValidation } from "../experiments/languageModel";
import { parityStream } from "../experiments/parityTask";
import { createMlp } from "../models/mlp";
import { createTransformer, TransformerConfig } from "../models/transformer";
import { TappedModel } from "../models/types";
import { Rng, rootRng } from "../rng";
import { StepFeed, TARGETS_AHEAD } from "../train/ahead";
import { trainStep } from "../train/loop";
import { OptimizerSpec, createOptimizer } from "../train/optimizers";

export const SECTIONS = ["mlp", "transformer", "mlm", "paper"] as const;
export type Section = (typeof SECTIONS)[number];

export interface StepTimes {
  teacherStepMs: number;
  oneshotStepMs: number;
  scratchStepMs: number;
  tapStepMs: number[];
  /** The student steps again at another batch (the paper section: the preset's student batch). */
  [batchKey: `batch${number}`]: { oneshotStepMs: number; scratchStepMs: number; tapStepMs: number[] };
  /**
   * The paper section: one-shot and tap steps with each batch's teacher targets computed alone. The
   * figures above are the steps as the training loop runs them, the frozen teacher's targets computed
   * TARGETS_AHEAD batches at a time (src/train/ahead.ts; the same values).
   */
  alone?: { oneshotStepMs: number; tapStepMs: number[] };
}

interface Setup {
  task: Task & { dispose?(): void };
  teacher: TappedModel;
  student: TappedModel;
  optimizer: OptimizerSpec;
  tapOptimizer: OptimizerSpec;
  normalize: "none" | "layernorm";
  /** Minimum milliseconds timed per step kind (times `effort`). */
  minMs: number;
  /** Student batches timed besides the section's own (a task per batch). */
  studentTasks?: Record<number, Task & { dispose?(): void }>;
  dispose(): void;
}

/** Median over blocks: robust to another process stealing the core for a moment. */
async function timeStep(step: () => Promise<void>, minMs: number, warmup: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  const blocks: number[] = [];
  const t0 = performance.now();
  while (blocks.length < 3 || (performance.now() - t0 < minMs && blocks.length < 200)) {
    const b0 = performance.now();
    let n = 0;
    do {
      await step();
      n++;
    } while (performance.now() - b0 < minMs / 10);
    blocks.push((performance.now() - b0) / n);
  }
  blocks.sort((a, b) => a - b);
  return blocks[Math.floor(blocks.length / 2)];
}

/**
 * One training step of `phase` per call, as the loop takes it: batches from a StepFeed, so a frozen
 * teacher's targets come `ahead` batches at a time where the phase allows it (1: one at a time).
 * `dispose` frees its optimiser's moments and the targets computed ahead.
 */
function runner(task: Task, model: TappedModel, phase: Phase, ahead = TARGETS_AHEAD): (() => Promise<void>) & { dispose(): void } {
  const opt = createOptimizer(optimizerAt(phase.optimizer, 0));
  const feed = new StepFeed(task, ahead);
  const step = async () => {
    const { batch: b, target } = await feed.next(phase, Infinity, Infinity);
    const loss = trainStep(model, phase, b, opt, target);
    target?.dispose();
    // One host read per step, as a loop that logs its loss would do; it also waits for the device
    // (asynchronously: WebGPU has no synchronous read in Node).
    await loss.data();
    loss.dispose();
    disposeBatch(b);
  };
  return Object.assign(step, {
    dispose: () => {
      feed.dispose();
      opt.dispose();
    },
  });
}

/**
 * `small`: the masked-LM section at a toy size (vocabulary 64, sequences of 16, batch 4) with the same
 * layers, widths and heads, at a cost SwiftShader can count: on the cpu composite it runs within 0.3% of the
 * full size's kernels per step (teacher 2,254 against 2,252, one-shot 2,638 against 2,632, taps 632-2,240
 * against 629-2,237: a few size-dependent reshapes).
 */
function setup(section: Section, rng: Rng, small = false): Setup {
  if (section === "paper") {
    const task = parityStream(parityTask(100, 6), rng.derive("data"), rng.derive("heldout"), 1, 64);
    const task32 = parityStream(parityTask(100, 6), rng.derive("data32"), rng.derive("heldout"), 32, 64);
    const teacher = createMlp({ inputDim: 100, width: 50000, outputDim: 2 }, rng.derive("teacher"));
    const student = createMlp({ inputDim: 100, width: 100, outputDim: 2 }, rng.derive("student"));
    return {
      task, teacher, student, optimizer: { kind: "sgd", lr: 0.005 }, tapOptimizer: { kind: "sgd", lr: 0.0025 }, normalize: "none", minMs: 1500,
      studentTasks: { 32: task32 },
      dispose: () => [task, task32, teacher, student].forEach((d) => d.dispose()),
    };
  }
  if (section === "mlp") {
    const task = parityStream(parityTask(50, 5), rng.derive("data"), rng.derive("heldout"), 32, 256);
    const teacher = createMlp({ inputDim: 50, width: 1000, outputDim: 2 }, rng.derive("teacher"));
    const student = createMlp({ inputDim: 50, width: 20, outputDim: 2 }, rng.derive("student"));
    return { task, teacher, student, optimizer: { kind: "sgd", lr: 0.1 }, tapOptimizer: { kind: "sgd", lr: 0.05 }, normalize: "none", minMs: 1500, dispose: () => [task, teacher, student].forEach((d) => d.dispose()) };
  }
  if (section === "transformer") {
    const task = parityStream(parityTask(20, 3), rng.derive("data"), rng.derive("heldout"), 64, 256, "tokens");
    const cfg = (dModel: number, nHeads: number): TransformerConfig => ({ vocabSize: 2, seqLen: 20, dModel, nHeads, nLayers: 2, head: "classify", numClasses: 2 });
    const teacher = createTransformer(cfg(64, 8), rng.derive("teacher"));
    const student = createTransformer(cfg(16, 2), rng.derive("student"));
    const adam: OptimizerSpec = { kind: "adam", lr: 1e-3 };
    return { task, teacher, student, optimizer: adam, tapOptimizer: adam, normalize: "none", minMs: 2000, dispose: () => [task, teacher, student].forEach((d) => d.dispose()) };
  }
  const V = small ? 64 : 8000;
  const seq = small ? 16 : 64;
  const batch = small ? 4 : 64;
  const docRng = rng.derive("documents");
  // Random token documents: the cost of a step does not depend on which tokens they are.
  const docs = Array.from({ length: 64 }, () => Int32Array.from({ length: small ? 256 : 4096 }, () => 4 + docRng.int(V - 4)));
  const valid = new MlmValidation(validationBatches(docs.slice(0, 2), { seqLen: seq, batchSize: batch, vocabSize: V }, rng.derive("valid"), { maxBatches: 1 }));
  const task = new MaskedLmTask(V, docs, seq, batch, rng.derive("data"), valid);
  const cfg = (dModel: number, nHeads: number): TransformerConfig => ({ vocabSize: V, seqLen: seq, dModel, nHeads, nLayers: 4, head: "lm", tiedEmbeddings: true });
  const teacher = createTransformer(cfg(128, 4), rng.derive("teacher"));
  const student = createTransformer(cfg(32, 2), rng.derive("student"));
  // The reference preset's optimiser, as the PyTorch peer steps it: AdamW with global-norm clipping at 1.
  const adamW: OptimizerSpec = { kind: "adam", lr: 1e-3, beta1: 0.9, beta2: 0.98, weightDecay: 0.01, clipNorm: 1 };
  return {
    task, teacher, student, optimizer: adamW, tapOptimizer: { kind: "adam", lr: 3e-3 }, normalize: "layernorm", minMs: 4000,
    dispose: () => {
      [task, teacher, student].forEach((d) => d.dispose());
      valid.dispose();
    },
  };
}

export interface KernelProfile {
  step: string;
  kernels: number;
  /** WebGPU only: compute dispatches the step recorded (a fused kernel may record several; a reshape none). */
  dispatches?: number;
  /** Top kernels by total time: name, milliseconds (nested scopes included in their parents), calls. */
  top: Array<{ kernel: string; ms: number; calls: number }>;
}

/** Kernels one step of each kind runs, as tf.profile counts them (kernels, custom-gradient scopes, saved copies). */
export interface KernelCounts {
  teacher: number;
  oneshot: number;
  scratch: number;
  /** One per curriculum-extraction tap phase. */
  tap: number[];
  /** WebGPU only: compute dispatches per step, same keys. */
  dispatches?: { teacher: number; oneshot: number; scratch: number; tap: number[] };
}

/**
 * Runs `f` counting the WebGPU compute dispatches it records, by wrapping Dawn's
 * GPUComputePassEncoder.dispatchWorkgroups for its duration (null off WebGPU).
 */
async function countDispatches(f: () => Promise<void>): Promise<number | null> {
  const cls = (globalThis as { GPUComputePassEncoder?: { prototype: { dispatchWorkgroups: (...a: unknown[]) => void } } }).GPUComputePassEncoder;
  if (tf.getBackend() !== "webgpu" || cls === undefined) {
    await f();
    return null;
  }
  const original = cls.prototype.dispatchWorkgroups;
  let n = 0;
  cls.prototype.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    n++;
    return original.apply(this, a);
  };
  try {
    await f();
  } finally {
    cls.prototype.dispatchWorkgroups = original;
  }
  return n;
}

/**
 * tf.profile of one step of each kind (after warm-up): teacher, one-shot, scratch and every tap
 * phase (`allTaps`; else the first only). Returns per kind the kernel count and where the time goes.
 */
export async function profileSection(section: Section, topN = 12, allTaps = false, onStep?: (p: KernelProfile) => void, small = false): Promise<KernelProfile[]> {
  const rng = rootRng(9).derive("profile", section);
  const s = setup(section, rng, small);
  const cx = curriculumExtraction(s.student, s.teacher, rng.derive("projection"), {
    pairs: defaultTapPairs(s.teacher, s.student), tapSteps: 1, tapOptimizer: s.tapOptimizer, normalize: s.normalize, output: { optimizer: s.optimizer, tau: 1 },
  });
  const taps = cx.phases.filter((p) => p.kind === "tap").slice(0, allTaps ? undefined : 1);
  const kinds: Array<[string, TappedModel, Phase]> = [
    ["teacher step", s.teacher, labelsPhase(s.task, s.teacher, 1, s.optimizer)],
    ["one-shot step", s.student, outputPhase("teacher", s.student, s.teacher, 1, { optimizer: s.optimizer, tau: 1 })],
    ["scratch step", s.student, labelsPhase(s.task, s.student, 1, s.optimizer)],
    ...taps.map((p, i): [string, TappedModel, Phase] => [`cx tap step, phase ${i + 1}`, s.student, p]),
  ];
  const out: KernelProfile[] = [];
  try {
    for (const [name, model, phase] of kinds) {
      const step = runner(s.task, model, phase);
      for (let i = 0; i < 2; i++) await step();
      const prof = await tf.profile(async () => {
        await step();
      });
      const dispatches = await countDispatches(step);
      step.dispose();
      const agg = new Map<string, { ms: number; calls: number }>();
      for (const k of prof.kernels) {
        const a = agg.get(k.name) ?? { ms: 0, calls: 0 };
        a.ms += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
        a.calls++;
        agg.set(k.name, a);
      }
      const top = [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms || b[1].calls - a[1].calls).slice(0, topN).map(([kernel, v]) => ({ kernel, ms: Math.round(v.ms * 100) / 100, calls: v.calls }));
      out.push({ step: name, kernels: prof.kernels.length, ...(dispatches !== null ? { dispatches } : {}), top });
      onStep?.(out[out.length - 1]);
    }
  } finally {
    cx.dispose();
    s.dispose();
  }
  return out;
}

/** Kernels per step of each kind (every tap phase), from `profileSection`'s profiles or a fresh one. */
export async function kernelCounts(section: Section, profiles?: KernelProfile[]): Promise<KernelCounts> {
  const p = profiles ?? (await profileSection(section, 0, true));
  const get = (name: string, of: (k: KernelProfile) => number | undefined) => {
    const k = p.find((q) => q.step === name);
    return k ? (of(k) ?? NaN) : NaN;
  };
  const counts = (of: (k: KernelProfile) => number | undefined) => ({
    teacher: get("teacher step", of),
    oneshot: get("one-shot step", of),
    scratch: get("scratch step", of),
    tap: p.filter((k) => k.step.startsWith("cx tap step")).map((k) => of(k) ?? NaN),
  });
  const kernels = counts((k) => k.kernels);
  return p.some((k) => k.dispatches !== undefined) ? { ...kernels, dispatches: counts((k) => k.dispatches) } : kernels;
}

/** Time every step kind of one section. `effort` scales the timed duration (0.3 = quick). */
export async function benchSection(section: Section, effort = 1, log: (s: string) => void = () => {}): Promise<StepTimes> {
  const rng = rootRng(7).derive("bench", section);
  const s = setup(section, rng);
  const out = { ...s.optimizer };
  const cx = curriculumExtraction(s.student, s.teacher, rng.derive("projection"), {
    pairs: defaultTapPairs(s.teacher, s.student),
    tapSteps: 1,
    tapOptimizer: s.tapOptimizer,
    normalize: s.normalize,
    output: { optimizer: out, tau: 1 },
  });
  const minMs = s.minMs * effort;
  const warmup = Math.max(1, Math.round((section === "mlm" ? 2 : 5) * Math.min(1, effort)));
  const time = async (name: string, model: TappedModel, phase: Phase, task: Task = s.task, ahead = TARGETS_AHEAD): Promise<number> => {
    const step = runner(task, model, phase, ahead);
    const ms = await timeStep(step, minMs, warmup);
    step.dispose();
    log(`  ${section} ${name}: ${ms.toFixed(3)} ms`);
    return ms;
  };
  try {
    const oneshot = () => outputPhase("teacher", s.student, s.teacher, 1, { optimizer: out, tau: 1 });
    const taps = cx.phases.filter((ph) => ph.kind === "tap");
    const students = async (task: Task, tag: string) => {
      const tapStepMs: number[] = [];
      for (const p of taps) tapStepMs.push(await time(`${tag}tap step ${p.name}`, s.student, p, task));
      return {
        oneshotStepMs: await time(`${tag}one-shot step (teacher forward included)`, s.student, oneshot(), task),
        scratchStepMs: await time(`${tag}scratch step`, s.student, labelsPhase(task, s.student, 1, s.optimizer), task),
        tapStepMs,
      };
    };
    const own: StepTimes = { teacherStepMs: NaN, ...(await students(s.task, "")) };
    if (section === "paper") {
      const tapAlone: number[] = [];
      for (const p of taps) tapAlone.push(await time(`tap step ${p.name}, teacher targets one batch at a time`, s.student, p, s.task, 1));
      own.alone = { oneshotStepMs: await time("one-shot step, teacher targets one batch at a time", s.student, oneshot(), s.task, 1), tapStepMs: tapAlone };
    }
    const times: StepTimes = { ...own, teacherStepMs: await time("teacher step", s.teacher, labelsPhase(s.task, s.teacher, 1, s.optimizer)) };
    for (const [b, task] of Object.entries(s.studentTasks ?? {})) times[`batch${Number(b)}`] = await students(task, `batch ${b}: `);
    return times;
  } finally {
    cx.dispose();
    s.dispose();
  }
}

export interface MemoryReport {
  section: Section;
  step: string;
  steps: number;
  tensorsStart: number;
  tensorsEnd: number;
  rssStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
}

/** `steps` one-shot steps (teacher forward included) after a burn-in: tensor count and RSS. */
export async function soak(section: Section, steps: number): Promise<MemoryReport> {
  const rng = rootRng(8).derive("soak", section);
  const s = setup(section, rng);
  const step = runner(s.task, s.student, outputPhase("teacher", s.student, s.teacher, 1, { optimizer: s.optimizer, tau: 1 }));
  const mb = () => process.memoryUsage().rss / 2 ** 20;
  for (let i = 0; i < Math.min(50, steps); i++) await step(); // burn-in: buffers and caches reach their size
  const tensorsStart = tf.memory().numTensors;
  const rssStartMb = mb();
  let rssMaxMb = rssStartMb;
  for (let i = 0; i < steps; i++) {
    await step();
    if (i % 10 === 0) rssMaxMb = Math.max(rssMaxMb, mb());
  }
  const r = { section, step: "one-shot", steps, tensorsStart, tensorsEnd: tf.memory().numTensors, rssStartMb, rssEndMb: mb(), rssMaxMb: Math.max(rssMaxMb, mb()) };
  step.dispose();
  s.dispose();
  return r;
}
