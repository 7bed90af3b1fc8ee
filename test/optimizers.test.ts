/**
 * The optimisers against hand-computed values and tf.train: SGD, Adam, AdamW (decay on matrices
 * only), the warmup-cosine schedule with its minimum factor, and global gradient-norm clipping.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { clipByGlobalNorm, createOptimizer, scheduleFactor } from "../src/train/optimizers";
import { assertClose, useBackend } from "./helpers";

const vec = (xs: number[], name: string) => tf.variable(tf.tensor1d(xs), true, `opt-test/${name}-${Math.random()}`);
const mat = (xs: number[], name: string) => tf.variable(tf.tensor2d(xs, [2, 2]), true, `opt-test/${name}-${Math.random()}`);

function step(opt: ReturnType<typeof createOptimizer>, vars: tf.Variable[], grads: number[][]): void {
  tf.tidy(() => opt.apply(vars, Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(grads[i], v.shape)]))));
}

test("SGD: w - lr g, by hand; equal to tf.train.sgd", async () => {
  await useBackend();
  const w = vec([1, -2], "sgd");
  const opt = createOptimizer({ kind: "sgd", lr: 0.5 });
  step(opt, [w], [[0.2, -0.4]]);
  assertClose(w.dataSync(), [1 - 0.1, -2 + 0.2], 1e-7);
  const ref = vec([1, -2], "sgd-ref");
  tf.train.sgd(0.5).applyGradients([{ name: ref.name, tensor: tf.tensor1d([0.2, -0.4]) }]);
  assertClose(ref.dataSync(), [0.9, -1.8], 1e-7);
  opt.dispose();
  w.dispose();
  ref.dispose();
});

test("Adam: two steps by hand (bias-corrected moments), and equal to tf.train.adam over ten", async () => {
  await useBackend();
  const [b1, b2, eps, lr] = [0.9, 0.999, 1e-8, 0.1];
  const w = vec([1, 2], "adam");
  const opt = createOptimizer({ kind: "adam", lr, beta1: b1, beta2: b2, eps });
  const g = [
    [0.5, -1],
    [0.25, 2],
  ];
  step(opt, [w], [g[0]]);
  step(opt, [w], [g[1]]);
  // By hand, per coordinate.
  const expect = [1, 2].map((w0, i) => {
    let m = 0;
    let v = 0;
    let x = w0;
    for (let t = 1; t <= 2; t++) {
      const gi = g[t - 1][i];
      m = b1 * m + (1 - b1) * gi;
      v = b2 * v + (1 - b2) * gi * gi;
      x -= (lr * (m / (1 - b1 ** t))) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
    }
    return x;
  });
  assertClose(w.dataSync(), expect, 1e-5); // float32
  // Against tfjs's own Adam (the same formula up to where eps is added).
  const a = vec([0.3, -0.7], "a");
  const r = vec([0.3, -0.7], "r");
  const mine = createOptimizer({ kind: "adam", lr: 0.01 });
  const theirs = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
  for (let t = 0; t < 10; t++) {
    const gr = [Math.sin(t), Math.cos(t)];
    step(mine, [a], [gr]);
    theirs.applyGradients([{ name: r.name, tensor: tf.tensor1d(gr) }]);
  }
  assertClose(a.dataSync(), r.dataSync(), 1e-5, "adam vs tf.train.adam");
  for (const t of [w, a, r]) t.dispose();
  mine.dispose();
  opt.dispose();
  theirs.dispose();
});

test("AdamW: decoupled weight decay on matrices only (lr * wd * w), by hand", async () => {
  await useBackend();
  const W = mat([1, 2, 3, 4], "W");
  const b = vec([1, 1], "b");
  const opt = createOptimizer({ kind: "adam", lr: 0.1, weightDecay: 0.5 });
  step(
    opt,
    [W, b],
    [
      [0, 0, 0, 0],
      [0, 0],
    ],
  );
  // Zero gradients: Adam's update is 0, so only the decay acts: W <- W - lr*wd*W; the bias keeps its value.
  assertClose(W.dataSync(), [0.95, 1.9, 2.85, 3.8], 1e-6);
  assertClose(b.dataSync(), [1, 1], 1e-7);
  for (const t of [W, b]) t.dispose();
  opt.dispose();
});

test("warmup then cosine to minFactor of the peak, by hand (the reference's lr_at)", () => {
  const s = { kind: "warmupCosine" as const, warmupSteps: 5, totalSteps: 105, minFactor: 0.1 };
  assertClose([scheduleFactor(s, 0), scheduleFactor(s, 4)], [1 / 5, 1], 1e-12);
  // t = warmup: the peak; halfway: min + (1 - min) / 2; the end and after: min.
  assertClose([scheduleFactor(s, 5), scheduleFactor(s, 55), scheduleFactor(s, 105), scheduleFactor(s, 500)], [1, 0.1 + 0.9 * 0.5, 0.1, 0.1], 1e-12);
  const at = 30;
  const prog = (at - 5) / 100;
  assertClose([scheduleFactor(s, at)], [0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * prog))], 1e-12);
  // Without minFactor: cosine to 0 (the existing presets).
  assertClose([scheduleFactor({ ...s, minFactor: undefined }, 105)], [0], 1e-12);
});

test("global-norm clipping: grads scaled by clip / (norm + 1e-6) only when the norm exceeds it, by hand", async () => {
  await useBackend();
  // Global norm of (3, 4) and (12): sqrt(9 + 16 + 144) = 13.
  const out = tf.tidy(() => clipByGlobalNorm([tf.tensor1d([3, 4]), tf.tensor1d([12])], 6.5).map((t) => Array.from(t.dataSync())));
  const k = 6.5 / (13 + 1e-6);
  assertClose(out.flat(), [3 * k, 4 * k, 12 * k], 1e-6);
  const under = tf.tidy(() => clipByGlobalNorm([tf.tensor1d([3, 4]), tf.tensor1d([12])], 20).map((t) => Array.from(t.dataSync())));
  assertClose(under.flat(), [3, 4, 12], 1e-7);
  // In the optimiser: SGD with clipping applies the clipped gradient.
  const w = vec([0, 0], "clip");
  const opt = createOptimizer({ kind: "sgd", lr: 1, clipNorm: 1 });
  step(opt, [w], [[3, 4]]);
  assertClose(w.dataSync(), [-3 / (5 + 1e-6), -4 / (5 + 1e-6)], 1e-6);
  // Adam with clipping: the clipped gradient's first step is still +-lr (Adam is scale-free), so
  // check the moment instead: m = (1 - b1) * clipped g.
  const a = vec([0, 0], "clip-adam");
  const adam = createOptimizer({ kind: "adam", lr: 0.1, clipNorm: 1 });
  step(adam, [a], [[3, 4]]);
  const m = Object.entries(adam.state()).find(([k]) => k.startsWith("m/"))![1];
  assertClose(m.dataSync(), [0.1 * (3 / (5 + 1e-6)), 0.1 * (4 / (5 + 1e-6))], 1e-6);
  assert.throws(() => createOptimizer({ kind: "sgd", lr: 1, clipNorm: -1 }), /clipNorm/);
  for (const t of [w, a]) t.dispose();
  opt.dispose();
  adam.dispose();
});
