/**
 * The WebGPU MLP step (src/kernels/webgpu/mlp.ts: three dispatches, weights updated in place)
 * against the reference path on cpu, on SwiftShader where there is no GPU (skipped, with the reason,
 * where SwiftShader is absent). Tolerance as test/webgpu.test.ts: float32 sums in another order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, swiftShaderIcd } from "../src/backend";
import { mlpDispatches } from "../src/kernels/webgpu/mlp";
import { createMlp } from "../src/models/mlp";
import { Rng } from "../src/rng";
import { Case, steps } from "./mlpSteps";

const skip = swiftShaderIcd() === null && !process.env.VK_ICD_FILENAMES ? "no WebGPU adapter: SwiftShader (chromium-common) is not installed" : false;
if (skip) process.stderr.write(`# webgpu MLP tests skipped: ${skip}\n`);

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * scale, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

const CASES: Case[] = [
  { n: 7, H: 70, C: 3, B: 4, what: { labels: true } },
  { n: 7, H: 13, C: 2, B: 1, what: {} },
  { n: 7, H: 70, C: 3, B: 5, what: {} }, // two workgroups of units
  { n: 9, H: 6, C: 2, B: 8, what: { tap: "hidden" } },
  { n: 9, H: 11, C: 2, B: 3, what: { tap: "hiddenPre", dim: 4 } },
];

test("WebGPU: the fused MLP step equals the reference path on cpu, output and tap modes", { skip }, async () => {
  for (const c of CASES) {
    const ref = await steps(c, "cpu");
    const got = await steps(c, "webgpu");
    const what = `n ${c.n} H ${c.H} C ${c.C} B ${c.B} ${c.what.tap ?? "output"}${c.what.dim ? ` dim ${c.what.dim}` : ""}`;
    close(got.losses, ref.losses, `${what}: loss`);
    got.weights.forEach((w, i) => close(w, ref.weights[i], `${what}: weight ${i}`));
  }
});

test("WebGPU: one fused step is 3 dispatches, one kernel, and leaks nothing", { skip }, async () => {
  await initBackend("webgpu");
  const m = createMlp({ inputDim: 10, width: 300, outputDim: 2 }, new Rng("dispatch"));
  const x = tf.tensor2d([Array.from({ length: 10 }, (_, i) => (i % 2 ? 1 : -1))]);
  const t = tf.tensor2d([[0.3, 0.7]]);
  tf.tidy(() => m.sgdStep!(x, t, 0.1)!).dispose(); // warm-up: pipelines compiled
  const n0 = tf.memory().numTensors;
  const d0 = mlpDispatches;
  const prof = await tf.profile(async () => {
    const loss = tf.tidy(() => m.sgdStep!(x, t, 0.1)!);
    await loss.data();
    loss.dispose();
  });
  assert.equal(mlpDispatches - d0, 3);
  assert.deepEqual(prof.kernels.map((k) => k.name), ["CdMlpStep"]);
  assert.equal(tf.memory().numTensors, n0);
  tf.dispose([x, t]);
  m.dispose();
});

test("WebGPU: inputs that tfjs-webgpu keeps in an int buffer (a float32 cast of int data) are converted, not read as float bits", { skip }, async () => {
  await initBackend("webgpu");
  const run = async (cast: boolean) => {
    const m = createMlp({ inputDim: 6, width: 20, outputDim: 2 }, new Rng("int-buffer"));
    const bits = [1, -1, -1, 1, 1, -1];
    const x = cast ? tf.tidy(() => tf.cast(tf.tensor2d([bits], [1, 6], "int32"), "float32")) : tf.tensor2d([bits]);
    const t = tf.tensor2d([[0.25, 0.75]]);
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) {
      const loss = tf.tidy(() => m.sgdStep!(x, t, 0.1)!);
      losses.push((await loss.data())[0]); // WebGPU in Node has no synchronous read
      loss.dispose();
    }
    const w = await Promise.all(m.variables.map(async (v) => Array.from(await v.data())));
    tf.dispose([x, t]);
    m.dispose();
    return { losses, w };
  };
  const n0 = tf.memory().numTensors;
  const plain = await run(false);
  const cast = await run(true);
  assert.deepEqual(cast, plain);
  assert.equal(tf.memory().numTensors, n0, "no tensor left, the converted temporaries included");
});
