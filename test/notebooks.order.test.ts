/**
 * Derived state never stale: notebook 02 (quick mode) through a kernel client, its cells run out of order after
 * the seeds were edited (scripts/nborder.py): the finding, the cost figures and an ablation run before the
 * headline is re-run must still name the old seeds (their numbers are the old run's), and after the headline
 * every output names the new one; ablation tables have a column for exactly the headline's seeds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.join(__dirname, "..");

/** Runs a kernel-client script (scripts/nb*.py) on notebook 02 in quick mode with its own cache and results folders. */
function run02(script: string): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-nb02-"));
  try {
    const setup = spawnSync("bash", ["scripts/notebooks-setup.sh", "--no-chromium"], { cwd: root, encoding: "utf8", timeout: 15 * 60 * 1000 });
    assert.equal(setup.status, 0, `notebooks-setup failed:\n${setup.stdout}\n${setup.stderr}`);
    const r = spawnSync("/usr/bin/python3", [script, "notebooks/02-sparse-parity-mlp.ipynb"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CD_QUICK: "1", CD_CACHE_DIR: path.join(tmp, "cache"), CD_RESULTS_DIR: path.join(tmp, "results"), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
      timeout: 15 * 60 * 1000,
    });
    if (r.status !== 0) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
    assert.equal(r.status, 0, `${script} failed (its output is above)`);
    return r.stdout;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test("02: a late cell after a restart says to run the setup cell; after editing the seeds, cells run in any order label every output with the seeds of the result it shows", () => {
  const out = run02("scripts/nborder.py");
  assert.match(out, /finding +cell +\d+: labels seeds 0,1,2 \(expected 0,1,2\)/);
  assert.match(out, /restart +cell +\d+: hint shown/, "a late cell after a restart says to run the setup cell");
  assert.match(out, /ok {3}every output labels the seeds of the result it shows/);
});

test("a notebook executed and saved as Jupyter saves it (outputs, kernel metadata) leaves git status clean", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-gitstatus-"));
  try {
    const setup = spawnSync("bash", ["scripts/notebooks-setup.sh", "--no-chromium"], { cwd: root, encoding: "utf8", timeout: 15 * 60 * 1000 });
    assert.equal(setup.status, 0, `notebooks-setup failed:\n${setup.stdout}\n${setup.stderr}`);
    const committed = path.join(root, "notebooks", "00-smoke.ipynb");
    const nb = JSON.parse(fs.readFileSync(committed, "utf8"));
    // What executing and saving adds: outputs, counts, timings, and tslab's kernel_info language_info.
    nb.metadata.language_info = { codemirror_mode: { mode: "typescript", name: "javascript", typescript: true }, file_extension: ".ts", mimetype: "text/typescript", name: "typescript", version: "3.7.2" };
    let n = 0;
    for (const c of nb.cells) {
      if (c.cell_type !== "code") continue;
      n += 1;
      c.execution_count = n;
      c.metadata.execution = { "iopub.execute_input": "2026-01-01T00:00:00Z" };
      c.outputs = [{ output_type: "stream", name: "stdout", text: ["x".repeat(1000 * n)] }];
    }
    const executed = path.join(tmp, "00-smoke.ipynb");
    fs.writeFileSync(executed, JSON.stringify(nb));
    const r = spawnSync("/usr/bin/python3", ["scripts/nbgitstatus.py", executed, committed], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
    assert.equal(r.status, 0, "git status after saving an executed notebook (output above)");
    assert.match(r.stdout, /git diff: \(nothing\)/);
    assert.match(r.stdout, /^clean$/m);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("02: Kernel > Interrupt during the headline stops its work (no CPU, no file written 2 s after), the next cell shows only its own output, and the cell runs again", () => {
  const out = run02("scripts/nbinterrupt.py");
  assert.match(out, /headline +cell +\d+: running, [0-9.]+ CPU s/);
  assert.match(out, /interrupt: the cell replied '(error|abort)' after [0-9.]+ s; the kernel is alive/);
  assert.match(out, /after +2-5 s: 0\.[0-1]\d of a core; 0 file\(s\) created or modified/);
  assert.match(out, /probe +cell +: 'probe 42'/);
  assert.match(out, /re-run completed/);
});
