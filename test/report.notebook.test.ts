/**
 * The notebooks' first cell: the staleness guard (dist/ older than src/, or rebuilt under a running
 * kernel), the mode banner, and the figure's MIME bundle.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { checkBuild, displayBundle, figureBundle, modeBannerHtml } from "../src/report/notebook";
import { lineChart } from "../src/report/plots";

function touch(file: string, secondsAgo: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(file)) fs.writeFileSync(file, "");
  const t = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(file, t, t);
}

test("checkBuild: stale when a src file is newer than its build, 'rebuilt' when dist changed after loading, else null", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "cd-stale-"));
  try {
    touch(path.join(root, "src", "report", "plots.ts"), 100);
    touch(path.join(root, "src", "index.ts"), 100);
    touch(path.join(root, "dist", "report", "plots.js"), 50);
    touch(path.join(root, "dist", "index.js"), 50);
    touch(path.join(root, "dist", "index.d.ts"), 50);
    const loadedAt = Date.now() - 10_000;
    assert.equal(checkBuild(root, loadedAt), null, "built after the last edit, loaded after the build");

    touch(path.join(root, "src", "report", "plots.ts"), 5);
    const stale = checkBuild(root, loadedAt);
    assert.equal(stale?.kind, "stale");
    assert.equal(stale?.file, path.join("src", "report", "plots.ts"));
    assert.match(stale!.message, /dist\/ is older than src\/.*npm run build.*restart the kernel/);
    assert.equal(stale!.message.split("\n").length, 1, "one line");

    touch(path.join(root, "dist", "report", "plots.js"), 1); // npm run build, kernel not restarted
    const rebuilt = checkBuild(root, loadedAt);
    assert.equal(rebuilt?.kind, "rebuilt");
    assert.match(rebuilt!.message, /restart the kernel/);
    assert.equal(checkBuild(root, Date.now()), null, "a kernel started after the build is fine");

    touch(path.join(root, "src", "new.ts"), 1);
    assert.equal(checkBuild(root, Date.now())?.file, path.join("src", "new.ts"), "a src file with no build at all");
    assert.equal(checkBuild(path.join(root, "nowhere")), null, "no src/ (an installed package): never stale");
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("banner: quick mode says the numbers are not the described results; full mode gives the run time", () => {
  const quick = modeBannerHtml(true, { fullRunTime: "about 2 min", quickConfig: "n=12 <tiny>" });
  assert.match(quick, /QUICK MODE \(CD_QUICK=1\)/);
  assert.match(quick, /not the results the text describes/);
  assert.match(quick, /n=12 &lt;tiny&gt;/, "escaped");
  assert.match(quick, /about 2 min/);
  const full = modeBannerHtml(false, { fullRunTime: "about 2 min" });
  assert.match(full, /Full mode: "Run All" takes about 2 min/);
  assert.doesNotMatch(full, /QUICK MODE/);
});

test("figureBundle: plotly's MIME type for front ends that render it, the HTML figure as the fallback", () => {
  const spec = lineChart([{ name: "a", x: [1, 2], y: [3, 4] }], { title: "t" });
  const b = figureBundle(spec);
  assert.deepEqual(Object.keys(b).sort(), ["application/vnd.plotly.v1+json", "text/html", "text/plain"]);
  const json = b["application/vnd.plotly.v1+json"] as { data: unknown; layout: unknown };
  assert.deepEqual(json.data, spec.data);
  assert.deepEqual(json.layout, spec.layout);
  assert.match(b["text/html"] as string, /class="cd-figure" data-expected-traces="1"/);
  assert.throws(() => displayBundle({ "text/plain": "x" }), /not running in a tslab kernel/);
});
