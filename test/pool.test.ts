/** Parallel workers: the same results as a sequential run; a worker that dies mid-job ends the pool cleanly. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { resolveParityConfig, runParity } from "../src/experiments/parity";
import { WorkerCrashed, runPool } from "../src/experiments/pool";
import { useBackend } from "./helpers";

test("--workers 2 reproduces the sequential run number for number", async () => {
  await useBackend();
  const cfg = resolveParityConfig("smoke", {
    n: 12,
    k: 3,
    teacherWidth: 64,
    studentWidth: 8,
    seeds: [0, 1],
    methods: ["cx", "oneshot", "progressive"],
    teacherMaxSamples: 2e5,
    maxSamples: 1e5,
    ckptEvery: 100,
    evalEvery: 50,
    heldout: 512,
  });
  const seq = await runParity(cfg, { cacheDir: null, workers: 1 });
  const par = await runParity(cfg, { cacheDir: null, workers: 2 });
  const strip = (r: typeof seq) =>
    r.runs.map((x) => ({ seed: x.seed, method: x.method, hit: x.samplesToTarget, curve: x.curve.map((c) => [c.samples, c.accuracy, c.loss, c.trainLoss]) }));
  assert.equal(seq.runs.length, 6);
  assert.deepEqual(strip(par), strip(seq));
  assert.deepEqual(par.summary.methods.cx.samplesToTarget, seq.summary.methods.cx.samplesToTarget);
});

// A worker that answers jobs after a while, except job "die", where it exits mid-job.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
parentPort.on("message", ({ id, job }) => {
  if (job === "die") setTimeout(() => process.exit(3), 20);
  else {
    const poll = setInterval(() => {
      if (Atomics.load(workerData.stop, 0) === 1) { clearInterval(poll); parentPort.postMessage({ id, kind: "done", result: "stopped " + job }); }
    }, 5);
    setTimeout(() => { clearInterval(poll); parentPort.postMessage({ id, kind: "done", result: "ok " + job }); }, 300);
  }
});`;

test("a worker that exits mid-job: a WorkerCrashed naming the job, after the other jobs were asked to stop and answered", async () => {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const spawn = () => new Worker(WORKER, { eval: true, workerData: { stop } });
  let stopped = 0;
  const t0 = Date.now();
  await assert.rejects(
    runPool<string, string, never>(
      ["a", "die", "b", "c"],
      2,
      spawn,
      undefined,
      (j) => `job ${j}`,
      () => {
        stopped++;
        Atomics.store(stop, 0, 1);
      },
    ),
    (e: unknown) => e instanceof WorkerCrashed && e.job === "job die" && /exited with code 3/.test(e.message),
  );
  assert.equal(stopped, 1, "the others were asked to stop once");
  assert.ok(Date.now() - t0 < 5000, "no hang");
  // Without a failure every job's result comes back in order.
  Atomics.store(stop, 0, 0);
  assert.deepEqual(await runPool<string, string, never>(["x", "y", "z"], 2, spawn, undefined, String, () => {}), ["ok x", "ok y", "ok z"]);
});
