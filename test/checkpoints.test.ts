/**
 * Bad files are never taken as good: a truncated or bit-flipped weight file, a state whose shapes
 * do not fit the model, a truncated state JSON, a corrupted teacher checkpoint under a run: each is
 * rejected with the file named (exit code 2 and one line from the CLI). A run folder is not
 * overwritten without --force.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CheckpointError, loadWeights, saveWeights } from "../src/train/checkpoints";
import { PARITY, ParityConfig, resolveParityConfig, trainParityTeacher } from "../src/experiments/parity";
import { RunContext, runStudent, studentFiles } from "../src/experiments/engine";
import { TrainedTeacher } from "../src/experiments/experiment";
import { Interrupted } from "../src/train/state";
import { useBackend } from "./helpers";

const BIN = path.join(__dirname, "..", "bin", "curriculum-distill.js");
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "cd-ckpt-"));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function rejects(fn: () => unknown, file: string, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected a CheckpointError, got ${e}`);
    assert.equal(e.file, file);
    assert.match(e.message, reason);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

test("a truncated and a bit-flipped weight file are both rejected, naming the file", async () => {
  await useBackend();
  const dir = tmp();
  const base = path.join(dir, "w");
  const w = { W: tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), b: tf.tensor1d([7, 8]) };
  await saveWeights(base, w);
  const good = fs.readFileSync(`${base}.bin`);
  const back = loadWeights(base).weights;
  assert.deepEqual(Array.from(back.W.dataSync()), [1, 2, 3, 4, 5, 6]);
  fs.writeFileSync(`${base}.bin`, good.subarray(0, good.length - 5));
  rejects(() => loadWeights(base), `${base}.bin`, /size 27 bytes, manifest says 32 \(truncated or wrong file\)/);
  const flipped = Buffer.from(good);
  flipped[9] ^= 0x10;
  fs.writeFileSync(`${base}.bin`, flipped);
  rejects(() => loadWeights(base), `${base}.bin`, /checksum mismatch/);
  fs.writeFileSync(`${base}.bin`, good);
  rejects(() => loadWeights(base, { W: [3, 2], b: [2] }), `${base}.json`, /tensor "W" has shape \[2,3\], the model expects \[3,2\]/);
  rejects(() => loadWeights(base, { W: [2, 3], b: [2], c: [1] }), `${base}.json`, /tensor "c" is missing/);
  fs.writeFileSync(`${base}.json`, fs.readFileSync(`${base}.json`, "utf8").slice(0, 40));
  rejects(() => loadWeights(base), `${base}.json`, /weights manifest is not valid JSON \(truncated or corrupt/);
  for (const t of [...Object.values(w), ...Object.values(back)]) t.dispose();
});

test("student states: a bit flip, a truncated state JSON, and shapes that do not fit the model are rejected, never retrained over", async () => {
  await useBackend();
  const cfg = resolveParityConfig("smoke", { n: 12, k: 3, teacherWidth: 64, studentWidth: 8, seeds: [0], teacherMaxSamples: 2e5, maxSamples: 3e4, ckptEvery: 100, evalEvery: 50, heldout: 256, runToCap: true });
  const dir = tmp();
  const teacher = await trainParityTeacher(cfg, 0, { cacheDir: null });
  try {
    const student = (c: Readonly<ParityConfig>, t: TrainedTeacher, run?: RunContext) => runStudent(PARITY, c, 0, "oneshot", null, t, { run });
    let n = 0;
    await assert.rejects(student(cfg, teacher, { dir, saveEvery: 1, shouldStop: () => ++n === 120 }), Interrupted);
    const { state } = studentFiles(dir, 0, "oneshot");
    const json = fs.readFileSync(`${state}.json`, "utf8");
    const wbase = path.join(path.dirname(state), JSON.parse(json).weights);
    const bin = fs.readFileSync(`${wbase}.bin`);
    const again = () => student(cfg, teacher, { dir, saveEvery: 1 });
    const rejected = async (file: string, reason: RegExp) =>
      assert.rejects(again(), (e: unknown) => e instanceof CheckpointError && e.file === file && reason.test(e.message));

    const flipped = Buffer.from(bin);
    flipped[3] ^= 1;
    fs.writeFileSync(`${wbase}.bin`, flipped);
    await rejected(`${wbase}.bin`, /checksum mismatch/);
    fs.writeFileSync(`${wbase}.bin`, bin);

    fs.writeFileSync(`${state}.json`, json.slice(0, json.length / 2));
    await rejected(`${state}.json`, /state is not valid JSON \(truncated or corrupt/);
    fs.writeFileSync(`${state}.json`, json);

    // The same run folder with a wider student: the saved shapes do not fit.
    const wide = resolveParityConfig("smoke", { ...cfg, studentWidth: 9 });
    await assert.rejects(student(wide, teacher, { dir, saveEvery: 1 }), (e: unknown) =>
      e instanceof CheckpointError && e.file === `${wbase}.json` && /tensor "model\/W1" has shape \[8,12\], the model expects \[9,12\]/.test(e.message));

    // Intact again: it resumes and finishes.
    const done = await again();
    const plain = await student(cfg, teacher);
    const strip = (r: typeof done) => r.curve.map((c) => [c.step, c.samples, c.accuracy, c.loss, c.trainLoss]);
    assert.deepEqual(strip(done), strip(plain));
    assert.ok(fs.existsSync(studentFiles(dir, 0, "oneshot").result));
  } finally {
    teacher.dispose();
  }
});

test("CLI: a corrupted teacher checkpoint in a run exits 2 with one line naming it; --force is required to reuse a run id", () => {
  const runs = tmp();
  const args = ["parity", "--preset", "smoke", "--n", "10", "--k", "2", "--teacher-width", "32", "--student-width", "4", "--seeds", "0",
    "--methods", "oneshot", "--heldout", "128", "--eval-every", "50", "--ckpt-every", "100", "--max-samples", "1e4", "--no-cache",
    "--runs-dir", runs, "--run-id", "r", "--quiet", "--json", "--out", path.join(runs, "out")];
  const first = cli(args);
  assert.equal(first.code, 0, first.stderr);
  const again = cli(args);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /invalid --run-id: ".*r" \(run folder exists \(use --resume to continue it, or --force to start over\)\)/);
  assert.equal(again.stderr.trim().split("\n").length, 1);

  // Corrupt one of the teacher's checkpoints: resuming (which reloads the recorded teacher) must fail.
  const cache = path.join(runs, "r", "teachers", "cache");
  const entry = path.join(cache, fs.readdirSync(cache)[0]);
  const ckpt = fs.readdirSync(entry).find((f) => f.startsWith("ckpt-") && f.endsWith(".bin"))!;
  const file = path.join(entry, ckpt);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 1] ^= 0x80;
  fs.writeFileSync(file, bytes);
  const resumed = cli(["parity", "--resume", "r", "--runs-dir", runs]);
  assert.equal(resumed.code, 2, resumed.stderr);
  assert.equal(resumed.stderr.trim().split("\n").length, 1, resumed.stderr);
  assert.ok(resumed.stderr.includes(file), resumed.stderr);
  assert.match(resumed.stderr, /checksum mismatch/);
  assert.doesNotMatch(resumed.stderr, /at .*\.js:\d+/);

  const forced = cli([...args, "--force"]);
  assert.ok(!fs.existsSync(path.join(__dirname, "..", "data", "results", "r")), "nothing written into the checkout");
  assert.equal(forced.code, 0, forced.stderr);
});
