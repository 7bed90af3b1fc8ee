/**
 * Charts that tell the truth, one test per rule, on the spec builders the notebooks and reports use.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";

import { StudentRun } from "../src/experiments/results";
import { ablationBars } from "../src/report/ablation";
import { integerTicks, logTickValues, parseTickLabel, tickLabel } from "../src/report/axes";
import { tapLossFigure } from "../src/report/phaseCurves";
import { Axis, FigureSpec, accuracyCurves, barChart, lineChart, samplesToTargetBars } from "../src/report/plots";

function ticksOf(a: Axis): { vals: number[]; text: string[] } {
  return { vals: a.tickvals as number[], text: a.ticktext as string[] };
}

/** Every log axis of `fig` has explicit ticks whose labels read as their values, inside the data's span. */
function assertReadableLogTicks(fig: FigureSpec, axis: "xaxis" | "yaxis"): void {
  const a = fig.layout[axis];
  assert.equal(a.type, "log");
  assert.equal(a.tickmode, "array");
  const { vals, text } = ticksOf(a);
  assert.ok(vals.length >= 2, `${vals.length} ticks`);
  text.forEach((t, i) => assert.ok(Math.abs(parseTickLabel(t) - vals[i]) <= 1e-9 * vals[i], `label ${t} reads as ${vals[i]}`));
  const key = axis === "xaxis" ? "x" : "y";
  const values = fig.data.flatMap((t) => t[key] as number[]).filter((v) => v > 0);
  for (const v of vals) assert.ok(v >= Math.min(...values) * 0.999 && v <= Math.max(...values) * 1.001, `tick ${v} within the data`);
}

test("rule: bars start from zero on a linear axis; a log axis for bars is refused", () => {
  const bars = barChart(["a", "b"], [{ name: "s", values: [42000, 71000] }]);
  assert.notEqual(bars.layout.yaxis.type, "log");
  assert.equal(bars.layout.yaxis.rangemode, "tozero");
  const h = barChart(["a"], [{ name: "s", values: [3] }], { horizontal: true });
  assert.equal(h.layout.xaxis.rangemode, "tozero", "horizontal bars: the value axis is x");
  assert.throws(() => barChart(["a"], [{ name: "s", values: [1] }], { logY: true } as never), /log axis/);
  for (const fig of [
    samplesToTargetBars([{ method: "cx", samples: [88000, 136000] }, { method: "oneshot", samples: [1.3e6, null] }], { cap: 3e6 }),
    ablationBars([{ label: "250", runs: [{ seed: 0, method: "cx", samplesToTarget: null, samples: 1e6, steps: 1, seconds: 1, stepsPerSecond: 1, finalAccuracy: 0.8, storedBytes: 0, phases: [], curve: [] }] }], { cap: 1e6 }),
  ]) {
    assert.notEqual(fig.layout.yaxis.type, "log");
    assert.equal(fig.layout.yaxis.rangemode, "tozero");
  }
  // "Not reached" is visible: a marker at the cap, not an empty slot at y = 0.
  const miss = samplesToTargetBars([{ method: "never", samples: [null] }], { cap: 2e5 });
  assert.deepEqual(miss.data[0].y, [2e5]);
  assert.deepEqual(miss.data[1].y, [2e5]);
});

test("rule: accuracy curves use a y range fitted to the data, not 0..1", () => {
  // Masked-LM students at 3-19% (the case that was unreadable on 0..1).
  const lm = accuracyCurves({
    cx: { samples: [10, 20, 30], accuracy: [0.03, 0.1, 0.137] },
    oneshot: { samples: [10, 20, 30], accuracy: [0.05, 0.08, 0.19] },
  });
  const [lo, hi] = lm.layout.yaxis.range as [number, number];
  assert.ok(lo <= 0.03 && hi >= 0.19, `[${lo}, ${hi}] holds the data`);
  assert.ok(hi - lo <= 0.2, `[${lo}, ${hi}] fits the data (span 0.16, padded by 5%)`);
  // Parity curves with a target line: the target is inside the range.
  const parity = accuracyCurves({ cx: { samples: [0, 1000], accuracy: [0.5, 0.97] } }, { target: 0.95 });
  const [plo, phi] = parity.layout.yaxis.range as [number, number];
  assert.ok(plo >= 0.45 && plo <= 0.5 && phi >= 0.97 && phi <= 1.02);
  assert.deepEqual(accuracyCurves({ cx: { samples: [0], accuracy: [0.5] } }, { yRange: [0, 1] }).layout.yaxis.range, [0, 1], "an explicit range wins");
});

test("rule: log ticks read unambiguously (10k, 20k, 50k ... not 2, 3, 5)", () => {
  assert.deepEqual(logTickValues(40000, 3e6), [50000, 100000, 200000, 500000, 1000000, 2000000]);
  assert.deepEqual(logTickValues(42000, 71000), [50000, 60000, 70000], "less than a decade: 1..9 per decade");
  assert.ok(logTickValues(1e-6, 1e6).length <= 12, "many decades: sparser");
  assert.deepEqual([1e4, 2e4, 2.5e6, 300, 0.05, 0.002, 0].map(tickLabel), ["10k", "20k", "2.5M", "300", "0.05", "2e-3", "0"]);
  for (const v of [1e4, 2e4, 2.5e6, 300, 0.05, 0.002, 1.5e9]) assert.equal(parseTickLabel(tickLabel(v)), v);
  // 01's samples-to-95% against n, 02's curves on a log x axis, 03's tap MSE on a log y axis.
  assertReadableLogTicks(lineChart([{ name: "oneshot", x: [20, 30, 40, 50], y: [120000, 480000, 1.3e6, 2e6] }], { logY: true }), "yaxis");
  assertReadableLogTicks(accuracyCurves({ cx: { samples: [1000, 30000, 88000], accuracy: [0.5, 0.6, 0.96] } }, { logX: true }), "xaxis");
  const run: StudentRun = {
    seed: 0, method: "cx", samplesToTarget: null, samples: 3, steps: 3, seconds: 1, stepsPerSecond: 1, finalAccuracy: 0.5, storedBytes: 0, phases: [],
    curve: [0.31, 0.05, 0.004].map((mse, i) => ({ step: i, samples: (i + 1) * 1000, phase: "tap:block1", accuracy: 0.5, loss: 0.7, trainLoss: mse, seconds: i, teacherFlops: 0, studentFlops: 0 })),
  };
  assertReadableLogTicks(tapLossFigure([run]), "yaxis");
});

test("rule: integer axes get integer ticks (no 10.5 for n)", () => {
  const n = lineChart([{ name: "cx", x: [10, 14], y: [1, 2] }]);
  assert.deepEqual(n.layout.xaxis.tickvals, [10, 14], "few integer values: ticks at the values");
  const k = lineChart([{ name: "a", x: Array.from({ length: 12 }, (_, i) => i + 1), y: Array(12).fill(0.5) }]);
  assert.deepEqual(k.layout.xaxis.tickvals, Array.from({ length: 12 }, (_, i) => i + 1));
  const many = integerTicks(Array.from({ length: 16 }, (_, i) => i));
  assert.ok(many && Number.isInteger(many.dtick) && (many.dtick as number) >= 1, "many small integers: an integer step");
  assert.equal(integerTicks([0.5, 1]), null, "not an integer axis");
  assert.equal(lineChart([{ name: "a", x: [0.5, 1.5], y: [1, 2] }]).layout.xaxis.tickvals, undefined);
});
