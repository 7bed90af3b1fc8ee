import { test } from "node:test";
import assert from "node:assert/strict";
import { withPhaseRates } from "../src/experiments/summary";

test("each phase's steps per second runs from its start to the next phase's, the last to the run's end", () => {
  const r = withPhaseRates(
    [
      { name: "tap:hidden<-hidden", step: 0, seconds: 0 },
      { name: "teacher", step: 300, seconds: 1.5 },
    ],
    1300,
    11.5,
  );
  assert.deepEqual(
    r.map((p) => p.stepsPerSecond),
    [200, 100],
  );
  // Older results carry no phase times: no rate, not a made-up one.
  assert.deepEqual(withPhaseRates([{ name: "labels", step: 0 }], 10, 1)[0].stepsPerSecond, null);
  // A phase with no step (ended at once) has no rate.
  assert.equal(withPhaseRates([{ name: "a", step: 5, seconds: 1 }, { name: "b", step: 5, seconds: 1 }], 9, 2)[0].stepsPerSecond, null);
});
