import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/rng";
import {
  createTransformer, parameterCount, TransformerConfig,
} from "../src/models/transformer";
import { WASM_KERNELS, WasmKernels, setWasmKernels, withWasmKernels } from "./nativeHelpers";

const TINY: TransformerConfig = { vocabSize: 7, seqLen: 6, dModel: 8, nHeads: 2, nLayers: 2, head: "classify", numClasses: 3 };

function ids(rng: Rng, batch: number, seq: number, vocab: number): tf.Tensor2D {
  return tf.tensor2d(Int32Array.from({ length: batch * seq }, () => rng.int(vocab)), [batch, seq], "int32");
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

/** Mean cross-entropy of logits against labels, the loss the gradient tests differentiate. */
function xent(logits: tf.Tensor, labels: tf.Tensor1D, classes: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), logits.reshape([-1, classes])) as tf.Scalar;
}

test("attention block matches a hand computation (dModel 2, one head), with and without a [PAD] key", async () => {
  await initBackend("cpu");
  const m = createTransformer({ vocabSize: 2, seqLen: 2, dModel: 2, nHeads: 1, nLayers: 1, mlpRatio: 1, head: "lm" }, new Rng("hand"));
  const w = m.snapshot();
  const set = (name: string, values: number[]) => {
    assert.ok(w[name], `snapshot has ${name}`);
    w[name].dispose();
    w[name] = tf.tensor(values, w[name].shape);
  };
  set("tokEmb", [1, 0, 0, 1]);
  set("posEmb", [0, 0, 0, 0]);
  set("block1/attn/q/w", [1, 0, 0, 2]); // [in, out]: q = a @ Wq
  set("block1/attn/q/b", [0, 0]);
  set("block1/attn/k/w", [1, 0, 0, 1]);
  set("block1/attn/k/b", [0, 0]);
  set("block1/attn/v/w", [1, 2, 3, 4]);
  set("block1/attn/v/b", [0.5, 0]);
  set("block1/attn/o/w", [1, 0, 0, 1]);
  set("block1/attn/o/b", [0, 0]);
  set("block1/mlp/fc1/w", [0, 0, 0, 0]);
  set("block1/mlp/fc1/b", [0, 0]);
  set("block1/mlp/fc2/w", [0, 0, 0, 0]);
  set("block1/mlp/fc2/b", [0.25, -0.25]); // the MLP branch then adds a constant
  m.load(w);
  Object.values(w).forEach((t) => t.dispose());

  // By hand. Embeddings e0 = [1, 0], e1 = [0, 1]. LayerNorm of [1, 0]: mean 0.5, variance 0.25, so
  // n0 = [s, -s] with s = 0.5 / sqrt(0.25 + 1e-5); n1 = -n0.
  const s = 0.5 / Math.sqrt(0.25 + 1e-5);
  const n = [[s, -s], [-s, s]];
  const q = n.map(([a, b]) => [a, 2 * b]);
  const k = n;
  const v = n.map(([a, b]) => [a * 1 + b * 3 + 0.5, a * 2 + b * 4]);
  const e = [[1, 0], [0, 1]];
  const expected = (keys: number[]) =>
    [0, 1].flatMap((i) => {
      const sc = keys.map((j) => (q[i][0] * k[j][0] + q[i][1] * k[j][1]) / Math.sqrt(2));
      const z = sc.map((x) => Math.exp(x));
      const p = z.map((x) => x / z.reduce((a, b) => a + b, 0));
      const att = [0, 1].map((c) => keys.reduce((acc, j, r) => acc + p[r] * v[j][c], 0));
      return [e[i][0] + att[0] + 0.25, e[i][1] + att[1] - 0.25];
    });
  // Sanity of the hand numbers themselves: query 0 prefers key 0 (score 3 s^2 / sqrt 2 vs -3 s^2 / sqrt 2).
  const x = tf.tensor2d([[0, 1]], [1, 2], "int32");
  const full = m.forward(x, { taps: ["block1"] }).taps.block1;
  assertClose(full.dataSync(), expected([0, 1]), 1e-5, "block1, both keys");
  const masked = m.forward(x, { taps: ["block1"], padMask: tf.tensor2d([[1, 0]]) }).taps.block1;
  assertClose(masked.dataSync(), expected([0]), 1e-5, "block1, key 1 is [PAD]");
  assert.ok(maxAbsDiff(full, masked) > 0.1, "the mask changes the output");
  m.dispose();
});

test("output shapes for both heads, taps in order with shape [batch, seq, dModel]", async () => {
  await initBackend("cpu");
  const rng = new Rng("shapes");
  const cls = createTransformer(TINY, rng.derive("a"));
  assert.deepEqual(cls.tapNames, ["embed", "block1", "block2"]);
  assert.equal(cls.tapDim("block2"), 8);
  assert.throws(() => cls.tapDim("block3"), /unknown tap "block3"/);
  const x = ids(rng, 3, 5, 7); // shorter than seqLen
  const r = cls.forward(x, { taps: ["block2", "embed"] });
  assert.deepEqual(r.logits.shape, [3, 3]);
  assert.deepEqual(Object.keys(r.taps).sort(), ["block2", "embed"]);
  for (const t of Object.values(r.taps)) assert.deepEqual(t.shape, [3, 5, 8]);
  assert.deepEqual(Object.keys(cls.forward(x).taps), []);
  // Taps are successive residual streams: each differs from the one before.
  const all = cls.forward(x, { taps: cls.tapNames });
  assert.deepEqual(Object.keys(all.taps), ["embed", "block1", "block2"]);
  assert.ok(maxAbsDiff(all.taps.embed, all.taps.block1) > 1e-3 && maxAbsDiff(all.taps.block1, all.taps.block2) > 1e-3);

  for (const tiedEmbeddings of [false, true]) {
    const lm = createTransformer({ ...TINY, head: "lm", numClasses: undefined, tiedEmbeddings }, rng.derive("lm", String(tiedEmbeddings)));
    assert.deepEqual(lm.forward(x).logits.shape, [3, 5, 7]);
    // logitPositions: the same logits at the chosen flat positions.
    const at = tf.tensor1d([0, 7, 14], "int32");
    const some = lm.forward(x, { logitPositions: at }).logits;
    assert.deepEqual(some.shape, [3, 7]);
    assert.ok(maxAbsDiff(some, tf.gather(lm.forward(x).logits.reshape([15, 7]), at)) < 1e-5);
    assert.equal(lm.variables.some((v) => v.name.endsWith("/head/w")), !tiedEmbeddings);
    lm.dispose();
  }
  assert.throws(() => cls.forward(tf.zeros([2, 7], "int32")), /exceeds seqLen 6/);
  assert.throws(() => cls.forward(tf.zeros([2, 3])), /must be int32/);
  cls.dispose();
});

test("config validation quotes the bad value; defaults are filled in", () => {
  assert.throws(() => createTransformer({ ...TINY, nHeads: 3 }, new Rng("v")), /dModel 8 is not divisible by nHeads 3/);
  assert.throws(() => createTransformer({ ...TINY, numClasses: undefined }, new Rng("v")), /numClasses must be a positive integer/);
  assert.throws(() => createTransformer({ ...TINY, dropout: 1 }, new Rng("v")), /dropout must be in \[0, 1\), got 1/);
  assert.throws(() => createTransformer({ ...TINY, dModl: 8 } as unknown as TransformerConfig, new Rng("v")), /unknown config key "dModl"/);
  const m = createTransformer(TINY, new Rng("v"));
  assert.equal(m.config.mlpRatio, 4);
  assert.equal(m.config.layerNormEps, 1e-5);
  assert.equal(m.config.activation, "gelu_tanh");
  // emb 7*8 + pos 6*8; per block 2 LN (32) + 4 attn (4*72) + fc1 (8*32+32) + fc2 (32*8+8); lnF 16; head 8*3+3.
  assert.equal(parameterCount(m), 56 + 48 + 2 * (32 + 288 + 288 + 264) + 16 + 27);
  m.dispose();
});

test("variablesUpTo: embeddings, then blocks 1..l; never the final LayerNorm or head", () => {
  const m = createTransformer(TINY, new Rng("upto"));
  const names = (tap: string) => m.variablesUpTo(tap).map((v) => v.name.slice(v.name.indexOf("/") + 1));
  assert.deepEqual(names("embed"), ["tokEmb", "posEmb"]);
  const b1 = names("block1");
  assert.equal(b1.length, 2 + 16);
  assert.ok(b1.slice(2).every((n) => n.startsWith("block1/")));
  const b2 = names("block2");
  assert.deepEqual(b2.slice(0, 18), b1);
  assert.ok(b2.slice(18).every((n) => n.startsWith("block2/")) && b2.length === 34);
  assert.ok(!b2.some((n) => n.startsWith("lnF") || n.startsWith("head")));
  assert.equal(m.variables.length, 34 + 2 + 2);
  assert.throws(() => m.variablesUpTo("hidden"), /unknown tap "hidden"/);
  m.dispose();
});

test("padding mask: changing a [PAD] token changes no other position's output", async () => {
  await initBackend("cpu");
  const m = createTransformer({ ...TINY, head: "lm", numClasses: undefined }, new Rng("pad"));
  const a = tf.tensor2d([[1, 2, 3, 4, 0], [5, 6, 1, 0, 0]], [2, 5], "int32");
  const b = tf.tensor2d([[1, 2, 3, 4, 6], [5, 6, 1, 3, 2]], [2, 5], "int32"); // different [PAD] contents
  const padMask = tf.tensor2d([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]]);
  const real = (t: tf.Tensor) => tf.concat([t.slice([0, 0, 0], [1, 4, 7]).reshape([4, 7]), t.slice([1, 0, 0], [1, 3, 7]).reshape([3, 7])]);
  const la = m.forward(a, { padMask }).logits;
  const lb = m.forward(b, { padMask }).logits;
  assert.ok(maxAbsDiff(real(la), real(lb)) < 1e-6, "real positions unchanged under the mask");
  assert.ok(maxAbsDiff(la, lb) > 1e-3, "the [PAD] positions themselves differ");
  const ua = m.forward(a).logits;
  const ub = m.forward(b).logits;
  assert.ok(maxAbsDiff(real(ua), real(ub)) > 1e-4, "without the mask, real positions see the [PAD] tokens");
  m.dispose();
});

test("init statistics: embeddings N(0, 0.02^2), Linear U(+-1/sqrt(fan_in)), LayerNorm 1/0, tied bias 0", () => {
  const m = createTransformer({ vocabSize: 2000, seqLen: 64, dModel: 32, nHeads: 2, nLayers: 1, head: "lm", tiedEmbeddings: true }, new Rng("init"));
  const get = (short: string) => {
    const v = m.variables.find((x) => x.name.endsWith(`/${short}`));
    assert.ok(v, short);
    return Array.from(v.dataSync());
  };
  const std = (a: number[]) => {
    const mu = a.reduce((s, v) => s + v, 0) / a.length;
    return Math.sqrt(a.reduce((s, v) => s + (v - mu) ** 2, 0) / a.length);
  };
  const tok = get("tokEmb");
  assert.ok(Math.abs(std(tok) - 0.02) < 0.0005, `tokEmb std ${std(tok)}`);
  assert.ok(Math.abs(std(get("posEmb")) - 0.02) < 0.002, `posEmb std ${std(get("posEmb"))}`);
  for (const [name, fanIn] of [["block1/attn/q/w", 32], ["block1/mlp/fc1/w", 32], ["block1/mlp/fc2/w", 128], ["block1/mlp/fc2/b", 128]] as const) {
    const a = get(name);
    const bound = 1 / Math.sqrt(fanIn);
    const maxAbs = Math.max(...a.map(Math.abs));
    assert.ok(maxAbs <= bound && maxAbs > 0.9 * bound, `${name}: max |w| ${maxAbs}, bound ${bound}`);
    if (a.length > 1000) assert.ok(Math.abs(std(a) - bound / Math.sqrt(3)) < 0.05 * bound, `${name} std ${std(a)}`);
  }
  assert.ok(get("block1/ln1/gamma").every((v) => v === 1) && get("block1/ln1/beta").every((v) => v === 0));
  assert.ok(get("head/b").every((v) => v === 0));
  // Different seeds give different weights; the same seed the same.
  const again = createTransformer({ vocabSize: 2000, seqLen: 64, dModel: 32, nHeads: 2, nLayers: 1, head: "lm", tiedEmbeddings: true }, new Rng("init"));
  assert.deepEqual(Array.from(again.variables[0].dataSync()), tok);
  m.dispose();
  again.dispose();
});

test("wasm and cpu agree on logits and on gradients of a cross-entropy (same weights)", async () => {
  const rng = new Rng("parity");
  const cases: Array<[string, TransformerConfig]> = [
    ["classify", TINY],
    ["lm tied", { vocabSize: 80, seqLen: 6, dModel: 8, nHeads: 2, nLayers: 2, head: "lm", tiedEmbeddings: true, activation: "gelu" }],
  ];
  for (const [name, cfg] of cases) {
    await initBackend("cpu");
    const m = createTransformer(cfg, rng.derive(name));
    const x = ids(rng, 4, 6, cfg.vocabSize);
    const padMask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]);
    const classes = cfg.head === "lm" ? cfg.vocabSize : cfg.numClasses!;
    const labels = tf.tensor1d(Int32Array.from({ length: cfg.head === "lm" ? 24 : 4 }, () => rng.int(classes)), "int32");
    const run = () => {
      const logits = m.forward(x, { padMask }).logits;
      const { value, grads } = tf.variableGrads(() => xent(m.forward(x, { padMask }).logits, labels, classes), [...m.variables]);
      return { logits: logits.dataSync(), loss: value.dataSync()[0], grads: m.variables.map((v) => grads[v.name].dataSync()) };
    };
    const onCpu = run();
    await initBackend("wasm");
    for (const kernels of WASM_KERNELS) {
      const onWasm = withWasmKernels(kernels, run);
      assertClose(onWasm.logits, onCpu.logits, 1e-4, `${name} logits (${kernels})`);
      assert.ok(Math.abs(onWasm.loss - onCpu.loss) < 1e-4, `${name} loss (${kernels})`);
      let nonZero = 0;
      onCpu.grads.forEach((gc, i) => {
        const scale = Math.max(1e-3, ...Array.from(gc, Math.abs));
        assertClose(onWasm.grads[i], gc, 1e-3 * scale, `${name} grad ${m.variables[i].name} (${kernels})`);
        if (gc.some((v) => v !== 0)) nonZero++;
      });
      assert.equal(nonZero, m.variables.length, `${name}: every variable gets a gradient (${kernels})`);
    }
    m.dispose();
  }
  await initBackend("cpu");
});

test("snapshot/load round trip into a fresh instance; shape mismatches are named", async () => {
  await initBackend("cpu");
  const a = createTransformer(TINY, new Rng("snap-a"));
  const b = createTransformer(TINY, new Rng("snap-b"));
  const x = ids(new Rng("snap-x"), 2, 6, 7);
  assert.ok(maxAbsDiff(a.forward(x).logits, b.forward(x).logits) > 1e-4);
  const snap = a.snapshot();
  assert.equal(Object.keys(snap).length, a.variables.length);
  b.load(snap);
  assert.equal(maxAbsDiff(a.forward(x).logits, b.forward(x).logits), 0);
  // The snapshot is a copy: changing a afterwards does not change it.
  a.variables[0].assign(tf.zerosLike(a.variables[0]));
  assert.ok(maxAbsDiff(snap.tokEmb, a.variables[0]) > 0);
  const wide = createTransformer({ ...TINY, dModel: 16 }, new Rng("snap-c"));
  assert.throws(() => wide.load(snap), /weight "tokEmb" has shape \[7,8\], expected \[7,16\]/);
  Object.values(snap).forEach((t) => t.dispose());
  [a, b, wide].forEach((m) => m.dispose());
});

test("dropout: off when not training (repeatable), on and fresh per call when training", async () => {
  await initBackend("cpu");
  const m = createTransformer({ ...TINY, dropout: 0.3 }, new Rng("drop"));
  const x = ids(new Rng("drop-x"), 4, 6, 7);
  const e1 = m.forward(x).logits;
  const e2 = m.forward(x).logits;
  assert.equal(maxAbsDiff(e1, e2), 0);
  const t1 = m.forward(x, { training: true, taps: ["embed"] });
  const t2 = m.forward(x, { training: true }).logits;
  assert.ok(maxAbsDiff(t1.logits, e1) > 1e-4 && maxAbsDiff(t1.logits, t2) > 1e-4);
  // About 30% of the embedding entries are zeroed, the rest scaled by 1 / 0.7.
  const plain = m.forward(x, { taps: ["embed"] }).taps.embed.dataSync();
  const dropped = t1.taps.embed.dataSync();
  let zeros = 0;
  dropped.forEach((v, i) => {
    if (v === 0) zeros++;
    else assert.ok(Math.abs(v - plain[i] / 0.7) < 1e-6);
  });
  assert.ok(zeros / dropped.length > 0.2 && zeros / dropped.length < 0.4, `dropped fraction ${zeros / dropped.length}`);
  // Same seed, same masks: runs repeat.
  const m2 = createTransformer({ ...TINY, dropout: 0.3 }, new Rng("drop"));
  m2.forward(x, { training: true });
  assert.equal(maxAbsDiff(m2.forward(x, { training: true }).logits, t2), 0);
  m.dispose();
  m2.dispose();
});

test("no tensor leak: a forward + gradient step in tf.tidy leaves numTensors unchanged", async () => {
  const combos: Array<[string, WasmKernels]> = [["cpu", "native"], ...WASM_KERNELS.map((k): [string, WasmKernels] => ["wasm", k])];
  for (const [backend, kernels] of combos) {
    await initBackend(backend);
    if (backend === "wasm") setWasmKernels(kernels);
    const m = createTransformer({ ...TINY, dropout: 0.1, head: "lm", numClasses: undefined, tiedEmbeddings: true }, new Rng("leak"));
    const x = ids(new Rng("leak-x"), 3, 6, 7);
    const labels = tf.tensor1d(Int32Array.from({ length: 18 }, (_, i) => i % 7), "int32");
    const padMask = tf.ones([3, 6]);
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => xent(m.forward(x, { training: true, padMask, taps: ["block1"] }).logits, labels, 7),
          [...m.variables],
        );
        m.variables.forEach((v) => v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01))));
        return value;
      }).dispose();
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    assert.equal(tf.memory().numTensors, before, `${backend} (${kernels}): numTensors`);
    m.dispose();
    x.dispose();
    labels.dispose();
    padMask.dispose();
  }
  await initBackend("cpu");
});

test("forwardTaps computes nothing past the deepest tap: same kernels as a model that ends there, same values as forward", async () => {
  await initBackend("wasm");
  const cfg = (layers: number): TransformerConfig => ({ vocabSize: 50, seqLen: 6, dModel: 8, nHeads: 2, nLayers: layers, head: "lm", tiedEmbeddings: true });
  const deep = createTransformer(cfg(4), new Rng("taps-deep"));
  const shallow = createTransformer(cfg(1), new Rng("taps-shallow"));
  const x = ids(new Rng("taps-x"), 3, 6, 50);
  const kernels = async (f: () => tf.Tensor[]) => (await tf.profile(() => f())).kernels.length;
  const early = await kernels(() => Object.values(deep.forwardTaps(x, ["block1"])));
  assert.equal(early, await kernels(() => Object.values(shallow.forwardTaps(x, ["block1"]))), "block1 of a 4-block model costs what a 1-block model costs");
  assert.ok(early < (await kernels(() => [deep.forward(x, { taps: ["block1"] }).logits])) / 3, "far fewer kernels than the full forward");
  assert.equal(await kernels(() => Object.values(deep.forwardTaps(x, ["embed"]))), await kernels(() => Object.values(shallow.forwardTaps(x, ["embed"]))));
  // Values: the taps equal the full forward's.
  const full = deep.forward(x, { taps: ["embed", "block2"] }).taps;
  const part = deep.forwardTaps(x, ["embed", "block2"]);
  assert.deepEqual(Object.keys(part).sort(), ["block2", "embed"]);
  for (const k of ["embed", "block2"]) assert.equal(maxAbsDiff(part[k], full[k]), 0, k);
  // The head and later blocks get no gradient through forwardTaps.
  const { grads } = tf.variableGrads(() => tf.sum(tf.square(deep.forwardTaps(x, ["block2"]).block2)) as tf.Scalar, [...deep.variablesUpTo("block2")]);
  assert.equal(Object.keys(grads).length, deep.variablesUpTo("block2").length);
  assert.throws(() => tf.variableGrads(() => tf.sum(deep.forwardTaps(x, ["block2"]).block2) as tf.Scalar, deep.variables.filter((v) => /block[34]|head|lnF/.test(v.name))), /connection|gradient/i);
  deep.dispose();
  shallow.dispose();
  await initBackend("cpu");
});
