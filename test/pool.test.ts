/** Parallel workers give exactly the results of a sequential run. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveParityConfig, runParity } from "../src/experiments/parity";
import { useBackend } from "./helpers";

test("--workers 2 reproduces the sequential run number for number", async () => {
  await useBackend();
  const cfg = resolveParityConfig("smoke", {
    n: 12, k: 3, teacherWidth: 64, studentWidth: 8, seeds: [0, 1], methods: ["cx", "oneshot", "progressive"],
    teacherMaxSamples: 2e5, maxSamples: 1e5, ckptEvery: 100, evalEvery: 50, heldout: 512,
  });
  const seq = await runParity(cfg, { cacheDir: null, workers: 1 });
  const par = await runParity(cfg, { cacheDir: null, workers: 2 });
  const strip = (r: typeof seq) => r.runs.map((x) => ({ seed: x.seed, method: x.method, hit: x.samplesToTarget, curve: x.curve.map((c) => [c.samples, c.accuracy, c.loss, c.trainLoss]) }));
  assert.equal(seq.runs.length, 6);
  assert.deepEqual(strip(par), strip(seq));
  assert.deepEqual(par.summary.methods.cx.samplesToTarget, seq.summary.methods.cx.samplesToTarget);
});
