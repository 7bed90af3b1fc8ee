/**
 * WebGPU (tfjs-backend-webgpu on Dawn) against the cpu backend, on the same weights: the MLP and the
 * transformer's logits and every gradient, and one tap-phase and one output-phase training step of
 * curriculum extraction. On machines without a GPU this runs on SwiftShader's Vulkan driver (Debian's
 * chromium-common + libvulkan1, which .ci/run installs); where SwiftShader is absent it is skipped with
 * the reason printed.
 *
 * Tolerance: 1e-4 of the largest magnitude of each compared quantity, at least 1e-7 absolute
 * (float32 on a different kernel set: summation order differs; gradients that are zero in exact
 * arithmetic, such as the attention key bias's, come out as +-1e-10 noise on both).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { BackendError, backendInfo, gpuDevicePresent, initBackend, swiftShaderIcd } from "../src/backend";
import { curriculumExtraction, defaultTapPairs } from "../src/distill/curriculumExtraction";
import { oneHotTargets, softCrossEntropy } from "../src/distill/losses";
import { createMlp } from "../src/models/mlp";
import { createTransformer, TransformerConfig } from "../src/models/transformer";
import { TappedModel } from "../src/models/types";
import { Rng } from "../src/rng";
import { optimizerAt } from "../src/distill/phases";
import { trainStep } from "../src/train/loop";
import { clipByGlobalNorm, createOptimizer } from "../src/train/optimizers";

const TOL = 1e-4;
const skip = swiftShaderIcd() === null && !process.env.VK_ICD_FILENAMES ? "no WebGPU adapter: SwiftShader (chromium-common) is not installed" : false;
if (skip) process.stderr.write(`# webgpu tests skipped: ${skip}\n`);

async function read(ts: tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(async (t) => (await t.data()) as Float32Array));
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= TOL * scale, `${what}[${i}]: ${got[i]} vs ${want[i]} (scale ${scale})`);
  }
}

/** Logits, loss and every gradient of a cross-entropy, read back asynchronously (WebGPU has no sync read in Node). */
async function lossAndGrads(m: TappedModel, x: tf.Tensor, labels: tf.Tensor, classes: number, opts = {}): Promise<Float32Array[]> {
  const out = tf.tidy(() => {
    const logits = m.forward(x, opts).logits;
    const { value, grads } = tf.variableGrads(() => softCrossEntropy(m.forward(x, opts).logits.reshape([-1, classes]), oneHotTargets(labels, classes)), [...m.variables]);
    return [logits, value, ...m.variables.map((v) => grads[v.name])];
  });
  const vals = await read(out);
  tf.dispose(out);
  return vals;
}

test("automatic selection without a GPU picks wasm, never the software adapter; unknown names are one-line errors", { skip: gpuDevicePresent() && "this machine has a GPU device" }, async () => {
  const saved = process.env.CD_BACKEND;
  delete process.env.CD_BACKEND;
  try {
    assert.equal(await initBackend(), "wasm");
    assert.equal(backendInfo().adapter, null);
  } finally {
    if (saved !== undefined) process.env.CD_BACKEND = saved;
  }
  await assert.rejects(initBackend("gpu"), (e: Error) => e instanceof BackendError && /^backend: unknown backend "gpu" \(expected one of tensorflow, webgpu, wasm, cpu\)$/.test(e.message));
  await initBackend("cpu");
});

test("webgpu: an explicit request without a GPU falls back to SwiftShader and records the software adapter", { skip }, async () => {
  assert.equal(await initBackend("webgpu"), "webgpu");
  const info = backendInfo();
  assert.equal(info.backend, "webgpu");
  assert.ok(info.adapter !== null && info.adapter.vendor.length > 0, JSON.stringify(info));
  await initBackend("cpu");
});

test("webgpu equals cpu: MLP and transformer logits and every gradient (same weights)", { skip }, async () => {
  const rng = new Rng("webgpu-eq");
  const models: Array<[string, () => TappedModel, tf.Tensor, tf.Tensor, number, object]> = [];
  await initBackend("cpu");
  const mlp = () => createMlp({ inputDim: 12, width: 32, outputDim: 2 }, new Rng("w-mlp"));
  const xBits = tf.tensor2d(rng.normalArray(16 * 12, 1), [16, 12]).sign();
  models.push(["mlp", mlp, xBits, tf.tensor1d(Int32Array.from({ length: 16 }, () => rng.int(2)), "int32"), 2, {}]);
  const cls: TransformerConfig = { vocabSize: 2, seqLen: 10, dModel: 16, nHeads: 2, nLayers: 2, head: "classify", numClasses: 2 };
  const lm: TransformerConfig = { vocabSize: 90, seqLen: 8, dModel: 16, nHeads: 4, nLayers: 2, head: "lm", tiedEmbeddings: true };
  models.push(["transformer classify", () => createTransformer(cls, new Rng("w-cls")), tf.tensor2d(Int32Array.from({ length: 8 * 10 }, () => rng.int(2)), [8, 10], "int32"), tf.tensor1d(Int32Array.from({ length: 8 }, () => rng.int(2)), "int32"), 2, {}]);
  const padMask = tf.tensor2d(Array.from({ length: 4 * 8 }, (_, i) => (i % 8 < 8 - (i >> 3) ? 1 : 0)), [4, 8]);
  models.push(["transformer lm (tied, pad mask)", () => createTransformer(lm, new Rng("w-lm")), tf.tensor2d(Int32Array.from({ length: 4 * 8 }, () => rng.int(90)), [4, 8], "int32"), tf.tensor1d(Int32Array.from({ length: 32 }, () => rng.int(90)), "int32"), 90, { padMask }]);
  for (const [name, make, x, y, classes, opts] of models) {
    await initBackend("cpu");
    const m = make();
    const onCpu = await lossAndGrads(m, x, y, classes, opts);
    await initBackend("webgpu");
    const onGpu = await lossAndGrads(m, x, y, classes, opts);
    assertClose(onGpu[0], onCpu[0], `${name} logits`);
    assertClose(onGpu[1], onCpu[1], `${name} loss`);
    for (let i = 2; i < onCpu.length; i++) assertClose(onGpu[i], onCpu[i], `${name} grad ${m.variables[i - 2].name}`);
    m.dispose();
  }
  await initBackend("cpu");
});

test("webgpu equals cpu: one curriculum-extraction tap step and one output step, and forwardTaps", { skip }, async () => {
  const cfg = (d: number, h: number): TransformerConfig => ({ vocabSize: 2, seqLen: 10, dModel: d, nHeads: h, nLayers: 2, head: "classify", numClasses: 2 });
  const rng = new Rng("webgpu-step");
  const xs = Int32Array.from({ length: 8 * 10 }, () => rng.int(2));
  const ys = Int32Array.from({ length: 8 }, () => rng.int(2));
  // SGD: Adam would turn the gradients that are zero in exact arithmetic (the key bias's) into
  // +-lr-sized sign noise, which differs between any two backends.
  const run = async (backend: string) => {
    await initBackend(backend);
    const teacher = createTransformer(cfg(16, 4), new Rng("step-t"));
    const student = createTransformer(cfg(8, 2), new Rng("step-s"));
    const plan = curriculumExtraction(student, teacher, new Rng("step-p"), {
      pairs: defaultTapPairs(teacher, student), tapSteps: 1, tapOptimizer: { kind: "sgd", lr: 0.1 }, output: { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 },
    });
    const losses: number[] = [];
    for (const phase of [plan.phases[0], plan.phases[plan.phases.length - 1]]) {
      const opt = createOptimizer(optimizerAt(phase.optimizer, 0));
      const batch = { x: tf.tensor2d(xs, [8, 10], "int32"), y: tf.tensor1d(ys, "int32"), size: 8 };
      const loss = trainStep(student, phase, batch, opt);
      losses.push((await loss.data())[0]);
      tf.dispose([loss, batch.x, batch.y]);
      opt.dispose();
    }
    const taps = teacher.forwardTaps(tf.tensor2d(xs, [8, 10], "int32"), ["block1"]);
    const weights = await read([...student.variables, taps.block1]);
    plan.dispose();
    teacher.dispose();
    student.dispose();
    tf.dispose(Object.values(taps));
    return { losses, weights };
  };
  const onCpu = await run("cpu");
  const onGpu = await run("webgpu");
  assertClose(onGpu.losses, onCpu.losses, "tap and output losses");
  onCpu.weights.forEach((w, i) => assertClose(onGpu.weights[i], w, `weight/tap ${i} after the two steps`));
  await initBackend("cpu");
});

test("webgpu equals cpu: global-norm clipping over 70 gradients (one addN of 70 inputs exceeds WebGPU's storage buffers per kernel)", { skip }, async () => {
  const rng = new Rng("webgpu-clip");
  const values = Array.from({ length: 70 }, (_, i) => Float32Array.from({ length: 3 + (i % 5) }, () => rng.next() - 0.5));
  const run = async (backend: string) => {
    await initBackend(backend);
    const out = tf.tidy(() => clipByGlobalNorm(values.map((v) => tf.tensor1d(v)), 0.5));
    const got = await read(out);
    tf.dispose(out);
    return got;
  };
  const onCpu = await run("cpu");
  const onGpu = await run("webgpu");
  onCpu.forEach((w, i) => assertClose(onGpu[i], w, `clipped gradient ${i}`));
  let norm = 0;
  for (const g of onCpu) for (const x of g) norm += x * x;
  assert.ok(Math.abs(Math.sqrt(norm) - 0.5) < 1e-4, `clipped norm ${Math.sqrt(norm)}`);
  await initBackend("cpu");
});
