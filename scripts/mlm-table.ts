/**
 * A masked-LM result folder as Markdown: each method's validation accuracy at the end of the budget
 * (mean and per seed), and its paired comparison with one-shot (comparisonRows: mean difference with
 * a 95% t interval over seeds) at a quarter, half and all of the budget.
 *
 *   npx tsx scripts/mlm-table.ts data/results/mlm-brown-reference
 */
import { comparisonRows, readMlmResult } from "../src/report/lmResults";

const dir = process.argv[2];
const r = dir ? readMlmResult(dir) : null;
if (!r) {
  console.error(`usage: tsx scripts/mlm-table.ts RESULT_DIR (a folder with an mlm summary.json)${dir ? `: none in ${dir}` : ""}`);
  process.exit(2);
}
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const seeds = r.config.seeds;
const teachers = seeds.map((s) => pct(r.teachers[String(s)].accuracy));
console.log(`${r.config.corpus}, preset ${r.config.preset}, seeds ${seeds.join(", ")}, backend ${r.backend}; teachers ${teachers.join(", ")}\n`);
console.log(`| method | mean accuracy at ${r.config.studentSteps} steps | ${seeds.map((s) => `seed ${s}`).join(" | ")} |`);
console.log(`| --- | --- | ${seeds.map(() => "---").join(" | ")} |`);
for (const [method, bySeed] of Object.entries(r.methods)) {
  const last = seeds.map((s) => {
    const ev = bySeed[String(s)]?.evaluations ?? [];
    return ev.length ? ev[ev.length - 1].accuracy : NaN;
  });
  const mean = last.reduce((a, b) => a + b, 0) / last.length;
  console.log(`| ${method} | ${pct(mean)} | ${last.map(pct).join(" | ")} |`);
}
const rows = comparisonRows(r);
if (rows.length) {
  const head = Object.keys(rows[0]);
  console.log(`\n| ${head.join(" | ")} |\n| ${head.map(() => "---").join(" | ")} |`);
  for (const row of rows) console.log(`| ${head.map((h) => String(row[h])).join(" | ")} |`);
}
