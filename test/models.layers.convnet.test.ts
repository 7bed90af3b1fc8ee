/**
 * fromLayersModel on convnets: conv outputs (rank 4) are taps, projected on the channel axis with
 * pixels as positions; curriculum extraction's tap phases train on them; paired taps of different
 * spatial sizes are refused; a teacher whose last layer applies softmax gives its pre-activation as
 * logits (detected), probabilities can be declared, and probabilities are never taken as logits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { distill } from "../src/api";
import { initBackend } from "../src/backend";
import { shapesBatch } from "../src/data/shapes";
import { curriculumExtraction, defaultTapPairs } from "../src/distill/curriculumExtraction";
import { teacherProbs } from "../src/distill/losses";
import { Batch } from "../src/distill/phases";
import { layerNormTarget, randomProjection } from "../src/distill/projection";
import { mobileNetTeacher, smallConvnet } from "../src/models/convnets";
import { fromLayersModel, softmaxOutput } from "../src/models/layers";
import { Rng } from "../src/rng";

const values = (t: tf.Tensor) => Array.from(t.dataSync());
function close(a: number[], b: number[], tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${v} vs ${b[i]}`));
}

/** conv (stride 1) -> BN -> ReLU6 -> depthwise -> conv (stride 2) -> pool -> dense, named layers. */
function convnet(name: string, width: number, head: "logits" | "softmax" | "softmax-layer", seed = 1): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const input = tf.input({ shape: [8, 8, 3] });
  let h = tf.layers.conv2d({ name: "c1", filters: width, kernelSize: 3, padding: "same", kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: "bn1" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ name: "r1", maxValue: 6 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.depthwiseConv2d({ name: "dw", kernelSize: 3, padding: "same", depthwiseInitializer: init(2) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ name: "c2", filters: width, kernelSize: 1, strides: 2, kernelInitializer: init(3) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({ name: "pool" }).apply(h) as tf.SymbolicTensor;
  let out = tf.layers.dense({ name: "out", units: 4, activation: head === "softmax" ? "softmax" : "linear", kernelInitializer: init(4) }).apply(h) as tf.SymbolicTensor;
  if (head === "softmax-layer") out = tf.layers.activation({ name: "probs", activation: "softmax" }).apply(out) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name });
}

test("conv outputs are taps: default taps, shapes, values; the projection acts on channels, pixel by pixel", async () => {
  await initBackend("wasm");
  const m = convnet("taps", 6, "logits");
  const t = fromLayersModel(m);
  assert.deepEqual(t.tapNames, ["c1", "bn1", "r1", "dw", "c2", "pool"]);
  assert.equal(t.tapDim("c2"), 6);
  assert.deepEqual(t.tapShape!("c2"), [4, 4, 6]);
  const x = tf.randomNormal([3, 8, 8, 3], 0, 1, "float32", 2);
  const ref = tf.model({ inputs: m.inputs, outputs: m.getLayer("dw").output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
  const h = t.forwardTaps(x, ["dw"]).dw;
  assert.deepEqual(h.shape, [3, 8, 8, 6]);
  close(values(h), values(ref), 1e-6, "dw tap");
  // Projection of a rank-4 tap: per pixel, h[b, i, j, :] @ Pt.
  const P = randomProjection(new Rng("p"), 4, 6);
  const z = P.apply(h);
  assert.deepEqual(z.shape, [3, 8, 8, 4]);
  const pix = tf.matMul(tf.reshape(tf.slice(h, [1, 2, 5, 0], [1, 1, 1, 6]), [1, 6]), P.Pt);
  close(values(tf.slice(z, [1, 2, 5, 0], [1, 1, 1, 4])), values(pix), 1e-5, "one pixel");
  const n = layerNormTarget(h);
  assert.deepEqual(n.shape, h.shape);
  close([tf.mean(tf.slice(n, [2, 7, 0, 0], [1, 1, 1, 6])).dataSync()[0]], [0], 1e-5, "layer-normalised pixel mean");
  tf.dispose([x, ref, h, z, pix, n]);
  P.dispose();
  m.dispose();
});

test("curriculum extraction on conv taps: the tap phase's projected MSE falls (random and learned projections); different spatial sizes are refused", async () => {
  await initBackend("wasm");
  const teacher = fromLayersModel(convnet("t", 8, "logits", 1));
  const studentModel = convnet("s", 4, "logits", 2);
  const student = fromLayersModel(studentModel);
  const x = tf.randomNormal([8, 8, 8, 3], 0, 1, "float32", 3);
  const batch = { x, y: tf.zeros([8], "int32"), size: 8 } as unknown as Batch;
  for (const projection of ["random", "learned"] as const) {
    const plan = curriculumExtraction(student, teacher, new Rng("cx"), {
      pairs: [{ teacherTap: "c2", studentTap: "c2" }], tapSteps: 40, tapOptimizer: { kind: "adam", lr: 0.01 }, projection,
      output: { optimizer: { kind: "adam", lr: 0.01 }, tau: 1 },
    });
    const phase = plan.phases[0];
    assert.equal(phase.kind, "tap");
    const target = phase.target(batch);
    if (projection === "random") assert.deepEqual(target.shape, [8, 4, 4, 4]);
    const opt = tf.train.adam(0.01);
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const { value, grads } = tf.variableGrads(() => phase.loss(student, batch, target), phase.trainable as tf.Variable[]);
      losses.push(value.dataSync()[0]);
      opt.applyGradients(grads as never);
      tf.dispose([value, grads]);
    }
    assert.ok(losses[39] < 0.5 * losses[0], `${projection}: ${losses[0]} -> ${losses[39]}`);
    tf.dispose(target);
    opt.dispose();
    plan.dispose();
  }
  assert.throws(
    () => curriculumExtraction(student, teacher, new Rng("cx"), { pairs: [{ teacherTap: "c2", studentTap: "c1" }], tapSteps: 1, tapOptimizer: { kind: "sgd", lr: 0.1 }, output: { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 } }),
    /tap pair c1 <- c2: the student's positions \[8,8\] differ from the teacher's \[4,4\]/,
  );
  tf.dispose([x, batch.y]);
});

test("a teacher whose last layer applies softmax: its pre-activation is the logits (Dense activation or a softmax layer), never the probabilities", async () => {
  await initBackend("wasm");
  const x = tf.randomNormal([5, 8, 8, 3], 0, 1, "float32", 4);
  const plain = convnet("plain", 5, "logits", 7);
  const logits = plain.predict(x) as tf.Tensor;
  for (const head of ["softmax", "softmax-layer"] as const) {
    const m = convnet(`sm-${head}`, 5, head, 7); // same seeds: same weights as `plain`
    assert.equal(softmaxOutput(m), head === "softmax" ? "activation" : "layer");
    const t = fromLayersModel(m);
    assert.ok(!t.tapNames.includes("out") && !t.tapNames.includes("probs"), `the output layers are not taps: ${t.tapNames}`);
    const got = tf.tidy(() => t.forward(x).logits);
    close(values(got), values(logits), 1e-5, `${head} logits`);
    // KD targets equal the model's own probabilities, and the model is left as it was.
    const probs = m.predict(x) as tf.Tensor;
    close(values(tf.tidy(() => teacherProbs(got, 1))), values(probs), 1e-5, `${head} targets`);
    close(values(tf.sum(probs, -1)), [1, 1, 1, 1, 1], 1e-5, `${head} predict still gives probabilities`);
    // Gradients flow through the pre-activation (training a softmax student).
    const g = tf.variableGrads(() => tf.sum(tf.square(t.forward(x, { training: true }).logits)) as tf.Scalar, t.variables as tf.Variable[]);
    assert.ok(Object.values(g.grads).every((v) => v.isDisposed === false));
    tf.dispose([got, probs, g.value, g.grads]);
    assert.throws(() => fromLayersModel(m, { output: "logits" }), /output: "logits" but the last layer "(out|probs)" applies softmax/);
    m.dispose();
  }
  // Undetectable probabilities (softmax, then a reshape) declared as such: their log is the logits.
  const input = tf.input({ shape: [6] });
  const p = tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  const hidden = tf.model({ inputs: input, outputs: tf.layers.reshape({ targetShape: [3] }).apply(p) as tf.SymbolicTensor });
  assert.equal(softmaxOutput(hidden), null);
  const xs = tf.randomNormal([4, 6], 0, 1, "float32", 5);
  const declared = fromLayersModel(hidden, { output: "probabilities" });
  close(values(tf.tidy(() => tf.softmax(declared.forward(xs).logits))), values(hidden.predict(xs) as tf.Tensor), 1e-5, "log of declared probabilities");
  assert.throws(() => fromLayersModel(hidden, { output: "probs" as never }), /output must be "auto", "logits" or "probabilities"/);
  tf.dispose([x, logits, xs]);
  plain.dispose();
  hidden.dispose();
});

test("distill(): a softmax convnet teacher into a smaller convnet on wasm with taps on conv outputs", async () => {
  await initBackend("wasm");
  const teacherModel = convnet("dt", 8, "softmax", 3);
  const studentModel = convnet("ds", 4, "logits", 4);
  const xs = tf.randomNormal([64, 8, 8, 3], 0, 1, "float32", 6);
  const ys = tf.argMax(teacherModel.predict(xs) as tf.Tensor, -1);
  const data = [0, 1, 2, 3].map((i) => ({ xs: tf.slice(xs, [i * 16, 0, 0, 0], [16, 8, 8, 3]), ys: tf.slice(ys, [i * 16], [16]) }));
  const before = tf.memory().numTensors;
  const r = await distill({
    teacher: fromLayersModel(teacherModel), student: fromLayersModel(studentModel), data, method: "cx", budget: { steps: 30 },
    pairs: [{ teacherTap: "r1", studentTap: "r1" }, { teacherTap: "c2", studentTap: "c2" }], tapSteps: 10,
    optimizer: { kind: "adam", lr: 0.01 }, validation: { xs, ys }, evalEvery: 10,
    // The labels are this untrained teacher's own predictions, 97% one class: distill()'s weak-teacher check
    // (accuracy within two standard errors of the commonest class's share) would rightly refuse it.
    allowWeakTeacher: true,
  });
  assert.equal(r.steps, 30);
  const last = r.curve[r.curve.length - 1];
  assert.ok(Number.isFinite(last.loss) && last.accuracy > 0.4, `student after 10 output steps: ${JSON.stringify(last)}`);
  assert.equal(tf.memory().numTensors, before, "no tensors leaked");
  tf.dispose([xs, ys, ...data.flatMap((d) => [d.xs, d.ys])]);
  teacherModel.dispose();
  studentModel.dispose();
});

test("the example's models and data: a MobileNet-style teacher of >= 100k parameters with a softmax head, a smaller student, stages paired at equal sizes; seeded images", async () => {
  await initBackend("wasm");
  const teacherModel = mobileNetTeacher({ classes: 6, rng: new Rng("t") });
  const studentModel = smallConvnet({ classes: 6, rng: new Rng("s") });
  assert.ok(teacherModel.countParams() >= 100_000, `teacher ${teacherModel.countParams()}`);
  assert.ok(studentModel.countParams() * 10 < teacherModel.countParams(), `student ${studentModel.countParams()}`);
  const classes = teacherModel.layers.map((l) => l.getClassName());
  for (const c of ["DepthwiseConv2D", "BatchNormalization", "ReLU", "Add", "Conv2D"]) assert.ok(classes.includes(c), `teacher has ${c}`);
  assert.equal(softmaxOutput(teacherModel), "activation");
  const [t, s] = [fromLayersModel(teacherModel), fromLayersModel(studentModel)];
  const pairs = defaultTapPairs(t, s);
  assert.deepEqual(pairs.map((p) => `${p.studentTap}<-${p.teacherTap}`), ["block1<-block1", "block2<-block2", "block3<-block3"]);
  for (const p of pairs) assert.deepEqual(t.tapShape!(p.teacherTap).slice(0, 2), s.tapShape!(p.studentTap).slice(0, 2));
  const a = shapesBatch(new Rng("d"), 12);
  const b = shapesBatch(new Rng("d"), 12);
  assert.deepEqual(a.xs.shape, [12, 16, 16, 3]);
  assert.deepEqual(values(a.xs), values(b.xs));
  assert.deepEqual(values(a.ys), values(b.ys));
  assert.ok(new Set(values(shapesBatch(new Rng("e"), 200).ys)).size === 6, "every class occurs");
  tf.dispose([a.xs, a.ys, b.xs, b.ys]);
  teacherModel.dispose();
  studentModel.dispose();
});
