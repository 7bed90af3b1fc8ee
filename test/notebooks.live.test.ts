/**
 * Live progress in Jupyter, through a kernel client: notebooks 05, 02 and 04 in quick mode, executed by nbclient
 * with every display message recorded (scripts/nblive.py). In each cell that calls liveProgress, the status
 * and chart displays are shown once and then updated in place (update_display_data) while the cell runs, and
 * the executed notebook keeps their last state (the final status, a static figure or the closing note).
 * The setup (idempotent: Jupyter, the kernel) runs first; everything is written to a temporary folder.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.join(__dirname, "..");

test("05, 02 and 04 (quick mode): live status and chart update in place while the cells run, through a kernel client", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-live-"));
  try {
    const setup = spawnSync("bash", ["scripts/notebooks-setup.sh"], { cwd: root, encoding: "utf8", timeout: 15 * 60 * 1000 });
    assert.equal(setup.status, 0, `notebooks-setup failed:\n${setup.stdout}\n${setup.stderr}`);
    for (const [name, cells] of [["05-your-own-model", 2], ["02-sparse-parity-mlp", 1], ["04-language-model", 2]] as const) {
      const r = spawnSync("/usr/bin/python3", ["scripts/nblive.py", `notebooks/${name}.ipynb`], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, CD_QUICK: "1", CD_CACHE_DIR: path.join(tmp, "cache"), CD_RESULTS_DIR: path.join(tmp, "results"), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
        timeout: 10 * 60 * 1000,
      });
      if (r.status !== 0) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
      assert.equal(r.status, 0, `scripts/nblive.py ${name} failed (its output is above)`);
      assert.match(r.stdout, new RegExp(`ok {3}${name}\\.ipynb: ${cells} live cell`));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
