/**
 * The notebooks' and reports' tables computed with danfojs (src/report/frames.ts), checked against the
 * experiments' own bookkeeping (summarize, budgetTable) and hand-computed values.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { StudentRun, summarize, writeResults } from "../src/experiments/results";
import { budgetTable } from "../src/experiments/languageModel";
import {
  budgetFrame,
  curvesFrame,
  formatFrame,
  medianFrame,
  pairedFrame,
  pairedSummary,
  readCurvesCsv,
  readMergedCsv,
  reorder,
  runsFrame,
  samplesCell,
  samplesToTargetFrame,
  sweepMedianFrame,
} from "../src/report/frames";
import { frameCells } from "../src/report/tables";

/** A run whose accuracy climbs linearly to `peak` over `evals` evaluations of 1000 samples each. */
function run(seed: number, method: string, evals: number, peak: number, target = 0.95): StudentRun {
  const curve = Array.from({ length: evals }, (_, i) => {
    const acc = 0.5 + ((peak - 0.5) * (i + 1)) / evals;
    return { step: (i + 1) * 10, samples: (i + 1) * 1000, phase: i < 2 && method === "cx" ? "tap:hidden" : "output", accuracy: acc, loss: 1 - acc, trainLoss: i === 0 ? NaN : 0.5, seconds: i * 0.1, teacherFlops: i * 1e6, studentFlops: i * 2e5 };
  });
  const hitIndex = curve.findIndex((c) => c.accuracy >= target);
  const cut = hitIndex >= 0 ? curve.slice(0, hitIndex + 1) : curve;
  const last = cut[cut.length - 1];
  return { seed, method, samplesToTarget: hitIndex >= 0 ? last.samples : null, samples: last.samples, steps: last.step, seconds: 1, stepsPerSecond: 10, finalAccuracy: last.accuracy, storedBytes: 0, phases: [], curve: cut };
}

const CAP = 20000;
const runs: StudentRun[] = [
  run(0, "cx", 4, 0.99),
  run(1, "cx", 6, 0.99),
  run(2, "cx", 5, 0.99),
  run(0, "oneshot", 12, 0.99),
  run(1, "oneshot", 20, 0.9), // never reaches 95%
  run(2, "oneshot", 16, 0.99),
];

function cells(df: ReturnType<typeof curvesFrame>): Record<string, unknown>[] {
  const { columns, rows } = frameCells(df);
  return rows.map((r) => Object.fromEntries(columns.map((c, j) => [c, r[j]])));
}

test("samplesToTargetFrame from the curves equals each run's own samplesToTarget", () => {
  const stt = cells(samplesToTargetFrame(curvesFrame(runs), 0.95));
  assert.equal(stt.length, runs.length);
  for (const r of runs) {
    const row = stt.find((x) => x.seed === r.seed && x.method === r.method);
    assert.ok(row, `row for ${r.method} seed ${r.seed}`);
    if (r.samplesToTarget === null) assert.ok(Number.isNaN(row.samplesToTarget as number), `${r.method} ${r.seed} missed`);
    else assert.equal(row.samplesToTarget, r.samplesToTarget);
    assert.equal(row.samples, r.samples, "samples at the last evaluation");
    assert.equal(row.accuracy, r.finalAccuracy, "accuracy at the last evaluation");
  }
});

test("samplesToTargetFrame: one row per run when two evaluations share the last sample count (a phase boundary)", () => {
  const r = run(0, "cx", 3, 0.8);
  const last = r.curve[r.curve.length - 1];
  r.curve.push({ ...last, phase: "output", accuracy: last.accuracy - 0.1 });
  const stt = cells(samplesToTargetFrame(curvesFrame([r]), 0.95));
  assert.equal(stt.length, 1);
  assert.equal(stt[0].samples, last.samples);
});

test("medianFrame equals summarize()'s medians (a miss counted as the cap) and counts the seeds reached", () => {
  const want = summarize(runs, ["cx", "oneshot"], [0, 1, 2], CAP);
  const med = cells(medianFrame(samplesToTargetFrame(curvesFrame(runs), 0.95), CAP, { order: ["oneshot", "cx"] }));
  assert.deepEqual(med.map((r) => r.method), ["oneshot", "cx"], "rows in the given order");
  for (const r of med) {
    assert.equal(r.median, want[r.method as string].median, `${r.method} median`);
  }
  assert.deepEqual(med.map((r) => [r.reached, r.seeds, r.lowerBound]), [[2, 3, 0], [3, 3, 0]]);
  // Two misses out of three: the median is the cap, a lower bound.
  const twoMiss = runsFrame([run(0, "a", 4, 0.99), run(1, "a", 4, 0.8), run(2, "a", 4, 0.8)]);
  const m2 = cells(medianFrame(twoMiss, CAP));
  assert.deepEqual([m2[0].median, m2[0].reached, m2[0].lowerBound], [CAP, 1, 1]);
  // Even count, one miss: the median averages a reached value with the cap.
  const even = cells(medianFrame(runsFrame([run(0, "b", 4, 0.99), run(1, "b", 4, 0.8)]), CAP))[0];
  assert.deepEqual([even.median, even.lowerBound], [(4000 + CAP) / 2, 1]);
});

test("pairedFrame joins two methods per seed; ratio and difference only where both reached", () => {
  const p = cells(pairedFrame(runsFrame(runs), "cx", "oneshot"));
  assert.deepEqual(p.map((r) => r.seed), [0, 1, 2]);
  const byRun = (m: string, s: number) => runs.find((r) => r.method === m && r.seed === s)!.samplesToTarget!;
  assert.equal(p[0].ratio, byRun("oneshot", 0) / byRun("cx", 0));
  assert.equal(p[2].difference, byRun("oneshot", 2) - byRun("cx", 2));
  assert.ok(Number.isNaN(p[1].ratio as number), "one-shot missed on seed 1: no ratio");
  const s = pairedSummary(pairedFrame(runsFrame(runs), "cx", "oneshot"), "cx", "oneshot");
  assert.equal(s.seeds, 3);
  assert.equal(s.bothReached, 2);
  const ratios = [0, 2].map((seed) => byRun("oneshot", seed) / byRun("cx", seed));
  assert.ok(Math.abs(s.medianRatio - (ratios[0] + ratios[1]) / 2) < 1e-9);
  assert.equal(s.log10Difference.n, 2);
});

test("budgetFrame equals the experiment's budgetTable (mean accuracy over seeds at fixed steps)", () => {
  const budgets = [20, 40, 60];
  const want = budgetTable(runs, ["cx", "oneshot"], budgets);
  const got = cells(budgetFrame(curvesFrame(runs), budgets, ["cx", "oneshot"]));
  assert.equal(got.length, 2);
  for (let i = 0; i < 2; i++) {
    for (const b of budgets) {
      const w = want[i][`acc@${b}`] as number;
      const g = got[i][`acc@${b}`] as number;
      if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `acc@${b}`);
      else assert.ok(Math.abs(w - g) < 1e-6, `${want[i].method} acc@${b}: ${g} vs ${w}`);
    }
  }
});

test("curves.csv written by writeResults reads back into the same tables", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cd-frames-"));
  try {
    writeResults(dir, { seeds: [0, 1, 2] }, { config: {}, backend: "cpu", adapter: null, native: null, methods: summarize(runs, ["cx", "oneshot"], [0, 1, 2], CAP) }, runs);
    const df = await readCurvesCsv(path.join(dir, "curves.csv"));
    const fromCsv = cells(medianFrame(samplesToTargetFrame(df, 0.95), CAP, { order: ["cx", "oneshot"] }));
    const fromMemory = cells(medianFrame(samplesToTargetFrame(curvesFrame(runs), 0.95), CAP, { order: ["cx", "oneshot"] }));
    assert.deepEqual(fromCsv, fromMemory);
    await assert.rejects(readCurvesCsv(path.join(dir, "nope.csv")), /no such file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("merged.csv with a quoted list-valued grid field: medians per grid point and method", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cd-merged-"));
  try {
    const file = path.join(dir, "merged.csv");
    fs.writeFileSync(
      file,
      [
        "p1Steps,layers,method,seed,samplesToTarget",
        '250,"[1,2]",cx,0,1000',
        '250,"[1,2]",cx,1,3000',
        '250,"[1,2]",cx,2,',
        '500,"[1,2]",cx,0,2000',
        '500,"[1,2]",cx,1,2000',
      ].join("\n") + "\n",
    );
    const merged = await readMergedCsv(file);
    assert.deepEqual(merged.columns, ["p1Steps", "layers", "method", "seed", "samplesToTarget"]);
    const med = cells(sweepMedianFrame(merged, 9000));
    assert.deepEqual(
      med.map((r) => [r.p1Steps, r.layers, r.method, r.median, r.seeds]),
      [
        [250, "[1,2]", "cx", 3000, 3],
        [500, "[1,2]", "cx", 2000, 2],
      ],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the sweep's own merged.csv (list-valued grid field) gives the sweep's medians through danfojs", async () => {
  const { mergedFiles, parseGrid } = await import("../src/experiments/sweep");
  const grid = parseGrid(JSON.stringify({ command: "parity", grid: { methods: [["cx", "oneshot"], ["oneshot"]], p1Steps: [250] }, seeds: [0, 1, 2] }), "grid.json");
  const cap = 9000;
  const rows = [
    { point: { methods: ["cx", "oneshot"], p1Steps: 250 }, method: "cx", seeds: [0, 1, 2], values: [3200, null, 4000], median: 4000 },
    { point: { methods: ["oneshot"], p1Steps: 250 }, method: "oneshot", seeds: [0, 1, 2], values: [5600, 6400, null], median: 6400 },
  ];
  const { csv } = mergedFiles(grid, { column: "samplesToTarget", read: () => null }, { rows, missing: [] } as never);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cd-sweep-"));
  try {
    fs.writeFileSync(path.join(dir, "merged.csv"), csv);
    const med = cells(sweepMedianFrame(await readMergedCsv(path.join(dir, "merged.csv")), cap));
    assert.deepEqual(
      med.map((r) => [JSON.parse(String(r.methods)), r.method, r.median, r.seeds]),
      rows.map((r) => [r.point.methods, r.method, r.median, 3]),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("formatFrame and reorder: display text as the last step, rows in a given order", () => {
  const f = cells(formatFrame(reorder(runsFrame(runs.slice(3)), "seed", ["2", "0", "1"]), { samplesToTarget: samplesCell }, { samplesToTarget: "to 95%" }));
  assert.deepEqual(f.map((r) => [r.seed, r["to 95%"]]), [[2, "15k"], [0, "12k"], [1, "not reached"]]);
});
