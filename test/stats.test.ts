import { test } from "node:test";
import assert from "node:assert/strict";
import { pairedDifference } from "../src/stats";

test("pairedDifference: mean, sd and the t interval against hand-computed values", () => {
  // differences 1, 2, 3, 6: mean 3, sd sqrt(((4 + 1 + 0 + 9) / 3)) = sqrt(14/3); t(0.975, 3) = 3.182446
  const r = pairedDifference([11, 12, 13, 16], [10, 10, 10, 10]);
  const sd = Math.sqrt(14 / 3);
  const half = 3.182446305 * (sd / 2);
  assert.equal(r.n, 4);
  assert.equal(r.mean, 3);
  assert.ok(Math.abs(r.sd - sd) < 1e-12);
  assert.ok(Math.abs(r.lo - (3 - half)) < 1e-6 && Math.abs(r.hi - (3 + half)) < 1e-6, `${r.lo} ${r.hi}`);
  // 90%: t(0.95, 3) = 2.353363
  const r90 = pairedDifference([11, 12, 13, 16], [10, 10, 10, 10], 0.9);
  assert.ok(Math.abs(r90.hi - (3 + 2.353363435 * (sd / 2))) < 1e-6);
});

test("pairedDifference: unpaired values are dropped; fewer than two pairs give no interval; bad input is refused", () => {
  const r = pairedDifference([1, null, 3, NaN], [0, 5, 1, 2]);
  assert.equal(r.n, 2);
  assert.equal(r.mean, 1.5);
  const one = pairedDifference([1], [0]);
  assert.equal(one.mean, 1);
  assert.ok(Number.isNaN(one.lo) && Number.isNaN(one.hi));
  assert.throws(() => pairedDifference([1, 2], [1]), /2 values against 1/);
  assert.throws(() => pairedDifference([1], [1], 1), /level/);
});
