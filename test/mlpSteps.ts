/** Shared by the fused-MLP-step tests: a few SGD steps, fused (any backend with the kernel) or by the reference path (cpu). */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { createMlp } from "../src/models/mlp";
import { mlpKernelActive } from "../src/ops/mlp";
import { Rng } from "../src/rng";

export type What = { tap?: "hidden" | "hiddenPre"; dim?: number; labels?: boolean };
export interface Case {
  n: number;
  H: number;
  C: number;
  B: number;
  what: What;
}

function batch(c: Case, seed: number): { x: Float32Array; t: Float32Array; labels: Int32Array } {
  const r = new Rng(`batch-${seed}`);
  const x = Float32Array.from({ length: c.B * c.n }, () => (r.next() < 0.5 ? -1 : 1));
  const cols = c.what.tap === undefined ? c.C : (c.what.dim ?? c.H);
  const t = new Float32Array(c.B * cols);
  for (let b = 0; b < c.B; b++) {
    if (c.what.tap === undefined) {
      // A target distribution per row (soft labels).
      const raw = Array.from({ length: c.C }, () => r.next() + 0.05);
      const sum = raw.reduce((p, q) => p + q, 0);
      raw.forEach((v, k) => (t[b * c.C + k] = v / sum));
    } else for (let k = 0; k < cols; k++) t[b * cols + k] = 2 * r.next() - 0.5;
  }
  // Class ids (labels mode): the reference trains on their one-hot rows.
  const labels = Int32Array.from({ length: c.B }, () => Math.floor(r.next() * c.C));
  if (c.what.labels) {
    t.fill(0);
    labels.forEach((l, b) => (t[b * c.C + l] = 1));
  }
  return { x, t, labels };
}

/** Three steps on the given backend; the fused kernel on wasm, the reference on cpu. */
export async function steps(c: Case, backend: "cpu" | "wasm" | "webgpu"): Promise<{ losses: number[]; weights: Float32Array[] }> {
  await initBackend(backend);
  const m = createMlp({ inputDim: c.n, width: c.H, outputDim: c.C }, new Rng(`mlp-${c.n}-${c.H}`));
  const lr = 0.05;
  const losses: number[] = [];
  for (let s = 0; s < 3; s++) {
    const { x, t, labels } = batch(c, s);
    const loss = tf.tidy(() => {
      const xs = tf.tensor2d(x, [c.B, c.n]);
      const ts = tf.tensor2d(t, [c.B, t.length / c.B]);
      if (backend !== "cpu") {
        assert.ok(mlpKernelActive());
        return m.sgdStep!(xs, c.what.labels ? tf.tensor1d(labels, "int32") : ts, lr, c.what)!;
      }
      const { value, grads } = c.what.tap === undefined ? m.outputGrads!(xs, ts) : m.tapGrads!(xs, c.what.tap, ts, c.what.dim ?? c.H);
      for (const v of m.variables) if (grads[v.name]) v.assign(tf.sub(v, tf.mul(grads[v.name], lr)));
      return value;
    });
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  const weights = await Promise.all(m.variables.map(async (v) => (await v.data()) as Float32Array));
  m.dispose();
  return { losses, weights };
}

