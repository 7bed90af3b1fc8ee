/**
 * FLOP counts against hand counts, and against the matrix products a forward pass actually runs
 * (tf.profile on the cpu backend: 2 * M * K * N summed over every product kernel).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { labelsStepFlops, outputStepFlops, tapStepFlops } from "../src/cost";
import { createMlp } from "../src/models/mlp";
import { createTransformer } from "../src/models/transformer";
import { Rng } from "../src/rng";

/** 2 * multiply-adds of every matMul kernel in `f`. */
async function profiledProductFlops(f: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const prof = await tf.profile(f);
  let total = 0;
  for (const k of prof.kernels) {
    if (k.name !== "BatchMatMul" && k.name !== "_FusedMatMul") continue;
    const out = k.outputShapes[0];
    const a = k.inputShapes[0];
    const m = out[out.length - 2];
    const n = out[out.length - 1];
    const batch = out.slice(0, -2).reduce((p, d) => p * d, 1);
    const kk = a[a.length - 1] === m && a[a.length - 2] !== m ? a[a.length - 2] : a[a.length - 1]; // transposeA or not
    total += 2 * batch * m * n * kk;
  }
  return total;
}

test("MLP FLOPs: hand count, and the products a forward pass runs", async () => {
  await initBackend("cpu");
  const m = createMlp({ inputDim: 50, width: 1000, outputDim: 2 }, new Rng("cost-mlp"));
  assert.equal(m.forwardFlops!({ batch: 32 }), 2 * 32 * (50 * 1000 + 1000 * 2)); // 3,328,000
  assert.equal(m.forwardFlops!({ batch: 32, upTo: "hidden" }), 2 * 32 * 50 * 1000);
  const x = tf.ones([32, 50]);
  assert.equal(await profiledProductFlops(() => m.forward(x).logits), m.forwardFlops!({ batch: 32 }));
  assert.equal(await profiledProductFlops(() => Object.values(m.forwardTaps(x, ["hidden"]))), m.forwardFlops!({ batch: 32, upTo: "hidden" }));
  const s = createMlp({ inputDim: 50, width: 20, outputDim: 2 }, new Rng("cost-mlp-s"));
  assert.deepEqual(labelsStepFlops(s, { batch: 32 }), { teacher: 0, student: 3 * 2 * 32 * (50 * 20 + 20 * 2) });
  assert.deepEqual(outputStepFlops(s, m, { batch: 32 }), { teacher: 3_328_000, student: 3 * 2 * 32 * 1040 });
  // Tap step: teacher hidden layer + projection 1000 -> 20; the student's first layer, 3x.
  assert.deepEqual(tapStepFlops(s, "hidden", m, "hidden", 20, { batch: 32 }), { teacher: 2 * 32 * 50 * 1000 + 2 * 32 * 1000 * 20, student: 3 * 2 * 32 * 50 * 20 });
  [m, s].forEach((v) => v.dispose());
  x.dispose();
});

test("transformer FLOPs: hand count, and the products a forward pass runs (classify and lm heads)", async () => {
  await initBackend("cpu");
  // vocab > 64 so the embedding is a gather, not a one-hot product.
  const cls = createTransformer({ vocabSize: 70, seqLen: 6, dModel: 8, nHeads: 2, nLayers: 2, head: "classify", numClasses: 3 }, new Rng("cost-t"));
  // n = 4 * 6 = 24 tokens; per block: 4 * 2*24*8*8 (q,k,v,o) + 2 * 2*24*8*32 (MLP) + 2 * 2*4*6*6*8 (scores, context)
  const block = 4 * 2 * 24 * 64 + 2 * 2 * 24 * 8 * 32 + 2 * 2 * 4 * 36 * 8; // 12288 + 24576 + 4608 = 41472
  assert.equal(cls.forwardFlops!({ batch: 4 }), 2 * block + 2 * 4 * 8 * 3);
  assert.equal(cls.forwardFlops!({ batch: 4, upTo: "block1" }), block);
  assert.equal(cls.forwardFlops!({ batch: 4, upTo: "embed" }), 0);
  const x = tf.tensor2d(Int32Array.from({ length: 24 }, (_, i) => i % 70), [4, 6], "int32");
  assert.equal(await profiledProductFlops(() => cls.forward(x).logits), cls.forwardFlops!({ batch: 4 }));
  assert.equal(await profiledProductFlops(() => Object.values(cls.forwardTaps(x, ["block1"]))), block);
  // 12 x 6 = 72 > 64 positions, so picking the logit positions is a gather too, not a one-hot product.
  const lm = createTransformer({ vocabSize: 70, seqLen: 6, dModel: 8, nHeads: 2, nLayers: 2, head: "lm", tiedEmbeddings: true }, new Rng("cost-lm"));
  const x12 = tf.tensor2d(Int32Array.from({ length: 72 }, (_, i) => i % 70), [12, 6], "int32");
  const at = tf.tensor1d([0, 5, 7, 20, 71], "int32");
  const block12 = 4 * 2 * 72 * 64 + 2 * 2 * 72 * 8 * 32 + 2 * 2 * 12 * 36 * 8;
  assert.equal(lm.forwardFlops!({ batch: 12, logitRows: 5 }), 2 * block12 + 2 * 5 * 8 * 70);
  assert.equal(await profiledProductFlops(() => lm.forward(x12, { logitPositions: at }).logits), lm.forwardFlops!({ batch: 12, logitRows: 5 }));
  assert.equal(await profiledProductFlops(() => lm.forward(x12).logits), lm.forwardFlops!({ batch: 12 }));
  [cls, lm].forEach((v) => v.dispose());
  tf.dispose([x, x12, at]);
});

test("the loop adds up every step's FLOPs: cx tap steps at their truncated cost, then output steps", async () => {
  const { curriculumExtraction } = await import("../src/distill/curriculumExtraction");
  const { parityTask } = await import("../src/data/sparseParity");
  const { parityStream } = await import("../src/experiments/parityTask");
  const { runPhases } = await import("../src/train/loop");
  await initBackend("wasm");
  const rng = new Rng("cost-loop");
  const n = 10, W = 40, w = 6, B = 8;
  const teacher = createMlp({ inputDim: n, width: W, outputDim: 2 }, rng.derive("t"));
  const student = createMlp({ inputDim: n, width: w, outputDim: 2 }, rng.derive("s"));
  const stream = parityStream(parityTask(n, 2), rng.derive("d"), rng.derive("h"), B, 64);
  const plan = curriculumExtraction(student, teacher, rng.derive("p"), {
    pairs: [{ teacherTap: "hidden", studentTap: "hidden" }], tapSteps: 3, tapOptimizer: { kind: "sgd", lr: 0.05 }, output: { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 },
  });
  const evals: Array<{ step: number; teacherFlops: number; studentFlops: number }> = [];
  for await (const ev of runPhases(student, plan, stream, { evalEvery: 1, maxSamples: 5 * B })) if (ev.type === "eval") evals.push(ev);
  const tap = { teacher: 2 * B * n * W + 2 * B * W * w, student: 3 * 2 * B * n * w };
  const out = { teacher: 2 * B * (n * W + W * 2), student: 3 * 2 * B * (n * w + w * 2) };
  assert.deepEqual(evals.map((e) => [e.step, e.teacherFlops, e.studentFlops]), [
    [1, tap.teacher, tap.student],
    [2, 2 * tap.teacher, 2 * tap.student],
    [3, 3 * tap.teacher, 3 * tap.student],
    [4, 3 * tap.teacher + out.teacher, 3 * tap.student + out.student],
    [5, 3 * tap.teacher + 2 * out.teacher, 3 * tap.student + 2 * out.student],
  ]);
  plan.dispose();
  [teacher, student, stream].forEach((d) => d.dispose());
});

test("cost figures: medians over the seeds that reached the target, linear axes from zero, storage in MB", async () => {
  const { costFigures } = await import("../src/report/costFigures");
  const m = (hits: Array<number | null>, tf: Array<number | null>, sf: Array<number | null>, stored: number[]) => ({
    samplesToTarget: hits, median: 0, seconds: [], stepsPerSecond: [], storedBytes: stored,
    teacherFlopsToTarget: tf, studentFlopsToTarget: sf, secondsToTarget: hits.map(() => 1), tapSteps: hits.map(() => 0),
  });
  const f = costFigures(
    { cx: m([100, 300, 200], [1e9, 3e9, 2e9], [1e8, 3e8, 2e8], [0, 0, 0]), progressive: m([500, null, 700], [5e9, null, 6e9], [4e8, null, 5e8], [2.5e6, 2.5e6, 2.5e6]) },
    { target: 0.95, cap: 1000 },
  );
  assert.deepEqual(f.compute.data.map((t) => t.y), [[2e9, 5.5e9], [2e8, 4.5e8]]);
  assert.ok(String((f.compute.data[0].text as string[])[1]).endsWith("(2/3 reached)"));
  assert.deepEqual(f.storage.data[0].y, [0, 2.5]);
  assert.deepEqual(f.storage.data[0].text, ["none", "2.50 MB"]);
  for (const s of [f.samples, f.compute, f.storage]) assert.equal(s.layout.yaxis.rangemode, "tozero");
  assert.deepEqual(f.samples.data[0].y, [200, 700]); // progressive's miss counts as the cap: median of 500, 700, 1000
});
