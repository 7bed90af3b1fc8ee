/**
 * The way figures used to break: execute 01 (quick mode) through a Jupyter kernel client, re-run a
 * plotting cell, save the notebook as the notebook UI does, export it with `jupyter nbconvert --to html`,
 * and render it in headless Chromium: every figure must draw, and the saved notebook must stay under
 * 1 MB; reopened in the classic notebook UI, its figures draw there too (scripts/nbreplay.py does the
 * steps; everything is written to a temporary folder). The setup
 * (idempotent: Jupyter, Chromium, the kernel) runs first.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

test("01: run all, re-run a plotting cell, save as the UI does, nbconvert to HTML and reopen in the UI: every figure renders, file < 1 MB; untrusted, each figure says why it is blank", () => {
  const root = path.join(__dirname, "..");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-replay-"));
  try {
    const setup = spawnSync("bash", ["scripts/notebooks-setup.sh"], { cwd: root, encoding: "utf8", timeout: 15 * 60 * 1000 });
    assert.equal(setup.status, 0, `notebooks-setup failed:\n${setup.stdout}\n${setup.stderr}`);
    const r = spawnSync("/usr/bin/python3", ["scripts/nbreplay.py", "notebooks/01-theory.ipynb", "--out-dir", path.join(tmp, "out"), "--max-bytes", "1000000"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CD_QUICK: "1", CD_CACHE_DIR: path.join(tmp, "cache"), CD_RESULTS_DIR: path.join(tmp, "results"), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
      timeout: 10 * 60 * 1000,
    });
    if (r.status !== 0) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
    assert.equal(r.status, 0, "scripts/nbreplay.py failed (its output is above)");
    assert.match(r.stdout, /2\. re-ran cell \d+ \(a plotting cell/);
    assert.match(r.stdout, /ok {3}.*01-theory\.html: 3 figures/);
    assert.ok(fs.statSync(path.join(tmp, "out", "01-theory.ipynb")).size < 1_000_000);
    assert.match(r.stdout, /7\. reopened in the classic notebook UI: 3 figures drawn; ok/);
    assert.match(r.stdout, /8\. opened untrusted in the classic notebook UI: 3 figures, each says it is not drawn because the notebook is not trusted; ok/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
