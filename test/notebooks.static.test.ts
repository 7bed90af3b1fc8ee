/**
 * The notebooks as committed: no outputs (a git filter strips them, and this catches a notebook committed
 * without it), a cell id on every cell, the setup call in the first code cell, the measured full-mode run
 * time in the first cell, and the strip filter itself. Fast: nothing is executed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.join(__dirname, "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nbstrip = require("../scripts/nbstrip.js") as { strip(nb: unknown): unknown; hasOutputs(nb: unknown): boolean; format(nb: unknown): string };

interface Cell { cell_type: string; id?: string; source: string[] | string; outputs?: unknown[]; execution_count?: number | null }
interface Notebook { cells: Cell[]; metadata: Record<string, unknown> }

/** The committed text of each notebook (git's index when this is a checkout, else the files). */
function committedNotebooks(): Array<{ file: string; text: string }> {
  const ls = spawnSync("git", ["ls-files", "notebooks/*.ipynb"], { cwd: root, encoding: "utf8" });
  const files = ls.status === 0 && ls.stdout.trim() ? ls.stdout.trim().split("\n") : fs.readdirSync(path.join(root, "notebooks")).filter((f) => f.endsWith(".ipynb")).map((f) => `notebooks/${f}`);
  return files.map((file) => {
    const show = spawnSync("git", ["show", `:${file}`], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
    return { file, text: show.status === 0 ? show.stdout : fs.readFileSync(path.join(root, file), "utf8") };
  });
}

const src = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);

test("committed notebooks carry no outputs and no execution counts", () => {
  const nbs = committedNotebooks();
  assert.ok(nbs.length >= 5, "the notebooks are tracked");
  for (const { file, text } of nbs) {
    const nb = JSON.parse(text) as Notebook;
    assert.equal(nbstrip.hasOutputs(nb), false, `${file} carries outputs: run npm run notebooks:clean`);
    assert.equal(text, nbstrip.format(nbstrip.strip(JSON.parse(text))), `${file} is not in the stripped, Jupyter-formatted form`);
  }
});

test("every cell has a unique id; the first code cell calls notebookSetup; the first cell states the full-mode run time", () => {
  for (const { file, text } of committedNotebooks()) {
    const nb = JSON.parse(text) as Notebook;
    const ids = nb.cells.map((c) => c.id);
    assert.ok(ids.every((id) => typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id)), `${file}: a cell without a valid id`);
    assert.equal(new Set(ids).size, ids.length, `${file}: duplicate cell ids`);
    const firstCode = nb.cells.find((c) => c.cell_type === "code")!;
    assert.match(src(firstCode), /notebookSetup\(\{ fullRunTime: "[^"]+"/, `${file}: first code cell calls notebookSetup with the run time`);
    assert.doesNotMatch(src(firstCode), /FULL_\d\d/, `${file}: run time placeholder left`);
    assert.match(src(nb.cells[0]), /\*\*Run time:\*\* full mode .*about [0-9]/s, `${file}: first cell states the measured run time`);
    assert.doesNotMatch(src(nb.cells[0]), /PAPER\.md/, `${file}: cites a file that is not in the repo`);
  }
});

test("the strip filter: outputs, counts and run-added kernel metadata removed, sources and ids kept, clean notebooks unchanged; .gitattributes applies it", () => {
  const nb = {
    cells: [
      { cell_type: "markdown", id: "a", metadata: {}, source: ["# t"] },
      { cell_type: "code", id: "b", metadata: { execution: { "iopub.status.busy": "x" }, tags: ["keep"] }, execution_count: 3, source: ["1 + 1"], outputs: [{ output_type: "stream", name: "stdout", text: ["2\n"] }] },
    ],
    metadata: {
      kernelspec: { display_name: "TypeScript", language: "typescript", name: "tslab" },
      // What tslab's kernel_info adds when the notebook is executed and saved: dropped, so `git status` stays clean.
      language_info: { codemirror_mode: { mode: "typescript", name: "javascript", typescript: true }, file_extension: ".ts", mimetype: "text/typescript", name: "typescript", version: "3.7.2" },
      widgets: {},
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  const stripped = nbstrip.strip(JSON.parse(JSON.stringify(nb))) as { cells: Array<Record<string, unknown>>; metadata: Record<string, unknown> };
  assert.deepEqual(stripped.cells[1].outputs, []);
  assert.equal(stripped.cells[1].execution_count, null);
  assert.deepEqual(stripped.cells[1].metadata, { tags: ["keep"] });
  assert.deepEqual(stripped.cells[1].source, ["1 + 1"]);
  assert.equal(stripped.cells[1].id, "b");
  assert.deepEqual(stripped.metadata, {
    kernelspec: { display_name: "TypeScript", language: "typescript", name: "tslab" },
    language_info: { file_extension: ".ts", mimetype: "text/typescript", name: "typescript" },
  });
  assert.equal(nbstrip.hasOutputs(nb), true);
  assert.equal(nbstrip.hasOutputs(stripped), false);

  // As git's clean filter (stdin -> stdout), and in place; a clean file stays byte-identical.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-nbstrip-"));
  try {
    const viaStdin = spawnSync("node", ["scripts/nbstrip.js"], { cwd: root, input: JSON.stringify(nb), encoding: "utf8" });
    assert.equal(viaStdin.status, 0);
    assert.equal(nbstrip.hasOutputs(JSON.parse(viaStdin.stdout)), false);
    const f = path.join(tmp, "x.ipynb");
    fs.writeFileSync(f, JSON.stringify(nb));
    assert.equal(spawnSync("node", ["scripts/nbstrip.js", "--check", f], { cwd: root }).status, 1, "--check flags outputs");
    assert.equal(spawnSync("node", ["scripts/nbstrip.js", f], { cwd: root }).status, 0);
    const once = fs.readFileSync(f, "utf8");
    assert.equal(spawnSync("node", ["scripts/nbstrip.js", "--check", f], { cwd: root }).status, 0);
    spawnSync("node", ["scripts/nbstrip.js", f], { cwd: root });
    assert.equal(fs.readFileSync(f, "utf8"), once, "idempotent");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  assert.match(fs.readFileSync(path.join(root, ".gitattributes"), "utf8"), /^notebooks\/\*\.ipynb filter=nbstrip$/m);
});
