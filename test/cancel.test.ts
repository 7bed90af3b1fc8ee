/**
 * Cancellation end to end (issue 25): an AbortSignal through the engine, the worker pool and the
 * driver. Aborting a running experiment rejects with Interrupted soon after, its workers are gone,
 * nothing in its run folder changes afterwards, and what was saved resumes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runExperiment } from "../src/experiments/engine";
import { resolveExperiment } from "../src/experiments/experiment";
import { PARITY } from "../src/experiments/parityExperiment";
import { Interrupted } from "../src/train/driver";
import { useBackend } from "./helpers";

const cfg = () =>
  resolveExperiment(PARITY, "smoke", {
    n: 12,
    k: 3,
    teacherWidth: 64,
    studentWidth: 8,
    seeds: [0, 1],
    methods: ["oneshot", "scratch"],
    teacherMaxSamples: 2e5,
    maxSamples: 2e4,
    runToCap: true,
    ckptEvery: 100,
    evalEvery: 20,
    heldout: 256,
  });

/** Every file under `dir` with its size and modification time. */
function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = fs.statSync(p);
        out[path.relative(dir, p)] = `${s.size}@${s.mtimeMs}`;
      }
    }
  };
  walk(dir);
  return out;
}

for (const workers of [1, 2]) {
  test(`abort a running experiment (${workers} worker${workers > 1 ? "s" : ""}): Interrupted soon after, no file changes after, the saved state resumes`, async (t) => {
    await useBackend();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cd-cancel-"));
    const controller = new AbortController();
    let abortedAt = 0;
    const run = runExperiment(PARITY, cfg(), {
      cacheDir: null,
      workers,
      run: { dir, saveEvery: 1 },
      signal: controller.signal,
      onProgress: (e) => {
        // Abort once students are training (the teachers are done and recorded).
        if (e.kind === "student" && e.samples >= 3200 && abortedAt === 0) {
          abortedAt = Date.now();
          controller.abort();
        }
      },
    });
    await assert.rejects(run, (e: unknown) => e instanceof Interrupted);
    const latency = Date.now() - abortedAt;
    assert.ok(abortedAt > 0, "the run was aborted while training students");
    assert.ok(latency < 3000, `stopped ${latency} ms after the abort`);
    const before = listing(dir);
    assert.ok(Object.keys(before).some((f) => f.startsWith("students/") && f.endsWith(".json")), "the students' states were saved");
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(listing(dir), before, "nothing written after the abort");
    // The saved state resumes to the end (sequentially: worker start-up is slow on a shared machine).
    const done = await runExperiment(PARITY, cfg(), { cacheDir: null, workers: 1, run: { dir, saveEvery: 1 } });
    assert.equal(done.runs.length, 4);
    fs.rmSync(dir, { recursive: true, force: true });
    t.diagnostic(`${workers} worker(s): stopped ${latency} ms after the abort`);
  });
}

test("an already aborted signal: nothing runs", async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(runExperiment(PARITY, cfg(), { cacheDir: null, signal: controller.signal }), (e: unknown) => e instanceof Interrupted);
});
