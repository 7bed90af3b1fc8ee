import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { accuracy, oneHotTargets, projectedMse, softCrossEntropy, teacherProbs } from "../src/distill/losses";
import { assertClose, useBackend } from "./helpers";

test("softCrossEntropy equals the hand-computed value", async () => {
  await useBackend();
  // Row 1: logits [0, ln 3] -> p = [1/4, 3/4]; target [0.5, 0.5]: CE = -(0.5 ln 1/4 + 0.5 ln 3/4).
  // Row 2: logits [2, 2] -> p = [1/2, 1/2]; target [1, 0]: CE = ln 2.
  const logits = tf.tensor2d([[0, Math.log(3)], [2, 2]]);
  const target = tf.tensor2d([[0.5, 0.5], [1, 0]]);
  const row1 = -(0.5 * Math.log(0.25) + 0.5 * Math.log(0.75));
  const row2 = Math.log(2);
  assertClose(softCrossEntropy(logits, target).dataSync(), [(row1 + row2) / 2], 1e-6);
  // Weighted: only row 2 counts.
  assertClose(softCrossEntropy(logits, target, tf.tensor1d([0, 1])).dataSync(), [row2], 1e-6);
});

test("teacherProbs is softmax(logits / tau)", async () => {
  await useBackend();
  const l = tf.tensor2d([[1, 3]]);
  const e = (a: number) => Math.exp(a);
  assertClose(teacherProbs(l, 1).dataSync(), [e(1) / (e(1) + e(3)), e(3) / (e(1) + e(3))], 1e-6);
  assertClose(teacherProbs(l, 2).dataSync(), [e(0.5) / (e(0.5) + e(1.5)), e(1.5) / (e(0.5) + e(1.5))], 1e-6);
  assertClose(teacherProbs(l, 1e-20).dataSync(), [0, 1], 1e-6);
  assert.throws(() => teacherProbs(l, 0), /tau must be > 0, got 0/);
});

test("projectedMse sums over features and averages over rows", async () => {
  await useBackend();
  const s = tf.tensor2d([[1, 2, 3], [0, 0, 0]]);
  const t = tf.tensor2d([[1, 0, 0], [1, 1, 1]]);
  // Row 1: 0 + 4 + 9 = 13; row 2: 3. Mean 8.
  assertClose(projectedMse(s, t).dataSync(), [8], 1e-6);
  // 3-D taps [batch, seq, d]: mean over batch and positions.
  const s3 = tf.tensor3d([[[1, 1], [0, 0]]]);
  const t3 = tf.tensor3d([[[0, 0], [0, 2]]]);
  assertClose(projectedMse(s3, t3).dataSync(), [(2 + 4) / 2], 1e-6);
});

test("oneHotTargets and accuracy", async () => {
  await useBackend();
  assert.deepEqual(Array.from(oneHotTargets(tf.tensor1d([1, 0], "int32"), 2).dataSync()), [0, 1, 1, 0]);
  const logits = tf.tensor2d([[0, 1], [2, 1], [0, 5]]);
  assertClose(accuracy(logits, tf.tensor1d([1, 0, 0], "int32")).dataSync(), [2 / 3], 1e-6);
});
