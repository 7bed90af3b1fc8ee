/**
 * Every notebook runs headless in quick mode (CD_QUICK=1) and every plot in its exported writeup
 * renders in headless Chromium (scripts/ci-notebooks.sh), with reports, teacher cache and results in a
 * temporary folder. On a machine without Jupyter the setup step installs it when run as root, and
 * otherwise fails saying exactly what to install. After the setup, Debian's Jupyter lists the kernel
 * with no extra environment variables.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.join(__dirname, "..");

test("all notebooks execute in quick mode, their writeups render and carry the quick-mode banner", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-notebooks-"));
  try {
    const reports = path.join(tmp, "reports");
    const r = spawnSync("bash", ["scripts/ci-notebooks.sh"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, CD_NO_BUILD: "1", CD_REPORTS_DIR: reports, CD_CACHE_DIR: path.join(tmp, "cache"), CD_RESULTS_DIR: path.join(tmp, "results") },
      timeout: 20 * 60 * 1000,
    });
    if (r.status !== 0) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
    assert.equal(r.status, 0, "scripts/ci-notebooks.sh failed (its output is above)");
    assert.match(r.stdout, /ci-notebooks: ok/);
    const pages = fs.readdirSync(reports).filter((f) => f.endsWith(".html"));
    const notebooks = fs.readdirSync(path.join(root, "notebooks")).filter((f) => f.endsWith(".ipynb"));
    assert.equal(pages.length, notebooks.length, "one writeup per notebook");
    for (const p of pages) {
      const html = fs.readFileSync(path.join(reports, p), "utf8");
      assert.match(html, /QUICK MODE \(CD_QUICK=1\)/, `${p}: quick-mode banner`);
      assert.equal(html.split('class="cd-plotly-loader"').length - 1, 1, `${p}: plotly loaded once`);
      // No figure draws bars on a log axis (bars from a non-zero base).
      const nb = JSON.parse(fs.readFileSync(path.join(reports, p.replace(/\.html$/, ".ipynb")), "utf8")) as { cells: Array<{ outputs?: Array<{ data?: Record<string, unknown> }> }> };
      for (const cell of nb.cells) {
        for (const out of cell.outputs ?? []) {
          const fig = out.data?.["application/vnd.plotly.v1+json"] as { data: Array<{ type: string; orientation?: string }>; layout: Record<string, { type?: string }> } | undefined;
          if (!fig?.data.some((t) => t.type === "bar")) continue;
          const valueAxis = fig.data.some((t) => t.orientation === "h") ? fig.layout.xaxis : fig.layout.yaxis;
          assert.notEqual(valueAxis?.type, "log", `${p}: a bar chart on a log axis`);
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("jupyter kernelspec list (Debian's Jupyter, no JUPYTER_PATH) lists the TypeScript kernel after the setup", () => {
  const env = { ...process.env };
  delete env.JUPYTER_PATH;
  const r = spawnSync("/usr/bin/python3", ["-m", "jupyter", "kernelspec", "list", "--json"], { encoding: "utf8", env });
  assert.equal(r.status, 0, r.stderr);
  const specs = JSON.parse(r.stdout).kernelspecs as Record<string, { resource_dir: string; spec: { argv: string[] } }>;
  assert.ok(specs.tslab, `tslab missing from ${Object.keys(specs).join(", ")}`);
  // The launcher finds this checkout's tslab from the notebook's folder (the kernel's working directory).
  const launcher = specs.tslab.spec.argv[0];
  const v = spawnSync(launcher, ["--version"], { cwd: path.join(root, "notebooks"), encoding: "utf8" });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /1\.0\.22/);
});
