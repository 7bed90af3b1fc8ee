import { test } from "node:test";
import assert from "node:assert/strict";
import { pairedDifference } from "../src/stats";

test("pairedDifference: mean, sd and the t interval against hand-computed values", () => {
  // differences 1, 2, 3, 6: mean 3, sd sqrt(((4 + 1 + 0 + 9) / 3)) = sqrt(14/3); t(0.975, 3) = 3.182446
  const r = pairedDifference([11, 12, 13, 16], [10, 10, 10, 10]);
  const sd = Math.sqrt(14 / 3);
  const half = 3.182446305 * (sd / 2);
  assert.equal(r.n, 4);
  assert.equal(r.mean, 3);
  assert.ok(Math.abs(r.sd - sd) < 1e-12);
  assert.ok(Math.abs(r.lo - (3 - half)) < 1e-6 && Math.abs(r.hi - (3 + half)) < 1e-6, `${r.lo} ${r.hi}`);
  // 90%: t(0.95, 3) = 2.353363
  const r90 = pairedDifference([11, 12, 13, 16], [10, 10, 10, 10], 0.9);
  assert.ok(Math.abs(r90.hi - (3 + 2.353363435 * (sd / 2))) < 1e-6);
});

test("pairedDifference: unpaired values are dropped; fewer than two pairs give no interval; bad input is refused", () => {
  const r = pairedDifference([1, null, 3, NaN], [0, 5, 1, 2]);
  assert.equal(r.n, 2);
  assert.equal(r.mean, 1.5);
  const one = pairedDifference([1], [0]);
  assert.equal(one.mean, 1);
  assert.ok(Number.isNaN(one.lo) && Number.isNaN(one.hi));
  assert.throws(() => pairedDifference([1, 2], [1]), /2 values against 1/);
  assert.throws(() => pairedDifference([1], [1], 1), /level/);
});

test("mlm comparisons: each method against one-shot, paired by seed, at each budget", async () => {
  const { comparisons } = await import("../src/experiments/languageModel");
  const point = (step: number, accuracy: number, loss: number) => ({ step, samples: step * 64, phase: "p", accuracy, loss, trainLoss: NaN, seconds: 0, teacherFlops: 0, studentFlops: 0 });
  const run = (method: string, seed: number, curve: ReturnType<typeof point>[]) => ({ seed, method, samplesToTarget: null, samples: 0, steps: 0, seconds: 0, stepsPerSecond: 0, finalAccuracy: 0, storedBytes: 0, phases: [], curve });
  const runs = [
    run("oneshot", 0, [point(150, 0.1, 6.0), point(300, 0.12, 5.9)]),
    run("oneshot", 1, [point(150, 0.2, 5.0), point(300, 0.22, 4.9)]),
    run("cx", 0, [point(150, 0.13, 5.8), point(300, 0.15, 5.7)]),
    run("cx", 1, [point(150, 0.21, 4.9), point(300, 0.23, 4.8)]),
  ];
  const c = comparisons(runs, ["cx", "oneshot"], [150, 300], [0, 1]);
  assert.deepEqual(c.map((x) => [x.method, x.budget, x.accuracy.n]), [["cx", 150, 2], ["cx", 300, 2]]);
  // Differences at 150: 0.03 and 0.01 -> mean 0.02; losses -0.2 and -0.1 -> mean -0.15.
  assert.ok(Math.abs(c[0].accuracy.mean - 0.02) < 1e-12 && Math.abs(c[0].loss.mean + 0.15) < 1e-12);
  assert.ok(c[0].accuracy.lo < 0.02 && c[0].accuracy.hi > 0.02);
  assert.deepEqual(comparisons(runs, ["cx"], [150], [0, 1]), [], "no one-shot, nothing to compare");
});
