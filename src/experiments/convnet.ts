/**
 * The convnet example's pieces shared by scripts/convnet.ts and notebooks/06-convnets.ipynb:
 * train a MobileNet-style teacher with tfjs's own `fitDataset`, time training and distillation
 * steps under a kernel set, and pick the wasm kernel set by name.
 *
 * Kernel sets: "wasm-native" (tfjs-backend-wasm with the native library: OpenBLAS convolutions),
 * "wasm" (pure wasm: XNNPACK products and the conv layer's TypeScript gradients), "cpu" (tfjs's
 * cpu backend, plain JavaScript).
 */
import * as tf from "@tensorflow/tfjs";
import { DistillResult, distill } from "../api";
import { initBackend } from "../backend";
import { SHAPE_CLASSES, ShapesOptions, shapesBatch, shapesDataset } from "../data/shapes";
import { installBackendKernels } from "../kernels";
import { mobileNetTeacher, smallConvnet } from "../models/convnets";
import { fromLayersModel } from "../models/layers";
import { Rng, rootRng } from "../rng";
import { LoopEvent } from "../train/loop";

export type KernelSet = "wasm-native" | "wasm" | "cpu";
export const KERNEL_SETS: readonly KernelSet[] = ["wasm-native", "wasm", "cpu"];

/** Switch to a kernel set; returns false when it is not available here (no native library). */
export async function useKernelSet(set: KernelSet): Promise<boolean> {
  if (set === "cpu") {
    await initBackend("cpu");
    return true;
  }
  await initBackend("wasm");
  if (set === "wasm") {
    installBackendKernels("wasm", ["xnnpack", "conv"]);
    return true;
  }
  return installBackendKernels("wasm").includes("native");
}

export interface TeacherTraining {
  steps: number;
  seconds: number;
  /** Held-out accuracy after training. */
  accuracy: number;
}

/**
 * Train `model` (softmax output) with `fitDataset`: Adam, sparse categorical cross-entropy, `steps`
 * batches of procedural images. `onEpoch` gets (steps so far, held-out accuracy) every `every` steps.
 */
export async function trainConvTeacher(
  model: tf.LayersModel,
  rng: Rng,
  o: {
    steps: number;
    batch: number;
    lr: number;
    every?: number;
    validation: { xs: tf.Tensor; ys: tf.Tensor };
    data?: ShapesOptions;
    onEpoch?: (steps: number, accuracy: number) => void;
  },
): Promise<TeacherTraining> {
  const every = Math.min(o.every ?? 100, o.steps);
  const t0 = performance.now();
  model.compile({ optimizer: tf.train.adam(o.lr), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
  const data = shapesDataset(rng, o.batch, o.data).map((b) => ({ xs: b.xs, ys: b.ys.toFloat() }));
  const ysFloat = o.validation.ys.toFloat();
  let accuracy = 0;
  await model.fitDataset(data as never, {
    epochs: Math.ceil(o.steps / every),
    batchesPerEpoch: every,
    verbose: 0,
    validationData: [o.validation.xs, ysFloat],
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        accuracy = Number(logs?.val_acc ?? logs?.val_accuracy ?? NaN);
        o.onEpoch?.((epoch + 1) * every, accuracy);
      },
    },
  });
  ysFloat.dispose();
  return { steps: Math.ceil(o.steps / every) * every, seconds: (performance.now() - t0) / 1000, accuracy };
}

export interface ConvStepTimes {
  set: KernelSet;
  /** One Adam step of the teacher (forward, backward, update), batch `batch`. Wall-clock ms. */
  teacherStepMs: number;
  /** Curriculum extraction's tap phases: per step, averaged over the pairs (teacher forward to its tap, student forward and backward to its tap). */
  tapStepMs: number;
  /** The output phase: teacher forward, student forward and backward. */
  outputStepMs: number;
  /** The same three, in CPU time of this process (user + system): what the step costs on a machine shared with other work. */
  cpuMs: { teacherStep: number; tapStep: number; outputStep: number };
  batch: number;
  steps: number;
}

/** Wall-clock and process CPU milliseconds since `t`. */
function clock(): { wall: number; cpu: number } {
  const u = process.cpuUsage();
  return { wall: performance.now(), cpu: (u.user + u.system) / 1000 };
}

/**
 * Time `steps` steps of each kind on the current backend, after one warm-up step of each: teacher
 * training (a fresh `makeTeacher()`), and distillation of `teacher` into a fresh `makeStudent()` by
 * curriculum extraction (`steps` steps per tap phase, then `steps` output steps).
 */
export async function convnetStepTimes(
  set: KernelSet,
  makeTeacher: () => tf.LayersModel,
  teacher: tf.LayersModel,
  makeStudent: () => tf.LayersModel,
  rng: Rng,
  o: { batch: number; steps: number; data?: ShapesOptions },
): Promise<ConvStepTimes> {
  const { xs, ys } = shapesBatch(rng, o.batch, o.data);
  // Teacher training steps.
  const fresh = makeTeacher();
  const classes = (fresh.outputs[0].shape as number[])[1];
  const opt = tf.train.adam(1e-3);
  const teacherStep = () => {
    // Cross-entropy of the softmax output, as fitDataset's sparseCategoricalCrossentropy computes it.
    const cost = opt.minimize(
      () => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(ys, classes), tf.log(tf.add(fresh.apply(xs, { training: true }) as tf.Tensor, 1e-7))), -1))) as tf.Scalar,
      true,
    );
    cost?.dataSync();
    cost?.dispose();
  };
  teacherStep();
  const t = clock();
  for (let i = 0; i < o.steps; i++) teacherStep();
  const t1 = clock();
  fresh.dispose();
  opt.dispose();
  // Distillation steps: phase boundaries from the loop's events.
  const run = async (steps: number) => {
    const student = makeStudent();
    const marks: { wall: number; cpu: number }[] = [];
    const s = fromLayersModel(student);
    await distill({
      teacher: fromLayersModel(teacher),
      student: s,
      data: [{ xs, ys }],
      method: "cx",
      tapSteps: steps,
      budget: { steps: 4 * steps },
      optimizer: { kind: "adam", lr: 1e-3 },
      onEvent: (e) => {
        if (e.type === "phase") marks.push(clock());
      },
    });
    marks.push(clock());
    student.dispose();
    return marks;
  };
  await run(1); // warm-up: kernels, XNNPACK operators, JIT
  const marks = await run(o.steps);
  const per = (a: { wall: number; cpu: number }, b: { wall: number; cpu: number }, n: number) => ({ wall: (b.wall - a.wall) / n, cpu: (b.cpu - a.cpu) / n });
  const [trainStep, tapStep, outputStep] = [per(t, t1, o.steps), per(marks[0], marks[3], 3 * o.steps), per(marks[3], marks[4], o.steps)];
  tf.dispose([xs, ys]);
  return {
    set,
    teacherStepMs: trainStep.wall,
    tapStepMs: tapStep.wall,
    outputStepMs: outputStep.wall,
    cpuMs: { teacherStep: trainStep.cpu, tapStep: tapStep.cpu, outputStep: outputStep.cpu },
    batch: o.batch,
    steps: o.steps,
  };
}

export interface ConvnetExampleConfig {
  /** Teacher training steps (fitDataset batches) and its Adam learning rate. */
  teacherSteps: number;
  teacherLr: number;
  /** Distillation budget in steps (tap phases included) and its Adam learning rate. */
  steps: number;
  lr: number;
  /** Curriculum extraction: steps per tap phase (3 pairs: block1..block3). */
  tapSteps: number;
  batch: number;
  heldout: number;
  evalEvery: number;
  teacherWidth: number;
  studentWidth: number;
  seed: number;
  data?: ShapesOptions;
  /** Distil from a teacher no better than chance on the validation set (quick runs: a few teacher steps). Default false. */
  allowWeakTeacher?: boolean;
}

/**
 * The configuration whose results are in docs/notes/convnets.md: small enough to run in a few minutes
 * on a shared 2-core machine (12x12 images, batch 16); the teacher reaches about 72% (chance 17%).
 */
export const CONVNET_EXAMPLE: ConvnetExampleConfig = {
  teacherSteps: 120,
  teacherLr: 2e-3,
  steps: 120,
  lr: 3e-3,
  tapSteps: 10,
  batch: 16,
  heldout: 512,
  evalEvery: 20,
  teacherWidth: 32,
  studentWidth: 16,
  seed: 0,
  data: { size: 12, noise: 0.6 },
};

/** The step timings' batch and image size (the teacher's 16x16 inputs, batch 32). */
export const TIMING = { batch: 32, data: { size: 16, noise: 0.6 } };

export interface ConvnetExampleResult {
  config: ConvnetExampleConfig;
  teacher: TeacherTraining & { params: number; curve: { steps: number; accuracy: number }[] };
  studentParams: number;
  /** Per method: the distill() result (held-out accuracy every `evalEvery` steps). */
  students: Record<string, DistillResult>;
}

/**
 * Train the MobileNet-style teacher on procedural images (fitDataset), then distil it into the small
 * convnet by curriculum extraction (taps block1..block3, pixels as positions) and by one-shot
 * distillation, on the current backend, from the same student initialisation and the same batches.
 */
export async function runConvnetExample(
  cfg: ConvnetExampleConfig,
  hooks: { onTeacher?: (steps: number, accuracy: number) => void; onEvent?: (method: string, e: LoopEvent) => void } = {},
): Promise<ConvnetExampleResult> {
  const rng = rootRng(cfg.seed).derive("convnet");
  const classes = SHAPE_CLASSES.length;
  const validation = shapesBatch(rng.derive("heldout"), cfg.heldout, cfg.data);
  const teacherModel = mobileNetTeacher({ classes, width: cfg.teacherWidth, rng: rng.derive("teacher", "init"), size: cfg.data?.size });
  const curve: { steps: number; accuracy: number }[] = [];
  const trained = await trainConvTeacher(teacherModel, rng.derive("teacher", "data"), {
    steps: cfg.teacherSteps,
    batch: cfg.batch,
    lr: cfg.teacherLr,
    every: cfg.evalEvery * 2,
    validation,
    data: cfg.data,
    onEpoch: (steps, accuracy) => {
      curve.push({ steps, accuracy });
      hooks.onTeacher?.(steps, accuracy);
    },
  });
  const teacher = fromLayersModel(teacherModel);
  const students: Record<string, DistillResult> = {};
  let studentParams = 0;
  for (const method of ["cx", "oneshot"] as const) {
    const studentModel = smallConvnet({ classes, width: cfg.studentWidth, rng: rng.derive("student", "init"), size: cfg.data?.size });
    studentParams = studentModel.countParams();
    students[method] = await distill({
      teacher,
      student: fromLayersModel(studentModel),
      method,
      data: shapesDataset(rng.derive("student", "data"), cfg.batch, cfg.data),
      budget: { steps: cfg.steps },
      tapSteps: cfg.tapSteps,
      optimizer: { kind: "adam", lr: cfg.lr },
      validation,
      evalEvery: cfg.evalEvery,
      allowWeakTeacher: cfg.allowWeakTeacher ?? false,
      onEvent: (e) => hooks.onEvent?.(method, e),
    });
    studentModel.dispose();
  }
  const result = { config: cfg, teacher: { ...trained, params: teacherModel.countParams(), curve }, studentParams, students };
  teacherModel.dispose();
  tf.dispose([validation.xs, validation.ys]);
  return result;
}

/** The convolutions of the example's teacher at batch 32, as [name, x shape, filter shape, stride]. */
type Shape4D = [number, number, number, number];
const KERNEL_CASES: [string, Shape4D, Shape4D, number][] = [
  ["pointwise 16x16 32->96", [32, 16, 16, 32], [1, 1, 32, 96], 1],
  ["3x3 16x16 3->32 (stem)", [32, 16, 16, 3], [3, 3, 3, 32], 1],
  ["depthwise 3x3 16x16x96", [32, 16, 16, 96], [3, 3, 96, 1], 1],
  ["depthwise 3x3 s2 16x16x32", [32, 16, 16, 32], [3, 3, 32, 1], 2],
];

export interface ConvKernelTime {
  set: KernelSet;
  conv: string;
  kernel: string;
  /** Process CPU ms per call (mean of `reps` after a warm-up call). */
  cpuMs: number;
}

/** CPU time per call of each convolution kernel a training step runs, on the current backend. */
export function convKernelTimes(set: KernelSet, reps = 5): ConvKernelTime[] {
  const out: ConvKernelTime[] = [];
  const time = (conv: string, kernel: string, f: () => tf.Tensor) => {
    tf.dispose(f());
    const t = clock();
    for (let i = 0; i < reps; i++) {
      const r = f();
      r.dataSync();
      r.dispose();
    }
    out.push({ set, conv, kernel, cpuMs: (clock().cpu - t.cpu) / reps });
  };
  for (const [conv, xs, fs, s] of KERNEL_CASES) {
    const depthwise = conv.startsWith("depthwise");
    const x = tf.randomNormal(xs) as tf.Tensor4D;
    const f = tf.randomNormal(fs) as tf.Tensor4D;
    const y = depthwise ? tf.depthwiseConv2d(x, f, s, "same") : tf.conv2d(x, f, s, "same");
    const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
    const attrs = { strides: s, pad: "same", dataFormat: "NHWC", dilations: 1 } as const;
    const run = (name: string, inputs: tf.NamedTensorMap, a: object) => () => tf.engine().runKernel(name, inputs, { ...attrs, ...a } as never) as tf.Tensor;
    if (depthwise) {
      time(conv, "DepthwiseConv2dNative", run("DepthwiseConv2dNative", { x, filter: f }, {}));
      time(conv, "DepthwiseConv2dNativeBackpropInput", run("DepthwiseConv2dNativeBackpropInput", { dy, filter: f }, { inputShape: xs }));
      time(conv, "DepthwiseConv2dNativeBackpropFilter", run("DepthwiseConv2dNativeBackpropFilter", { x, dy }, { filterShape: fs }));
    } else {
      time(conv, "Conv2D", run("Conv2D", { x, filter: f }, {}));
      time(conv, "Conv2DBackpropInput", run("Conv2DBackpropInput", { dy, filter: f }, { inputShape: xs }));
      time(conv, "Conv2DBackpropFilter", run("Conv2DBackpropFilter", { x, dy }, { filterShape: fs }));
    }
    tf.dispose([x, f, y, dy]);
  }
  return out;
}
