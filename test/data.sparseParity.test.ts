import { test } from "node:test";
import assert from "node:assert/strict";
import { bitsToTokens, parityLabel, parityTask, sampleParity } from "../src/data/sparseParity";
import { Rng } from "../src/rng";

test("labels match hand-computed parities (class 1 when the product over S is -1)", () => {
  const S = [0, 2, 3];
  // x: product over S of x_i, by hand.
  const rows: Array<[number[], number]> = [
    [[1, 1, 1, 1, 1], 0], // (+1)(+1)(+1) = +1
    [[-1, 1, 1, 1, 1], 1], // (-1)(+1)(+1) = -1
    [[-1, -1, -1, 1, -1], 0], // (-1)(-1)(+1) = +1; x_1 and x_4 are off S
    [[1, -1, -1, -1, 1], 0], // (+1)(-1)(-1) = +1
    [[-1, 1, -1, -1, 1], 1], // (-1)(-1)(-1) = -1
  ];
  for (const [x, y] of rows) assert.equal(parityLabel(x, 0, S), y, `x = ${x}`);
});

test("sampled batches are +-1, labelled by the first k bits, and balanced", () => {
  const task = parityTask(10, 3);
  assert.deepEqual(task.support, [0, 1, 2]);
  const b = sampleParity(task, new Rng("p"), 4000);
  assert.ok(b.x.every((v) => v === 1 || v === -1));
  let ones = 0;
  let plus = 0;
  for (let r = 0; r < b.batch; r++) {
    const prod = b.x[r * 10] * b.x[r * 10 + 1] * b.x[r * 10 + 2];
    assert.equal(b.y[r], prod === 1 ? 0 : 1);
    ones += b.y[r];
    plus += b.x[r * 10 + 7] > 0 ? 1 : 0;
  }
  assert.ok(Math.abs(ones / 4000 - 0.5) < 0.03, `class balance ${ones / 4000}`);
  assert.ok(Math.abs(plus / 4000 - 0.5) < 0.03, `bit balance ${plus / 4000}`);
});

test("the same stream gives the same samples; a random support is seeded", () => {
  const task = parityTask(20, 4);
  const a = sampleParity(task, new Rng("s"), 8);
  const b = sampleParity(task, new Rng("s"), 8);
  assert.deepEqual(Array.from(a.x), Array.from(b.x));
  assert.deepEqual(parityTask(20, 4, new Rng("r")).support, parityTask(20, 4, new Rng("r")).support);
  assert.notDeepEqual(parityTask(20, 4, new Rng("r")).support, [0, 1, 2, 3]);
});

test("bits become tokens +1 -> 0, -1 -> 1; bad sizes are refused", () => {
  assert.deepEqual(Array.from(bitsToTokens(new Float32Array([1, -1, -1, 1]))), [0, 1, 1, 0]);
  assert.throws(() => parityTask(5, 6), /k must be in \[1, n=5\], got 6/);
  assert.throws(() => parityTask(5, 0), /got 0/);
});
