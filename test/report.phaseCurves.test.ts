import { test } from "node:test";
import assert from "node:assert/strict";
import { tapLossSeries } from "../src/report/phaseCurves";
import { StudentRun } from "../src/experiments/results";

test("tapLossSeries: one series per cx run and tap phase, output phases left out", () => {
  const pt = (samples: number, phase: string, trainLoss: number) => ({ step: samples / 64, samples, phase, accuracy: 0.5, loss: 0.7, trainLoss, seconds: 0, teacherFlops: 0, studentFlops: 0 });
  const run = (method: string, seed: number): StudentRun => ({
    seed, method, samplesToTarget: null, samples: 0, steps: 0, seconds: 0, stepsPerSecond: 0, finalAccuracy: 0, storedBytes: 0, phases: [],
    curve: [pt(64, "tap:block1<-block1", 3), pt(128, "tap:block1<-block1", 2), pt(192, "tap:block2<-block2", 5), pt(256, "teacher", 0.6)],
  });
  const s = tapLossSeries([run("cx", 0), run("oneshot", 0), run("cx", 1)]);
  assert.deepEqual(s.map((x) => x.name), ["block1<-block1 (seed 0)", "block2<-block2 (seed 0)", "block1<-block1 (seed 1)", "block2<-block2 (seed 1)"]);
  assert.deepEqual(s[0].x, [64, 128]);
  assert.deepEqual(s[0].y, [3, 2]);
  assert.deepEqual(s[1].y, [5]);
});
