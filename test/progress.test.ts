import { test } from "node:test";
import assert from "node:assert/strict";
import { fmtDuration, fmtSamples } from "../src/progress";

test("durations and sample counts format without 60s or fractional leftovers", () => {
  assert.equal(fmtDuration(59.6), "1m00s");
  assert.equal(fmtDuration(419.6), "7m00s");
  assert.equal(fmtDuration(3599.7), "1h00m");
  assert.equal(fmtDuration(5.2), "5s");
  assert.equal(fmtSamples(905.66), "906");
  assert.equal(fmtSamples(88000), "88k");
  assert.equal(fmtSamples(2_490_000), "2.49M");
  assert.equal(fmtSamples(null), "-");
});
