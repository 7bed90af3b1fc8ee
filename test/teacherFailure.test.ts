/**
 * A teacher that does not learn stops the run before any student trains (issue 23): the CLI exits 3
 * with one message naming the seed, the accuracy, the cap and the flags; summary.json records it; a
 * resume with a larger cap continues the teacher from its saved state; --allow-failed-teacher
 * distils anyway and the results say so. The library: runExperiment rejects with TeacherFailed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../src/backend";
import { runExperiment, ProgressEvent } from "../src/experiments/engine";
import { resolveExperiment } from "../src/experiments/experiment";
import { PARITY } from "../src/experiments/parityExperiment";
import { TeacherFailed } from "../src/train/driver";

const ROOT = path.join(__dirname, "..");

/** The CLI from the source (no dist/ build needed). */
function cli(args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join("test", "cliMain.ts"), ...args], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, "utf8"));

test("parity-transformer: a teacher below its target stops the run (exit 3), and a larger cap continues it from its saved state", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-tfail-"));
  const runs = path.join(tmp, "runs");
  const base = ["--preset", "smoke", "--seeds", "0", "--methods", "cx,oneshot", "--teacher-retries", "0", "--runs-dir", runs, "--cache", path.join(tmp, "cache"), "--workers", "1", "--quiet"];
  const r = cli(["parity-transformer", ...base, "--teacher-max-samples", "1000", "--run-id", "r", "--out", path.join(tmp, "out")]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /the teacher of seed 0 did not learn: held-out accuracy 0\.\d{4} after 1024 samples, below its target 0\.99; no student was trained/);
  assert.match(r.stderr, /teacherMaxSamples 1000 \(--teacher-max-samples\)/);
  assert.match(r.stderr, /--allow-failed-teacher/);
  assert.match(r.stderr, /--resume r --runs-dir \S+ --teacher-max-samples 2000/);
  const dir = path.join(runs, "r");
  assert.ok(!fs.existsSync(path.join(dir, "students")), "no student trained");
  const summary = readJson(path.join(dir, "summary.json"));
  assert.equal(summary.status, "teacher failed");
  assert.equal(summary.teacherFailure.seed, 0);
  assert.equal(summary.teacherFailure.samples, 1024);
  assert.deepEqual(readJson(path.join(tmp, "out", "summary.json")), summary);
  const state = path.join(dir, "teachers", "seed0-attempt0", "state.json");
  const before = readJson(state).data;
  assert.equal(before.position.samples, 1024);

  // Resumed with a larger cap: the same attempt continues from step 16 (its curve keeps the first point).
  const again = cli(["parity-transformer", "--resume", "r", "--runs-dir", runs, "--teacher-max-samples", "2000", "--quiet"]);
  assert.equal(again.code, 3, again.stderr);
  assert.match(again.stderr, /after 2048 samples/);
  const after = readJson(state).data;
  assert.equal(after.position.samples, 2048);
  assert.deepEqual(after.policy.curve[0], before.policy.curve[0], "continued, not restarted");
  assert.equal(after.policy.curve.length, 2);
  assert.equal(readJson(path.join(dir, "config.json")).teacherMaxSamples, 2000, "the run's config follows the new cap");
  fs.rmSync(tmp, { recursive: true, force: true });
});

const tiny = { n: 12, k: 3, teacherWidth: 64, studentWidth: 8, seeds: [0], methods: ["oneshot", "scratch"], heldout: 256, evalEvery: 10, ckptEvery: 10, teacherMaxSamples: 320, maxSamples: 640 };

test("runExperiment: TeacherFailed before any student; allowFailedTeacher distils and the teacher's info says what it missed", async () => {
  await initBackend("wasm");
  const cfg = resolveExperiment(PARITY, "smoke", tiny);
  const events: ProgressEvent[] = [];
  await assert.rejects(
    runExperiment(PARITY, cfg, { cacheDir: null, onProgress: (e) => events.push(e) }),
    (e: unknown) => e instanceof TeacherFailed && e.seed === 0 && e.samples === 320 && /teacherMaxSamples 320/.test(e.message),
  );
  assert.ok(!events.some((e) => e.kind === "student" || e.kind === "studentDone"), "no student trained");
  const r = await runExperiment(PARITY, cfg, { cacheDir: null, allowFailedTeacher: true });
  assert.equal(r.runs.length, 2);
  assert.match(r.teachers[0].failed ?? "", /below its target 0\.99/);
  assert.match(JSON.stringify(r.summary), /"failed":"held-out accuracy/);
});
