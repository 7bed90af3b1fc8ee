/**
 * scripts/paper-status.ts on a made-up run folder: a finished teacher (the run folder's checksummed record
 * naming its cache entry, whose curve is read) and one still training (its saved state); finished students
 * from the run folder and from another run (--students-run); a cache entry or a student result that does
 * not match its checksum is refused naming the file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeRecord } from "../src/io";

const SCRIPT = path.join(__dirname, "..", "scripts", "paper-status.ts");

test("paper-status: finished teachers from their record and cache entry, running ones from their saved state; a tampered entry is refused", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-paperstatus-"));
  try {
    const run = path.join(tmp, "runs", "paper-scale");
    const cache = path.join(tmp, "cache");
    fs.mkdirSync(path.join(run, "teachers", "seed1-attempt0"), { recursive: true });
    fs.mkdirSync(path.join(cache, "abc123"), { recursive: true });
    fs.writeFileSync(path.join(run, "run.json"), JSON.stringify({ runId: "paper-scale", status: "interrupted", args: ["--preset", "paper", "--cache", cache] }));
    fs.writeFileSync(path.join(run, "config.json"), JSON.stringify({ preset: "paper", batch: 32, lr: 0.1, studentWidth: 100, targetAccuracy: 0.95, maxSamples: 8e6, methods: ["cx", "oneshot"], seeds: [0, 1], tau: 1 }));
    // Seed 0's students: one finished in this run folder, one in another run from the same cached teacher.
    const side = path.join(tmp, "runs", "paper-scale-seed0");
    fs.mkdirSync(path.join(run, "students"), { recursive: true });
    fs.mkdirSync(path.join(side, "students"), { recursive: true });
    fs.writeFileSync(path.join(side, "run.json"), JSON.stringify({ runId: "paper-scale-seed0" }));
    const student = (method: string, hit: number | null) => ({ seed: 0, method, samplesToTarget: hit, samples: hit ?? 8e6, steps: 1, seconds: 121.6, stepsPerSecond: 71.6, finalAccuracy: 0.95458, storedBytes: 0, phases: [], curve: [] });
    writeRecord(path.join(run, "students", "seed0-oneshot.result.json"), student("oneshot", null));
    writeRecord(path.join(side, "students", "seed0-cx.result.json"), student("cx", 280000));
    fs.writeFileSync(path.join(side, "students", "seed0-scratch.json"), "{}"); // a student's saved state, not a result: not read
    const curve = [100000, 200000, 300000].map((samples, i) => ({ samples, accuracy: [0.5, 0.61114, 1][i], loss: 1 / (i + 1) }));
    writeRecord(path.join(cache, "abc123", "teacher.json"), { format: 1, key: {}, info: { samplesToTarget: 300000, samples: 300000, accuracy: 1, curve } });
    writeRecord(path.join(run, "teachers", "seed0.json"), { attempt: 0, entry: "abc123", info: { samplesToTarget: 300000, samples: 300000, accuracy: 1, seconds: 750.4, stepsPerSecond: 399.8, attempt: 0 } });
    writeRecord(path.join(run, "teachers", "seed1-attempt0", "state.json"), {
      data: { position: { samples: 200000, step: 200000, seconds: 500 }, policy: { curve: curve.slice(0, 2), hit: null } },
    });
    const status = () => spawnSync(process.execPath, ["--import", "tsx", SCRIPT, "--run", run, "--command", "the command", "--students-run", side, "--students-command", "the side command"], { encoding: "utf8" });
    const r = status();
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.status, "interrupted");
    assert.deepEqual(out.teachers, [
      { seed: 0, attempt: 0, samples: 300000, steps: 300000, seconds: 750, stepsPerSecond: 400, samplesToTarget: 300000, curve: [[100000, 0.5], [200000, 0.6111], [300000, 1]] },
      { seed: 1, attempt: 0, samples: 200000, steps: 200000, seconds: 500, stepsPerSecond: 400, samplesToTarget: null, curve: [[100000, 0.5], [200000, 0.6111]] },
    ]);
    assert.deepEqual(out.students, [
      { run: "paper-scale-seed0", seed: 0, method: "cx", samplesToTarget: 280000, samples: 280000, seconds: 122, stepsPerSecond: 72, finalAccuracy: 0.9546, storedBytes: 0 },
      { run: "paper-scale", seed: 0, method: "oneshot", samplesToTarget: null, samples: 8e6, seconds: 122, stepsPerSecond: 72, finalAccuracy: 0.9546, storedBytes: 0 },
    ]);
    assert.equal(out.studentsCommand, "the side command");
    assert.deepEqual(out.config, { batch: 32, lr: 0.1, studentWidth: 100, targetAccuracy: 0.95, maxSamples: 8e6, methods: ["cx", "oneshot"], seeds: [0, 1] });
    // An edited student result: refused, naming it.
    const result = path.join(side, "students", "seed0-cx.result.json");
    const good = fs.readFileSync(result, "utf8");
    fs.writeFileSync(result, good.replace('"samplesToTarget": 280000', '"samplesToTarget": 28000'));
    const edited = status();
    assert.notEqual(edited.status, 0);
    assert.match(edited.stderr, /seed0-cx\.result\.json.*does not match its checksum/);
    fs.writeFileSync(result, good);
    // An edited cache entry: refused, naming it.
    const entry = path.join(cache, "abc123", "teacher.json");
    fs.writeFileSync(entry, fs.readFileSync(entry, "utf8").replace('"samplesToTarget": 300000', '"samplesToTarget": 200000'));
    const bad = status();
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /abc123\/teacher\.json.*does not match its checksum/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
