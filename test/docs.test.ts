/**
 * Numbers that cannot drift: every result table and quoted figure in README.md, docs/ and the notebooks' text is
 * generated from the committed result summaries (docs/results/*.json) by scripts/docs-tables.ts (`npm run docs`).
 * This fails when one no longer matches its source, and checks that the renderers really read the summaries.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { check, render } from "../scripts/docs-tables";
import { REFERENCE_DIR, REFERENCE_FIGURES, REFERENCE_TABLES, markdownTable, medianAtCap, referenceFigure, referenceTable } from "../src/report/references";

const root = path.join(__dirname, "..");

test("every generated table and quoted figure in README.md, docs/ and the notebooks matches docs/results", () => {
  const { stale, markers } = check(root);
  assert.deepEqual(stale, [], `stale generated text in ${stale.join(", ")}: run npm run docs`);
  const readme = markers.filter((m) => m.startsWith("README.md"));
  assert.ok(readme.some((m) => m.endsWith("table:parity-main")), "the README's headline table is generated");
  for (const nb of ["02-sparse-parity-mlp", "03-sparse-parity-transformer", "04-language-model", "05-your-own-model"]) {
    const text = fs.readFileSync(path.join(root, "notebooks", `${nb}.ipynb`), "utf8");
    assert.match(text, /showReference\(/, `${nb} shows full-size reference results`);
  }
});

test("every named table and figure renders from its summary; every summary names its command and source", () => {
  for (const name of Object.keys(REFERENCE_TABLES)) {
    const t = referenceTable(name);
    assert.ok(t.rows.length > 0, name);
    assert.match(t.caption, /docs\/results\/[\w-]+\.json/, `${name}: the caption names its source`);
  }
  for (const name of Object.keys(REFERENCE_FIGURES)) assert.ok(referenceFigure(name).length > 0, name);
  for (const f of fs.readdirSync(REFERENCE_DIR).filter((x) => x.endsWith(".json"))) {
    const r = JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, f), "utf8"));
    assert.equal(typeof r.command, "string", `${f}: the command that produced it`);
    assert.ok(["summary.json", "transcribed", "bench", "run folder", "JSON lines"].includes(r.source), `${f}: source is summary.json, a bench run, a run folder, JSON lines or transcribed`);
    assert.equal(typeof r.sourceNote, "string", `${f}: where its numbers come from`);
  }
  assert.equal(medianAtCap([80000, null, 96000], 3e6), 96000);
  assert.equal(medianAtCap([null, null, 96000], 3e6), 3e6);
});

test("a changed summary makes the check fail, and npm run docs rewrites only between the markers", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-docs-"));
  try {
    const dir = path.join(tmp, "results");
    fs.cpSync(REFERENCE_DIR, dir, { recursive: true });
    const doc = "before\n<!-- table:parity-main -->\nold\n<!-- /table -->\ncx: <!-- fig:parity-main.cx -->1k<!-- /fig --> after\n";
    const fresh = render(doc, dir);
    assert.match(fresh, /^before\n<!-- table:parity-main -->\n\| method \|/);
    assert.match(fresh, /cx: <!-- fig:parity-main\.cx -->80k<!-- \/fig --> after\n$/);
    assert.equal(render(fresh, dir), fresh, "idempotent");
    const r = JSON.parse(fs.readFileSync(path.join(dir, "parity-main.json"), "utf8"));
    r.methods.cx.samplesToTarget = [88000, 96000, 104000];
    fs.writeFileSync(path.join(dir, "parity-main.json"), JSON.stringify(r));
    const changed = render(fresh, dir);
    assert.notEqual(changed, fresh, "the generated text follows the summary");
    assert.match(changed, /<!-- fig:parity-main\.cx -->96k<!-- \/fig -->/);
    assert.match(markdownTable(referenceTable("parity-main", dir).rows), /\| cx \| 96k \| 88k \| 96k \| 104k \|/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("every relative link in README.md, environment.md and docs/ points at a file that exists", () => {
  const root = path.join(__dirname, "..");
  const files = ["README.md", "environment.md", ...fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`), ...fs.readdirSync(path.join(root, "docs", "notes")).filter((f) => f.endsWith(".md")).map((f) => `docs/notes/${f}`)];
  const broken: string[] = [];
  let checked = 0;
  for (const f of files) {
    const text = fs.readFileSync(path.join(root, f), "utf8");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1].split("#")[0];
      if (target === "" || /^[a-z]+:/i.test(target)) continue; // an anchor in the same file, or a URL
      checked++;
      if (!fs.existsSync(path.join(root, path.dirname(f), target))) broken.push(`${f}: ${m[1]}`);
    }
  }
  assert.ok(checked > 20, `only ${checked} links found: the pattern is wrong`);
  assert.deepEqual(broken, [], "broken links");
});
