/**
 * Masked-LM results read back for notebook 04: a summary made by lmSummary from hand-made runs,
 * written and read again, gives the paired comparison rows (hand-computed) and a compute figure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lmSummary, resolveLanguageModelConfig } from "../src/experiments/languageModel";
import { StudentRun } from "../src/experiments/results";
import { accuracyVsCompute, comparisonRows, readMlmResult } from "../src/report/lmResults";

const split = { documents: 1, tokens: 10, types: 5 };

function run(method: string, seed: number, acc: number[]): StudentRun {
  const curve = acc.map((a, i) => ({
    step: 100 * (i + 1), samples: 6400 * (i + 1), phase: "teacher", accuracy: a, loss: 5 - a, trainLoss: 5, seconds: i,
    teacherFlops: 1e9 * (i + 1), studentFlops: 1e8 * (i + 1),
  }));
  return { seed, method, samplesToTarget: null, samples: 0, steps: 400, seconds: 4, stepsPerSecond: 100, finalAccuracy: acc[acc.length - 1], storedBytes: 0, phases: [], curve };
}

test("readMlmResult: the summary lmSummary writes reads back; comparisons as rows with the interval; accuracy against FLOPs", () => {
  const cfg = resolveLanguageModelConfig("smoke", { seeds: [0, 1, 2], methods: ["cx", "oneshot"], studentSteps: 400, evalEvery: 100 });
  const runs = [
    run("cx", 0, [0.1, 0.12, 0.13, 0.14]), run("cx", 1, [0.1, 0.12, 0.13, 0.15]), run("cx", 2, [0.1, 0.12, 0.13, 0.16]),
    run("oneshot", 0, [0.1, 0.11, 0.12, 0.13]), run("oneshot", 1, [0.1, 0.11, 0.12, 0.13]), run("oneshot", 2, [0.1, 0.11, 0.12, 0.13]),
  ];
  const teachers = Object.fromEntries([0, 1, 2].map((s) => [s, { samplesToTarget: null, samples: 1, accuracy: 0.2, seconds: 1, stepsPerSecond: 1, checkpoints: 1, cached: false, curve: [] }]));
  const s = lmSummary(cfg, { name: "x", train: split, valid: split }, teachers, runs, { backend: "wasm", adapter: null, native: null });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cd-lmres-"));
  fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify(s));
  const r = readMlmResult(dir)!;
  const rows = comparisonRows(r);
  // Budgets at a quarter, half and all of 400 steps; cx - oneshot at 400: differences 0.01, 0.02, 0.03 -> mean 2 points,
  // sd 1 point, t(0.975, 2) = 4.303 -> half width 4.303 / sqrt(3) = 2.48 points.
  assert.deepEqual(rows.map((x) => x["student steps"]), [100, 200, 400]);
  assert.equal(rows[2]["accuracy − one-shot (points)"], "+2.00 [-0.48, +4.48]");
  assert.equal(rows[2]["vs one-shot (95%)"], "within noise");
  assert.equal(rows[1]["vs one-shot (95%)"], "better"); // every seed +1 point: sd 0, the interval is that point
  const fig = accuracyVsCompute(r);
  const cx = fig.data.find((t) => t.name === "cx (mean of 3)")!;
  assert.deepEqual(cx.x, [1.1e9, 2.2e9, 3.3e9, 4.4e9]);
  assert.equal(readMlmResult(path.join(dir, "nothing")), null);
  fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify({ ...s, comparisons: undefined }));
  assert.throws(() => readMlmResult(dir), /summary.json.*comparisons/);
  fs.rmSync(dir, { recursive: true, force: true });
});
