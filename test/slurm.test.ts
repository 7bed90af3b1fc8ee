/**
 * Sweeps on a real scheduler: a single-node Slurm (Debian's slurm-wlm and munge) is started on this
 * machine by scripts/slurm/cluster.sh, a small grid is submitted as a job array with the README's
 * script (scripts/slurm/sweep.sbatch), and the merged results must equal a local `sweep` of the same
 * grid. Skipped, with the reason printed, only where the daemons cannot start.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");
const BIN = path.join(ROOT, "bin", "curriculum-distill.js");
const CLUSTER = path.join(ROOT, "scripts", "slurm", "cluster.sh");
const SBATCH = path.join(ROOT, "scripts", "slurm", "sweep.sbatch");

test("a grid as a Slurm job array, merged: equal to a local sweep of the same grid", async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-slurm-"));
  const state = path.join(tmp, "cluster");
  const up = spawnSync("bash", [CLUSTER, "start", state], { encoding: "utf8", timeout: 120_000 });
  if (up.status !== 0) {
    const reason = `Slurm daemons cannot start here: ${up.stderr.trim().split("\n").pop()}`;
    process.stdout.write(`# skipped: ${reason}\n`);
    t.skip(reason);
    return;
  }
  const env = { ...process.env, SLURM_CONF: path.join(state, "slurm.conf") };
  try {
    const grid = path.join(tmp, "grid.json");
    fs.writeFileSync(
      grid,
      JSON.stringify({
        command: "parity",
        preset: "smoke",
        base: { n: 10, k: 2, teacherWidth: 32, studentWidth: 4, heldout: 128, evalEvery: 25, ckptEvery: 50, maxSamples: 3e4 },
        grid: { tau: [1, 2], methods: [["cx", "oneshot"], ["oneshot"]] },
        seeds: [0, 1],
      }),
    );
    const out = path.join(tmp, "slurm-sweep");
    const sb = spawnSync("sbatch", ["--wait", "--array=0-1", `--chdir=${ROOT}`, `--output=${tmp}/task-%a.out`, SBATCH, grid, out, path.join(tmp, "teachers")], {
      encoding: "utf8",
      env,
      timeout: 600_000,
    });
    const logs = () =>
      fs
        .readdirSync(tmp)
        .filter((f) => f.startsWith("task-"))
        .map((f) => fs.readFileSync(path.join(tmp, f), "utf8"))
        .join("\n");
    assert.equal(sb.status, 0, `sbatch: ${sb.stderr} ${logs()}`);
    const merged = spawnSync(process.execPath, [BIN, "merge", "--out", out], { encoding: "utf8" });
    assert.equal(merged.status, 0, merged.stderr);
    const local = path.join(tmp, "local-sweep");
    const run = spawnSync(process.execPath, [BIN, "sweep", "--grid", grid, "--out", local, "--cache", path.join(tmp, "local-teachers"), "--quiet"], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(spawnSync(process.execPath, [BIN, "merge", "--out", local], { encoding: "utf8" }).status, 0);
    const rows = (d: string) => JSON.parse(fs.readFileSync(path.join(d, "merged.json"), "utf8")).rows;
    assert.equal(rows(out).length, 6, "2 tau x (2 + 1 methods)");
    assert.deepEqual(rows(out), rows(local));
    assert.equal(fs.readFileSync(path.join(out, "merged.csv"), "utf8"), fs.readFileSync(path.join(local, "merged.csv"), "utf8"));
    // merged.csv, with a list-valued grid field, reads back in Python's csv module.
    const py = spawnSync(
      "python3",
      ["-c", "import csv,json,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(json.dumps([json.loads(x['methods']) for x in r]))", path.join(out, "merged.csv")],
      { encoding: "utf8" },
    );
    assert.equal(py.status, 0, py.stderr);
    assert.deepEqual(new Set(JSON.parse(py.stdout).map((m: string[]) => m.join("+"))), new Set(["cx+oneshot", "oneshot"]));
  } finally {
    spawnSync("bash", [CLUSTER, "stop", state], { timeout: 60_000 });
  }
});

test("the docs' Slurm example is the script the test runs", () => {
  const doc = fs.readFileSync(path.join(ROOT, "docs", "sweeps.md"), "utf8");
  assert.ok(doc.includes(fs.readFileSync(SBATCH, "utf8").trim()), "docs/sweeps.md quotes scripts/slurm/sweep.sbatch verbatim");
});
