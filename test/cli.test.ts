/** The CLI end to end, as a user runs it: exit codes, one-line errors, result files. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const BIN = path.join(__dirname, "..", "bin", "curriculum-distill.js");

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("bad input exits 2 with one line naming the field and value, and no result folder", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-cli-"));
  const cases: Array<[string[], RegExp]> = [
    [["--k", "60"], /invalid k: 60 \(must be <= n \(50\)\)/],
    [["--k", "0"], /invalid k: 0/],
    [["--teacher-width", "0"], /invalid teacherWidth: 0/],
    [["--student-width", "1.5"], /invalid studentWidth: 1.5/],
    [["--lr", "-1"], /invalid lr: -1/],
    [["--lr", "NaN"], /invalid lr: "NaN"/],
    [["--methods", "cx,magic"], /invalid methods: "magic"/],
    [["--preset", "large"], /invalid preset: "large"/],
    [["--n", "fifty"], /invalid n: "fifty"/],
    [["--colour", "red"], /invalid option: "--colour"/],
  ];
  for (const [args, re] of cases) {
    const out = path.join(tmp, "run");
    const r = cli(["parity", ...args, "--out", out]);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: one line, got ${r.stderr}`);
    assert.match(lines[0], re);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, "no stack trace");
    assert.ok(!fs.existsSync(out), "no partial result folder");
  }
  assert.equal(cli(["frobnicate"]).code, 2);
  assert.equal(cli(["parity", "--help"]).code, 0);
});

test("a tiny parity run writes config.json, curves.csv, summary.json and the report; --json prints the summary", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-cli-"));
  const out = path.join(tmp, "run");
  const args = ["parity", "--preset", "smoke", "--n", "12", "--k", "3", "--teacher-width", "64", "--student-width", "8", "--seeds", "0,1",
    "--methods", "cx,oneshot", "--heldout", "512", "--eval-every", "50", "--ckpt-every", "100", "--max-samples", "2e5", "--out", out, "--json", "--report", "--no-cache", "--runs-dir", path.join(tmp, "runs")];
  const dataBefore = listing(path.join(__dirname, "..", "data"));
  const r = cli(args);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout); // one JSON document on stdout while progress goes to stderr
  assert.match(r.stderr, /teacher seed 0 \[labels\]: .* samples/);
  assert.equal(summary.config.n, 12);
  assert.equal(summary.config.preset, "smoke");
  assert.deepEqual(Object.keys(summary.methods), ["cx", "oneshot"]);
  assert.equal(summary.methods.cx.samplesToTarget.length, 2);
  assert.equal(typeof summary.methods.cx.median, "number");
  assert.ok(["wasm", "cpu", "tensorflow", "webgpu"].includes(summary.backend));
  for (const f of ["config.json", "curves.csv", "summary.json", "report.html"]) assert.ok(fs.existsSync(path.join(out, f)), f);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")).methods, summary.methods);
  const csv = fs.readFileSync(path.join(out, "curves.csv"), "utf8").trim().split("\n");
  assert.equal(csv[0], "seed,method,step,samples,phase,accuracy,loss,trainLoss,seconds,teacherFlops,studentFlops");
  assert.ok(csv.length > 4);
  assert.match(fs.readFileSync(path.join(out, "report.html"), "utf8"), /Plotly/);
  // Same folder again without --force: refused.
  const again = cli(args);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists and is not empty \(use --force/);
  assert.deepEqual(listing(path.join(__dirname, "..", "data")), dataBefore, "nothing written into the checkout");
  // summary.json and run.json carry the backend and its adapter.
  assert.ok("adapter" in summary);
  const runs = fs.readdirSync(path.join(tmp, "runs")).filter((f) => !f.startsWith("."));
  const record = JSON.parse(fs.readFileSync(path.join(tmp, "runs", runs[0], "run.json"), "utf8"));
  assert.equal(record.backend, summary.backend);
  assert.ok("adapter" in record);
});

test("a student budget that is not a multiple of the evaluation interval ends in an evaluation at the budget (a budget below one interval recorded nothing): curve, samples, steps per second", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-cli-"));
  try {
    const out = path.join(tmp, "run");
    // 130 steps of batch 32 (4,160 samples) with an evaluation every 100 steps: one at step 100, one at the budget.
    const r = cli(["parity", "--preset", "smoke", "--n", "12", "--k", "3", "--teacher-width", "64", "--student-width", "8", "--seeds", "0", "--methods", "oneshot",
      "--heldout", "256", "--eval-every", "100", "--max-samples", "4160", "--teacher-max-samples", "3200", "--allow-failed-teacher", "--out", out, "--json", "--no-cache", "--runs-dir", path.join(tmp, "runs")]);
    assert.equal(r.code, 0, r.stderr);
    const rows = fs.readFileSync(path.join(out, "curves.csv"), "utf8").trim().split("\n").slice(1).filter((l) => l.includes(",oneshot,"));
    assert.deepEqual(rows.map((l) => l.split(",").slice(2, 4).join(",")), ["100,3200", "130,4160"], "an evaluation at step 100 and one at the budget");
    const m = JSON.parse(r.stdout).methods.oneshot;
    assert.ok(m.stepsPerSecond[0] > 0, `steps per second recorded (${m.stepsPerSecond[0]})`);
    assert.match(r.stderr, /oneshot seed 0: (not reached by 4k|reached)/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** Every path below `dir` (empty when absent). */
function listing(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).sort() : [];
}

test("the default result folder never collides: a taken name gets a suffix", async () => {
  const { freeFolder } = await import("../src/io");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-free-"));
  const base = path.join(tmp, "run");
  assert.equal(freeFolder(base), base);
  fs.mkdirSync(base);
  assert.equal(freeFolder(base), base, "an empty folder may be used");
  fs.writeFileSync(path.join(base, "summary.json"), "{}");
  assert.equal(freeFolder(base), `${base}-2`);
  fs.mkdirSync(`${base}-2`);
  fs.writeFileSync(path.join(`${base}-2`, "x"), "");
  assert.equal(freeFolder(base), `${base}-3`);
});
