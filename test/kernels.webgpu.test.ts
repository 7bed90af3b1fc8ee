/**
 * The wgsl kernel layer (src/kernels/webgpu/) against the cpu backend's composites
 * (src/ops/composite.ts): every fused op of src/ops, values and gradients, at the experiments'
 * shapes (parity transformer 64 x 20 tokens, 8 heads of 8; masked LM 64 x 64 tokens, 4 heads of 32,
 * vocabulary 8,000) and at odd ones (lengths that fill no workgroup, one head, a padded batch,
 * repeated ids); and the fused optimisers over 70 variables, more than any shader can bind.
 * On machines without a GPU this runs on SwiftShader (software Vulkan from Debian's
 * chromium-common); where SwiftShader is absent it is skipped with the reason printed.
 *
 * Tolerance: 2e-4 of the largest magnitude of each compared quantity (float32, different summation
 * orders; the GPU's exp differs from the cpu backend's in the last bits).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, swiftShaderIcd } from "../src/backend";
import { activeLayers, fusedActive, fusedKernel } from "../src/kernels";
import { WGSL_KERNELS } from "../src/kernels/webgpu";
import * as ops from "../src/ops";
import { Rng } from "../src/rng";
import { createOptimizer, OptimizerSpec } from "../src/train/optimizers";

const TOL = 2e-4;
const skip = swiftShaderIcd() === null && !process.env.VK_ICD_FILENAMES ? "no WebGPU adapter: SwiftShader (chromium-common) is not installed" : false;
if (skip) process.stderr.write(`# wgsl kernel tests skipped: ${skip}\n`);

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = TOL): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1e-3;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol * scale, `${what}[${i}]: ${got[i]} vs ${want[i]} (scale ${scale})`);
  }
}

type Inputs = Record<string, { shape: number[]; values: Float32Array | Int32Array; dtype: "float32" | "int32" }>;
/** An op under test: from tensors made from `inputs`, the value and the gradients w.r.t. `wrt`. */
interface Case {
  name: string;
  inputs: Inputs;
  wrt: string[];
  f: (t: Record<string, tf.Tensor>) => tf.Tensor;
  tol?: number;
}

/** Value and gradients (of sum(value * fixed weights)) on the backend in use, read back. */
async function evaluate(c: Case): Promise<Float32Array[]> {
  const t: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) t[k] = tf.tensor(v.values, v.shape, v.dtype);
  const out = tf.tidy(() => {
    const y = c.f(t);
    // A fixed, non-uniform upstream gradient, made on the host (a GPU's sin of large arguments is coarse).
    const w = tf.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.sin(i * 0.37)), y.shape);
    const g = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(c.f({ ...t, ...Object.fromEntries(c.wrt.map((k, i) => [k, xs[i]])) }), w)));
    return [y, ...(c.wrt.length ? g(c.wrt.map((k) => t[k])) : [])];
  });
  const vals = await Promise.all(out.map(async (x) => Float32Array.from(await x.data())));
  tf.dispose([...out, ...Object.values(t)]);
  return vals;
}

const rng = new Rng("wgsl-kernels");
const normal = (n: number, s = 1) => rng.normalArray(n, s);
const f32 = (shape: number[], s = 1) => ({ shape, values: normal(shape.reduce((a, b) => a * b, 1), s), dtype: "float32" as const });
const ids = (n: number, rows: number) => ({ shape: [n], values: Int32Array.from({ length: n }, () => rng.int(rows)), dtype: "int32" as const });
/** A pad mask [B, T]: row b keeps T - (b % 4) real tokens (at least one). */
const padMask = (B: number, T: number) => ({ shape: [B, T], values: Float32Array.from({ length: B * T }, (_, i) => (i % T < Math.max(1, T - ((i / T) | 0) % 4) ? 1 : 0)), dtype: "float32" as const });
/** Soft targets: a softmax of random logits per row. */
function soft(rows: number, c: number) {
  const v = normal(rows * c, 2);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += v[r * c + j] = Math.exp(v[r * c + j]);
    for (let j = 0; j < c; j++) v[r * c + j] /= s;
  }
  return { shape: [rows, c], values: v, dtype: "float32" as const };
}

function attentionCase(name: string, B: number, T: number, d: number, H: number, masked: boolean): Case {
  return {
    name: `attention ${name} (B ${B}, T ${T}, d ${d}, ${H} heads${masked ? ", pad mask" : ""})`,
    inputs: { q: f32([B * T, d]), k: f32([B * T, d]), v: f32([B * T, d]), ...(masked ? { mask: padMask(B, T) } : {}) },
    wrt: ["q", "k", "v"],
    f: (t) => ops.attention(t.q as tf.Tensor2D, t.k as tf.Tensor2D, t.v as tf.Tensor2D, B, T, H, masked ? (t.mask as tf.Tensor2D) : null),
  };
}

const CASES: Case[] = [
  attentionCase("parity teacher", 64, 20, 64, 8, false),
  attentionCase("masked LM teacher", 64, 64, 128, 4, true),
  attentionCase("odd", 3, 7, 12, 3, true),
  attentionCase("one head", 2, 5, 6, 1, false),
  { name: "layerNorm [1280, 64]", inputs: { x: f32([1280, 64], 3), g: f32([64]), b: f32([64]) }, wrt: ["x", "g", "b"], f: (t) => ops.layerNorm(t.x as tf.Tensor2D, t.g as tf.Tensor1D, t.b as tf.Tensor1D, 1e-5) },
  { name: "layerNorm odd [37, 5]", inputs: { x: f32([37, 5]), g: f32([5]), b: f32([5]) }, wrt: ["x", "g", "b"], f: (t) => ops.layerNorm(t.x as tf.Tensor2D, t.g as tf.Tensor1D, t.b as tf.Tensor1D, 1e-5) },
  { name: "layerNorm parameter-free [33, 16]", inputs: { x: f32([33, 16], 2) }, wrt: [], f: (t) => ops.layerNorm(t.x as tf.Tensor2D, null, null, 1e-5) },
  { name: "gelu [1280, 256]", inputs: { x: f32([1280, 256], 3) }, wrt: ["x"], f: (t) => ops.geluTanh(t.x) },
  { name: "gelu odd [3, 7, 11]", inputs: { x: f32([3, 7, 11], 4) }, wrt: ["x"], f: (t) => ops.geluTanh(t.x) },
  { name: "soft cross-entropy [614, 8000] (masked-LM head)", inputs: { z: f32([614, 8000], 3), y: soft(614, 8000) }, wrt: ["z"], f: (t) => ops.softCrossEntropyRows(t.z as tf.Tensor2D, t.y as tf.Tensor2D) },
  { name: "soft cross-entropy odd [5, 3]", inputs: { z: f32([5, 3], 3), y: soft(5, 3) }, wrt: ["z"], f: (t) => ops.softCrossEntropyRows(t.z as tf.Tensor2D, t.y as tf.Tensor2D) },
  { name: "embedding [8000, 128] x 4096 ids", inputs: { table: f32([8000, 128]), ids: ids(4096, 8000) }, wrt: ["table"], f: (t) => ops.embeddingLookup(t.table as tf.Tensor2D, t.ids as tf.Tensor1D) },
  { name: "embedding odd [3, 5] x 77 repeated ids", inputs: { table: f32([3, 5]), ids: ids(77, 3) }, wrt: ["table"], f: (t) => ops.embeddingLookup(t.table as tf.Tensor2D, t.ids as tf.Tensor1D) },
  { name: "embedding (one-hot size) [2, 64] x 1280", inputs: { table: f32([2, 64]), ids: ids(1280, 2) }, wrt: ["table"], f: (t) => ops.embeddingLookup(t.table as tf.Tensor2D, t.ids as tf.Tensor1D) },
  { name: "column sum [1280, 64]", inputs: { x: f32([1280, 64]) }, wrt: ["x"], f: (t) => ops.columnSum(t.x) },
  { name: "linear [1280, 64] x [64, 256] + b", inputs: { x: f32([1280, 64]), w: f32([64, 256], 0.1), b: f32([256]) }, wrt: ["x", "w", "b"], f: (t) => ops.linear(t.x as tf.Tensor2D, t.w as tf.Tensor2D, t.b as tf.Tensor1D) },
  { name: "linear tied [614, 128] x [8000, 128]^T + b", inputs: { x: f32([614, 128]), w: f32([8000, 128], 0.1), b: f32([8000]) }, wrt: ["x", "w", "b"], f: (t) => ops.linear(t.x as tf.Tensor2D, t.w as tf.Tensor2D, t.b as tf.Tensor1D, true) },
  { name: "linear odd [7, 3] x [3, 5] + b", inputs: { x: f32([7, 3]), w: f32([3, 5]), b: f32([5]) }, wrt: ["x", "w", "b"], f: (t) => ops.linear(t.x as tf.Tensor2D, t.w as tf.Tensor2D, t.b as tf.Tensor1D) },
];

test("wgsl: the layer is installed on webgpu and the ops take the fused path", { skip }, async () => {
  await initBackend("webgpu");
  assert.deepEqual(activeLayers("webgpu"), ["wgsl"]);
  assert.ok(fusedActive());
  for (const k of WGSL_KERNELS) assert.ok(fusedKernel(k), `${k} registered`);
  // One attention forward is one CdAttention kernel, not the composite's reshapes, products and softmax.
  const q = tf.randomNormal([8 * 5, 6]) as tf.Tensor2D;
  const prof = await tf.profile(() => {
    tf.dispose(ops.attention(q, q, q, 8, 5, 2));
  });
  const names = prof.kernels.map((k) => k.name);
  assert.ok(names.includes("CdAttention") && !names.includes("Softmax") && !names.includes("BatchMatMul"), names.join(", "));
  q.dispose();
  await initBackend("cpu");
  assert.ok(!fusedActive() && !fusedKernel("CdAttention"));
});

for (const c of CASES) {
  test(`wgsl equals cpu: ${c.name}, value and gradients`, { skip }, async () => {
    await initBackend("cpu");
    const want = await evaluate(c);
    await initBackend("webgpu");
    const before = tf.memory().numTensors;
    const got = await evaluate(c);
    assert.equal(tf.memory().numTensors, before, "no tensors leaked");
    assertClose(got[0], want[0], `${c.name} value`, c.tol);
    c.wrt.forEach((k, i) => assertClose(got[i + 1], want[i + 1], `${c.name} d/d${k}`, c.tol));
    await initBackend("cpu");
  });
}

/** Two optimiser steps over 70 variables of mixed ranks and sizes; returns the variables after. */
async function optimise(spec: OptimizerSpec): Promise<Float32Array[]> {
  const r = new Rng("wgsl-opt");
  const shapes = Array.from({ length: 70 }, (_, i) => (i % 3 === 0 ? [3 + (i % 7), 5] : i === 1 ? [300, 17] : [1 + (i % 11)]));
  const vars = shapes.map((s, i) => tf.variable(tf.tensor(r.normalArray(s.reduce((a, b) => a * b, 1), 1), s), true, `wgsl-opt/v${i}-${Math.random()}`));
  const opt = createOptimizer(spec);
  for (let step = 0; step < 2; step++) {
    const grads: Record<string, tf.Tensor> = {};
    vars.forEach((v, i) => (grads[v.name] = tf.tensor(r.normalArray(v.size, 1 + i / 10), v.shape)));
    tf.tidy(() => opt.apply(vars, grads));
    tf.dispose(Object.values(grads));
  }
  const out = await Promise.all(vars.map(async (v) => Float32Array.from(await v.data())));
  opt.dispose();
  vars.forEach((v) => v.dispose());
  return out;
}

const OPTIMISERS: Array<[string, OptimizerSpec]> = [
  ["AdamW with clipping (the masked-LM reference's)", { kind: "adam", lr: 1e-2, beta1: 0.9, beta2: 0.98, weightDecay: 0.01, clipNorm: 1 }],
  ["Adam without clipping", { kind: "adam", lr: 1e-3 }],
  ["SGD with clipping", { kind: "sgd", lr: 0.1, clipNorm: 0.5 }],
];

for (const [name, spec] of OPTIMISERS) {
  test(`wgsl equals cpu: ${name}, 70 variables (more than one shader's storage buffers), two steps`, { skip }, async () => {
    await initBackend("cpu");
    const want = await optimise(spec);
    await initBackend("webgpu");
    assert.ok(fusedKernel(spec.kind === "adam" ? "CdAdam" : "CdSgd"));
    const got = await optimise(spec);
    want.forEach((w, i) => assertClose(got[i], w, `${name} variable ${i}`, 1e-4));
    await initBackend("cpu");
  });
}
