/**
 * distill(): curriculum extraction and the other registered methods on user models and user data
 * (a tf.data.Dataset, an async iterator, an array), the teacher never moving, no tensor leak, clear
 * errors for what cannot work.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { DataBatch, distill } from "../src/api";
import { initBackend } from "../src/backend";
import { parityTask, sampleParity } from "../src/data/sparseParity";
import { fromLayersModel } from "../src/models/layers";
import { Rng } from "../src/rng";

const N = 8;
const K = 2;

function parityBatch(rng: Rng, size: number): DataBatch {
  const b = sampleParity(parityTask(N, K), rng, size);
  return { xs: tf.tensor2d(b.x, [size, N]), ys: tf.tensor1d(b.y, "int32") };
}

function mlp(width: number, name: string): tf.Sequential {
  return tf.sequential({ name, layers: [tf.layers.dense({ inputShape: [N], units: width, activation: "relu", name: "hidden" }), tf.layers.dense({ units: 2, name: "out" })] });
}

/** A teacher that solves the parity, trained with tfjs-layers' own fit. */
async function trainedTeacher(): Promise<tf.Sequential> {
  const m = mlp(64, "teacher");
  const data = parityBatch(new Rng("api-teacher-data"), 4096);
  // The output layer gives logits: softmax cross-entropy on one-hot labels.
  m.compile({ optimizer: tf.train.adam(3e-3), loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });
  const labels = tf.oneHot(data.ys as tf.Tensor1D, 2);
  await m.fit(data.xs, labels, { epochs: 15, batchSize: 64, verbose: 0 });
  tf.dispose([data.xs, data.ys, labels]);
  return m;
}

let teacherModel: tf.Sequential;
const validation = () => parityBatch(new Rng("api-valid"), 2048);

test("setup: a tfjs-layers teacher learns the parity", async () => {
  await initBackend("wasm");
  teacherModel = await trainedTeacher();
  const v = validation();
  const acc = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(teacherModel.predict(v.xs) as tf.Tensor, -1), v.ys), "float32")).dataSync()[0]);
  assert.ok(acc > 0.97, `teacher accuracy ${acc}`);
});

test("a budget that is not a multiple of evalEvery: the curve ends with the student at the budget", async () => {
  const student = fromLayersModel(mlp(16, "student-budget"));
  const rng = new Rng("api-budget");
  const v = validation();
  const batches = Array.from({ length: 25 }, () => parityBatch(rng, 32)); // the array restarts at its end
  const r = await distill({ teacher: fromLayersModel(teacherModel), student, data: batches, method: "oneshot", budget: { steps: 250 }, validation: v, evalEvery: 100 });
  assert.deepEqual(r.curve.map((e) => e.step), [0, 100, 200, 250]);
  tf.dispose([v.xs, v.ys, ...batches.flatMap((b) => [b.xs, b.ys])]);
});

test("cx on a tf.data.Dataset: learns within the budget, the teacher does not move, no tensor leak", async () => {
  const teacher = fromLayersModel(teacherModel);
  const before = teacher.variables.map((v) => Array.from(v.dataSync()));
  const student = fromLayersModel(mlp(16, "student-ds"));
  const rng = new Rng("api-ds");
  const ds = tf.data.generator(function* () {
    for (let i = 0; i < 50; i++) yield parityBatch(rng, 32);
  });
  const v = validation();
  const n0 = tf.memory().numTensors;
  const r = await distill({ teacher, student, data: ds, method: "cx", budget: { steps: 1200 }, tapSteps: 200, optimizer: { kind: "adam", lr: 3e-3 }, validation: v, evalEvery: 200 });
  assert.equal(tf.memory().numTensors, n0, "no tensor leak");
  assert.equal(r.steps, 1200);
  assert.equal(r.samples, 1200 * 32);
  assert.deepEqual(r.curve.map((e) => e.step), [0, 200, 400, 600, 800, 1000, 1200]);
  assert.deepEqual(r.curve.slice(1, 3).map((e) => e.phase), ["tap:hidden<-hidden", "teacher"], "200 tap steps, then the output phase");
  assert.ok(r.curve[r.curve.length - 1].accuracy > 0.9, `final accuracy ${r.curve[r.curve.length - 1].accuracy}`);
  assert.ok((r.teacherFlops ?? 0) > 0 && (r.studentFlops ?? 0) > 0, "fromLayersModel models count their FLOPs");
  teacher.variables.forEach((w, i) => assert.deepEqual(Array.from(w.dataSync()), before[i], `teacher weight ${w.name} moved`));
  tf.dispose([v.xs, v.ys]);
});

test("one-shot on an async iterator and scratch on an array (restarted at its end); the array's tensors stay the user's", async () => {
  const teacher = fromLayersModel(teacherModel);
  const rng = new Rng("api-iter");
  async function* batches() {
    for (;;) yield parityBatch(rng, 32);
  }
  const a = await distill({ teacher, student: fromLayersModel(mlp(16, "student-it")), data: batches(), method: "oneshot", budget: { samples: 3200 } });
  assert.equal(a.steps, 100);
  assert.deepEqual(a.curve, [], "no validation, no evaluations");
  const arr = Array.from({ length: 4 }, () => parityBatch(rng, 16));
  const b = await distill({ teacher, student: fromLayersModel(mlp(16, "student-arr")), data: arr, method: "scratch", budget: { steps: 10 } });
  assert.equal(b.samples, 160);
  assert.ok(arr.every((x) => !x.xs.isDisposed && !x.ys.isDisposed));
  tf.dispose(arr.flatMap((x) => [x.xs, x.ys]));
});

test("progressive from the teacher's checkpoints and a shell", async () => {
  const teacher = fromLayersModel(teacherModel);
  const early = mlp(64, "teacher-early"); // an untrained checkpoint, then the final weights
  const checkpoints = [
    { step: 1, samples: 320, weights: fromLayersModel(early).snapshot() },
    { step: 2, samples: 640, weights: teacher.snapshot() },
  ];
  const phases: string[] = [];
  const rng = new Rng("api-prog");
  const r = await distill({
    teacher, student: fromLayersModel(mlp(16, "student-pr")), data: (function* () { for (;;) yield parityBatch(rng, 32); })(), method: "progressive",
    budget: { steps: 30 }, checkpoints, shell: () => fromLayersModel(mlp(64, "teacher-shell")), onEvent: (e) => e.type === "phase" && phases.push(e.phase),
  });
  assert.equal(r.steps, 30);
  assert.deepEqual(phases, ["ckpt@320", "ckpt@640"]);
  checkpoints.forEach((c) => Object.values(c.weights).forEach((t) => t.dispose()));
});

test("until: distill stops at the first evaluation it accepts, with no tensor leak", async () => {
  const teacher = fromLayersModel(teacherModel);
  const student = fromLayersModel(mlp(16, "student-until"));
  const rng = new Rng("api-until");
  const ds = tf.data.generator(function* () {
    for (;;) yield parityBatch(rng, 32);
  });
  const v = validation();
  const n0 = tf.memory().numTensors;
  const r = await distill({ teacher, student, data: ds, method: "oneshot", budget: { steps: 1000 }, validation: v, evalEvery: 20, until: (e) => e.step >= 60 });
  assert.equal(tf.memory().numTensors, n0, "no tensor leak");
  assert.deepEqual(r.curve.map((e) => e.step), [0, 20, 40, 60]);
  assert.equal(r.steps, 60);
  tf.dispose([v.xs, v.ys]);
});

test("bad input: one clear error each", async () => {
  const teacher = fromLayersModel(teacherModel);
  const rng = new Rng("api-bad");
  const data = () => (function* () { for (;;) yield parityBatch(rng, 8); })();
  const student = fromLayersModel(mlp(8, "student-bad"));
  await assert.rejects(distill({ teacher, student, data: data(), method: "cx", budget: { steps: 5 }, pairs: [{ teacherTap: "nope", studentTap: "hidden" }] }), /no layer named "nope"/);
  await assert.rejects(distill({ teacher, student: teacher, data: data(), method: "oneshot", budget: { steps: 1 } }), /same model/);
  await assert.rejects(distill({ teacher, student, data: data(), method: "progressive", budget: { steps: 1 } }), /needs the teacher's checkpoints and a shell/);
  const seq = tf.sequential({ layers: [tf.layers.dense({ inputShape: [N], units: 12, name: "wide" }), tf.layers.reshape({ targetShape: [3, 4], name: "grid" }), tf.layers.flatten({ name: "flat" }), tf.layers.dense({ units: 2, name: "o" })] });
  await assert.rejects(distill({ teacher, student: fromLayersModel(seq), data: data(), method: "cx", budget: { steps: 1 }, pairs: [{ teacherTap: "hidden", studentTap: "grid" }] }), /teacher tap "hidden" has shape \[8,64\] and student tap "grid" \[8,3,4\]/);
  const three = fromLayersModel(tf.sequential({ layers: [tf.layers.dense({ inputShape: [N], units: 3, name: "o3" })] }));
  await assert.rejects(distill({ teacher, student: three, data: data(), method: "oneshot", budget: { steps: 1 } }), /the student has 3 outputs, the teacher 2/);
  const short = [parityBatch(rng, 8)][Symbol.iterator]();
  await assert.rejects(distill({ teacher, student, data: short, method: "oneshot", budget: { steps: 5 } }), /the data ran out after 1 batches/);
  await assert.rejects(distill({ teacher, student, data: [{ xs: tf.ones([2, N]), ys: tf.ones([3]) }], method: "oneshot", budget: { steps: 1 } }), /a batch has 2 inputs and 3 labels/);
});
