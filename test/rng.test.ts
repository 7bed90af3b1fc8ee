import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, rootRng } from "../src/rng";

test("same seed and label give the same stream; different labels differ", () => {
  const a = rootRng(3).derive("data");
  const b = rootRng(3).derive("data");
  const c = rootRng(3).derive("init");
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
});

test("uniformArray stays in range and normalArray has about the right moments", () => {
  const r = new Rng("t");
  const u = r.uniformArray(10000, -0.5, 0.25);
  assert.ok(u.every((v) => v >= -0.5 && v < 0.25));
  const g = r.normalArray(20000, 2);
  const mean = g.reduce((s, v) => s + v, 0) / g.length;
  const varr = g.reduce((s, v) => s + (v - mean) ** 2, 0) / g.length;
  assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
  assert.ok(Math.abs(varr - 4) < 0.15, `variance ${varr}`);
});

test("subset returns k distinct sorted indices below n", () => {
  const s = new Rng("s").subset(50, 6);
  assert.equal(s.length, 6);
  assert.equal(new Set(s).size, 6);
  assert.deepEqual([...s].sort((a, b) => a - b), s);
  assert.ok(s.every((i) => i >= 0 && i < 50));
});
