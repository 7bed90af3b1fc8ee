import { test } from "node:test";
import * as assert from "node:assert/strict";

import { StudentRun } from "../src/experiments/results";
import { AblationArm, ablationBars, ablationCurves, ablationCurvesFigure, ablationSeeds, armSamples } from "../src/report/ablation";
import { runsFrame } from "../src/report/frames";
import { ablationTable, pairedTable, seedCell } from "../src/report/resultTables";
import { frameRecords } from "../src/report/tables";

function run(seed: number, method: string, hit: number | null, samples = hit ?? 3e6, finalAccuracy = hit === null ? 0.81 : 0.96): StudentRun {
  return {
    seed,
    method,
    samplesToTarget: hit,
    samples,
    steps: samples / 32,
    seconds: 1,
    stepsPerSecond: 1,
    finalAccuracy,
    storedBytes: 0, phases: [],
    curve: [
      { step: 0, samples: 0, phase: "p", accuracy: 0.5, loss: 0.7, trainLoss: NaN, seconds: 0, teacherFlops: 0, studentFlops: 0 },
      { step: samples / 32, samples, phase: "p", accuracy: finalAccuracy, loss: 0.1, trainLoss: 0.1, seconds: 1, teacherFlops: 0, studentFlops: 0 },
    ],
  };
}

const arms: AblationArm[] = [
  { label: "p1 = 0", runs: [run(1, "cx", null), run(0, "cx", 1.2e6)] },
  { label: "p1 = 500", runs: [run(0, "cx", 96000), run(1, "cx", 160000)] },
  { label: "p1 = 1000", runs: [run(0, "cx", 80000), run(1, "cx", 120000), run(0, "oneshot", 5e5)] },
];

test("ablationTable (danfojs): a column per seed, misses shown as not reached, medians with misses at the cap", () => {
  assert.deepEqual(ablationSeeds(arms, { method: "cx" }), [0, 1]);
  assert.deepEqual(armSamples(arms[0], [0, 1], "cx"), [1.2e6, null]);
  const rows = frameRecords(ablationTable(arms, { cap: 3e6, name: "p1Steps", method: "cx", baseline: "p1 = 500" }));
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[0], {
    p1Steps: "p1 = 0",
    "median": "≥ 2.10M",
    "seed 0": "1.20M",
    "seed 1": "not reached (0.81 at 3.00M)",
    reached: "1/2",
    "speed-up vs p1 = 500": "≤ 0.1x",
  });
  assert.equal(rows[1].median, "128k");
  assert.equal(rows[1]["speed-up vs p1 = 500"], "1.0x");
  // The oneshot run of the third arm is ignored (method filter): median of 80k and 120k.
  assert.equal(rows[2].median, "100k");
  assert.equal(rows[2]["speed-up vs p1 = 500"], "1.3x");
  assert.throws(() => ablationTable(arms, { cap: 3e6, baseline: "nope" }), /baseline "nope"/);
  assert.equal(seedCell(undefined), "-");
  // Without a baseline there is no ratio column; the label column defaults to "setting".
  assert.deepEqual(Object.keys(frameRecords(ablationTable(arms, { cap: 3e6, method: "cx" }))[0]), ["setting", "median", "seed 0", "seed 1", "reached"]);
});

test("ablationBars and curves: one bar per arm, one curve per seed", () => {
  const fig = ablationBars(arms, { method: "cx", target: 0.95, cap: 3e6 });
  assert.equal(fig.data.length, 2, "bars + a marker per seed");
  assert.deepEqual(fig.data[0].x, ["p1 = 0", "p1 = 500", "p1 = 1000"]);
  assert.deepEqual(fig.data[0].y, [2.1e6, 128000, 100000], "medians, the miss counted as the cap");
  assert.match(String((fig.data[0].text as string[])[0]), /1\/2 not reached/);
  assert.deepEqual(fig.data[1].y, [1.2e6, 3e6, 96000, 160000, 80000, 120000], "seeds in order, the miss at the cap");
  const curves = ablationCurves(arms, "cx");
  assert.deepEqual(Object.keys(curves), ["p1 = 0", "p1 = 500", "p1 = 1000"]);
  assert.equal(curves["p1 = 0"].length, 2);
  assert.equal(curves["p1 = 0"][0].samples[1], 1.2e6, "seed order, not run order");
  // 3 arms x (2 seeds + mean) + target line.
  assert.equal(ablationCurvesFigure(arms, { method: "cx", target: 0.95 }).data.length, 10);
});

test("pairedTable (danfojs merge on seed): ratios where both reached, a lower bound when the baseline missed", () => {
  const runs = [run(0, "cx", 100000), run(0, "oneshot", 1.3e6), run(1, "cx", 150000), run(1, "oneshot", null, 3e6), run(2, "cx", null), run(2, "oneshot", 1e6)];
  const rows = frameRecords(pairedTable(runsFrame(runs), "cx", "oneshot"));
  const col = "speed-up cx vs oneshot";
  assert.deepEqual(rows.map((r) => r.seed), ["0", "1", "2", "median (1 of 3 seeds both reached)"]);
  assert.equal(rows[0][col], "13.0x");
  assert.equal(rows[1][col], "≥ 20.0x");
  assert.equal(rows[1].oneshot, "not reached by 3.00M");
  assert.equal(rows[2][col], "-");
  assert.equal(rows[3][col], "13.0x");
});

test("an arm with no runs, or missing a seed the others have, is an error naming it, never a not-reached bar or a dropped row", () => {
  const empty: AblationArm[] = [arms[1], { label: "auto", runs: [] }];
  assert.throws(() => ablationBars(empty, { cap: 3e6 }), /arm "auto" has no runs/);
  assert.throws(() => ablationTable(empty, { cap: 3e6 }), /arm "auto" has no runs/);
  assert.throws(() => ablationCurves(empty), /arm "auto" has no runs/);
  const partial: AblationArm[] = [arms[1], { label: "auto", runs: [run(0, "cx", 88000)] }];
  assert.throws(() => ablationTable(partial, { cap: 3e6 }), /arm "auto" has no run for seed\(s\) 1/);
  assert.throws(() => armSamples(partial[1], [0, 1]), /no run for seed\(s\) 1/);
});
