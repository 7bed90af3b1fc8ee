/** Sharded sweeps: shards share a folder without colliding, merge combines them, bad grids exit 2. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../src/config";
import { parseShard, shardJobs, sweepJobs } from "../src/experiments/sweep";

const BIN = path.join(__dirname, "..", "bin", "curriculum-distill.js");
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 300_000 });

test("jobs: the grid's cartesian product times seeds; shards partition them", () => {
  const jobs = sweepJobs({ command: "parity", grid: { a: [1, 2], b: ["x", "y", "z"] }, seeds: [0, 1] });
  assert.equal(jobs.length, 12);
  assert.deepEqual(jobs[0].point, { a: 1, b: "x" });
  assert.deepEqual(jobs[11].point, { a: 2, b: "z" });
  assert.equal(new Set(jobs.map((j) => j.id)).size, 12);
  const shards = [0, 1, 2].map((i) => shardJobs(jobs, [i, 3]).map((j) => j.index));
  assert.deepEqual(shards.flat().sort((x, y) => x - y), jobs.map((j) => j.index));
  assert.deepEqual(parseShard("2/5"), [2, 5]);
  for (const bad of ["5/5", "1", "a/b", "-1/3"]) assert.throws(() => parseShard(bad), ConfigError);
});

test("two shards into one folder, then merge: every job once, the table of the whole grid", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-sweep-"));
  const grid = path.join(tmp, "grid.json");
  fs.writeFileSync(grid, JSON.stringify({
    command: "parity", preset: "smoke",
    base: { n: 12, k: 3, teacherWidth: 64, studentWidth: 8, heldout: 512, ckptEvery: 100, evalEvery: 50, maxSamples: 1e5, teacherMaxSamples: 2e5, methods: ["cx"] },
    grid: { p1Steps: [50, 100] }, seeds: [0, 1],
  }));
  const out = path.join(tmp, "out");
  const cache = path.join(tmp, "cache");
  const early = cli(["merge", "--out", out]);
  assert.equal(early.status, 2);
  for (const shard of ["0/2", "1/2"]) {
    const r = cli(["sweep", "--grid", grid, "--shard", shard, "--out", out, "--cache", cache, "--quiet"]);
    assert.equal(r.status, 0, r.stderr);
  }
  const dirs = fs.readdirSync(out).filter((d) => d.startsWith("job-"));
  assert.equal(dirs.length, 4);
  const m = cli(["merge", "--out", out]);
  assert.equal(m.status, 0, m.stderr);
  const merged = JSON.parse(fs.readFileSync(path.join(out, "merged.json"), "utf8"));
  assert.equal(merged.rows.length, 2);
  assert.deepEqual(merged.rows.map((r: { point: unknown }) => r.point), [{ p1Steps: 50 }, { p1Steps: 100 }]);
  for (const r of merged.rows) assert.deepEqual(r.seeds, [0, 1]);
  // Re-running a shard skips finished jobs.
  const again = cli(["sweep", "--grid", grid, "--shard", "0/2", "--out", out, "--cache", cache]);
  assert.match(again.stderr, /done already, skipped/);
  // Bad grid values fail before anything runs.
  fs.writeFileSync(grid, JSON.stringify({ command: "parity", grid: { p1Steps: [-1] }, seeds: [0] }));
  const bad = cli(["sweep", "--grid", grid, "--out", path.join(tmp, "bad")]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /invalid tapSteps: -1/);
});

/** A lock file for `dir` as a live process `pid` would write it (the fields of src/experiments/folders.ts's LockInfo). */
function liveLock(dir: string, pid: number, brief: boolean): void {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid, host: os.hostname(), start, since: new Date().toISOString(), ...(brief ? { brief: true } : {}) }));
}

test("a shard that finds another shard's brief claim on the sweep folder waits for it (a Slurm array's tasks start together); a run's lock is refused at once", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-sweep-race-"));
  const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
  let release: NodeJS.Timeout | undefined;
  try {
    const grid = path.join(tmp, "grid.json");
    fs.writeFileSync(grid, JSON.stringify({
      command: "parity", preset: "smoke",
      base: { n: 10, k: 2, teacherWidth: 32, studentWidth: 4, heldout: 128, evalEvery: 25, ckptEvery: 50, maxSamples: 3e4, methods: ["oneshot"] },
      grid: { tau: [1] }, seeds: [0],
    }));
    const out = path.join(tmp, "out");
    fs.mkdirSync(out);
    // Another shard (a live process) holds the brief claim; it lets go 1.5 s later.
    liveLock(out, holder.pid!, true);
    const t0 = Date.now();
    const shard = spawn(process.execPath, [BIN, "sweep", "--grid", grid, "--out", out, "--cache", path.join(tmp, "cache"), "--quiet"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    shard.stderr.on("data", (d) => (stderr += d));
    release = setTimeout(() => fs.rmSync(path.join(out, ".lock"), { force: true }), 1500);
    const code = await new Promise<number | null>((r) => shard.on("close", r));
    assert.equal(code, 0, stderr);
    assert.ok(Date.now() - t0 >= 1500, "the shard ran while the other's claim was held");
    assert.equal(fs.readdirSync(out).filter((d) => d.startsWith("job-")).length, 1);
    // A run's lock (not brief) on a fresh folder: refused at once, naming --out.
    const other = path.join(tmp, "other");
    fs.mkdirSync(other);
    liveLock(other, holder.pid!, false);
    const t1 = Date.now();
    const refused = cli(["sweep", "--grid", grid, "--out", other, "--cache", path.join(tmp, "cache"), "--quiet"]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--out.*in use by process/);
    assert.ok(Date.now() - t1 < 20_000, "refused without waiting for the brief-claim timeout");
  } finally {
    clearTimeout(release);
    holder.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("merged.csv with a list-valued grid field reads back in danfojs and in Python's csv module", async () => {
  const { mergedFiles, parseGrid } = await import("../src/experiments/sweep");
  const { parse } = await import("csv-parse/sync");
  const grid = parseGrid(JSON.stringify({ command: "parity", grid: { methods: [["cx", "oneshot"], ["oneshot"]], note: ['a, "quoted" one'] }, seeds: [0, 1] }), "grid.json");
  const merged = {
    rows: [
      { point: { methods: ["cx", "oneshot"], note: 'a, "quoted" one' }, method: "cx", seeds: [0, 1], values: [3200, null], median: 3200 },
      { point: { methods: ["oneshot"], note: 'a, "quoted" one' }, method: "oneshot", seeds: [0, 1], values: [5600, 6400], median: 6000 },
    ],
    missing: [],
  };
  const { csv } = mergedFiles(grid, { column: "samplesToTarget", read: () => null }, merged);
  const records = parse(csv, { columns: true }) as Array<Record<string, string>>;
  assert.equal(records.length, 4);
  assert.deepEqual(JSON.parse(records[0].methods), ["cx", "oneshot"]);
  assert.equal(records[0].note, 'a, "quoted" one');
  const dfd = require("danfojs");
  const df = new dfd.DataFrame(records);
  assert.deepEqual(df.columns, ["methods", "note", "method", "seed", "samplesToTarget"]);
  assert.deepEqual(df.shape, [4, 5]);
  assert.deepEqual(df.column("methods").values.map((m: string) => JSON.parse(m).length), [2, 2, 1, 1]);
  const tmpCsv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cd-csv-")), "merged.csv");
  fs.writeFileSync(tmpCsv, csv);
  const py = spawnSync("python3", ["-c", "import csv,json,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(json.dumps([[json.loads(x['methods']), x['note'], x['samplesToTarget']] for x in r]))", tmpCsv], { encoding: "utf8" });
  assert.equal(py.status, 0, py.stderr);
  assert.deepEqual(JSON.parse(py.stdout), [[["cx", "oneshot"], 'a, "quoted" one', "3200"], [["cx", "oneshot"], 'a, "quoted" one', ""], [["oneshot"], 'a, "quoted" one', "5600"], [["oneshot"], 'a, "quoted" one', "6400"]]);
});
