/**
 * Every notebook runs headless in quick mode (CD_QUICK=1) and every plot in its exported writeup
 * renders in headless Chromium (scripts/ci-notebooks.sh). On a machine without Jupyter the setup
 * step installs it when run as root, and otherwise fails saying exactly what to install.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

test("all notebooks execute in quick mode and their writeups render", () => {
  const root = path.join(__dirname, "..");
  const r = spawnSync("bash", ["scripts/ci-notebooks.sh"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, CD_NO_BUILD: "1" },
    timeout: 20 * 60 * 1000,
  });
  if (r.status !== 0) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
  assert.equal(r.status, 0, "scripts/ci-notebooks.sh failed (its output is above)");
  assert.match(r.stdout, /ci-notebooks: ok/);
});
