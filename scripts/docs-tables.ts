/**
 * `npm run docs`: write every result table and every quoted figure in README.md, docs/**.md and the
 * notebooks' Markdown cells from the committed result summaries (docs/results/*.json), through the
 * renderers in src/report/references.ts. Text between markers is replaced; everything else is left as is:
 *
 *   <!-- table:parity-main -->            (a table and its caption: source file, how it was made)
 *   ...generated...
 *   <!-- /table -->
 *   cx needed <!-- fig:parity-main.cx -->80k<!-- /fig --> samples    (one figure, inline)
 *
 *   npx tsx scripts/docs-tables.ts          # rewrite the files whose generated parts changed
 *   npx tsx scripts/docs-tables.ts --check  # exit 1 naming each table or figure that no longer matches its source
 *
 * test/docs.test.ts runs the check in `npm test`.
 */
import * as fs from "fs";
import * as path from "path";
import { REFERENCE_DIR, markdownTable, referenceFigure, referenceTable } from "../src/report/references";

const ROOT = path.resolve(__dirname, "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nbstrip = require("./nbstrip.js") as { format(nb: unknown): string };

const TABLE = /<!-- table:([\w.-]+) -->\n[\s\S]*?<!-- \/table -->/g;
const FIGURE = /<!-- fig:([\w.-]+) -->[\s\S]*?<!-- \/fig -->/g;

/** The generated text of one table marker's content. */
export function tableBlock(name: string, dir = REFERENCE_DIR): string {
  const t = referenceTable(name, dir);
  return `<!-- table:${name} -->\n${markdownTable(t.rows)}\n\n<sub>${t.caption}</sub>\n<!-- /table -->`;
}

/** `text` with every marker's content regenerated; `found` collects the marker names seen. */
export function render(text: string, dir = REFERENCE_DIR, found: string[] = []): string {
  return text
    .replace(TABLE, (_m, name: string) => {
      found.push(`table:${name}`);
      return tableBlock(name, dir);
    })
    .replace(FIGURE, (_m, name: string) => {
      found.push(`fig:${name}`);
      return `<!-- fig:${name} -->${referenceFigure(name, dir)}<!-- /fig -->`;
    });
}

/** The files that may carry markers, relative to the repo. */
export function documentFiles(root = ROOT): string[] {
  const out = ["README.md"];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith(".md")) out.push(rel);
    }
  };
  walk("docs");
  for (const f of fs.readdirSync(path.join(root, "notebooks")).sort()) {
    if (f.endsWith(".ipynb") || f.endsWith(".md")) out.push(path.join("notebooks", f));
  }
  return out;
}

interface Cell {
  cell_type: string;
  source: string[] | string;
}

/** A file's regenerated text (notebooks: Markdown cells only, written as nbstrip writes them). */
export function renderFile(file: string, text: string, dir = REFERENCE_DIR, found: string[] = []): string {
  if (!file.endsWith(".ipynb")) return render(text, dir, found);
  const nb = JSON.parse(text) as { cells: Cell[] };
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown") continue;
    const src = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    const next = render(src, dir, found);
    if (next !== src) cell.source = next.split(/(?<=\n)/);
  }
  return nbstrip.format(nb);
}

/** Files whose generated parts differ from what the summaries give, with the markers they hold. */
export function check(root = ROOT, dir = REFERENCE_DIR): { stale: string[]; markers: string[] } {
  const stale: string[] = [];
  const markers: string[] = [];
  for (const f of documentFiles(root)) {
    const text = fs.readFileSync(path.join(root, f), "utf8");
    const found: string[] = [];
    const next = renderFile(f, text, dir, found);
    markers.push(...found.map((m) => `${f}: ${m}`));
    if (found.length > 0 && next !== (f.endsWith(".ipynb") ? nbstrip.format(JSON.parse(text)) : text)) stale.push(f);
  }
  return { stale, markers };
}

function main(argv: string[]): number {
  if (argv.includes("--check")) {
    const { stale, markers } = check();
    if (stale.length > 0) {
      process.stderr.write(`docs-tables: generated tables or figures no longer match docs/results in: ${stale.join(", ")}\n  run \`npm run docs\` (and commit), or fix the summary they come from\n`);
      return 1;
    }
    process.stdout.write(`docs-tables: ${markers.length} generated tables and figures match docs/results\n`);
    return 0;
  }
  let n = 0;
  for (const f of documentFiles()) {
    const p = path.join(ROOT, f);
    const text = fs.readFileSync(p, "utf8");
    const next = renderFile(f, text);
    if (next !== text && next !== (f.endsWith(".ipynb") ? nbstrip.format(JSON.parse(text)) : text)) {
      fs.writeFileSync(p, next);
      process.stdout.write(`docs-tables: wrote ${f}\n`);
      n += 1;
    }
  }
  process.stdout.write(`docs-tables: ${n} file(s) updated\n`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
