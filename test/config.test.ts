import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../src/config";
import { PARITY_FIELDS, resolveParityConfig } from "../src/experiments/parity";
import { defaultsOf } from "../src/config";
const PARITY_DEFAULTS = defaultsOf(PARITY_FIELDS);
import { parseArgs } from "../src/cliArgs";
const PARITY_SCHEMA = PARITY_FIELDS;

function rejects(f: () => unknown, field: string, valueText: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assert.equal(e.field, field);
    assert.ok(e.message.includes(field) && e.message.includes(valueText), `message "${e.message}" names ${field} and ${valueText}`);
    return true;
  });
}

test("presets resolve, flags override them, and the result is frozen", () => {
  const c = resolveParityConfig("smoke", { studentWidth: 32, seeds: [3, 1] });
  assert.equal(c.k, 4);
  assert.equal(c.studentWidth, 32);
  assert.deepEqual(c.seeds, [3, 1]);
  assert.equal(c.tapSteps, PARITY_DEFAULTS.tapSteps);
  assert.equal(c.p1Steps, c.tapSteps, "the old name stays readable");
  assert.ok(Object.isFrozen(c));
  assert.equal(resolveParityConfig("main").k, 5);
});

test("bad config values are refused, naming the field and the value", () => {
  rejects(() => resolveParityConfig("main", { k: 51 }), "k", "51");
  rejects(() => resolveParityConfig("main", { k: 0 }), "k", "0");
  rejects(() => resolveParityConfig("main", { teacherWidth: 2.5 }), "teacherWidth", "2.5");
  rejects(() => resolveParityConfig("main", { studentWidth: 0 }), "studentWidth", "0");
  rejects(() => resolveParityConfig("main", { lr: -0.1 }), "lr", "-0.1");
  rejects(() => resolveParityConfig("main", { lr: NaN }), "lr", "NaN");
  rejects(() => resolveParityConfig("main", { teacherLr: 0 }), "teacherLr", "0");
  rejects(() => resolveParityConfig("main", { methods: ["cx", "distill"] }), "methods", "distill");
  rejects(() => resolveParityConfig("main", { wdith: 3 }), "config key", "wdith");
  rejects(() => resolveParityConfig("huge"), "preset", "huge");
  rejects(() => resolveParityConfig("main", { seeds: [1, 1] }), "seeds", "[1,1]");
  rejects(() => resolveParityConfig("main", { targetAccuracy: 1.5 }), "targetAccuracy", "1.5");
  rejects(() => resolveParityConfig("main", { projDim: 21 }), "projDim", "21");
});

test("CLI flags parse to typed values; non-numeric values and unknown flags are refused", () => {
  const p = parseArgs(["--n", "30", "--k=3", "--seeds", "0,1,2", "--methods", "cx,oneshot", "--lr", "5e-2", "--max-samples", "2M", "--out", "x"], PARITY_SCHEMA, ["out", "preset"], ["json"]);
  assert.deepEqual(p.overrides, { n: 30, k: 3, seeds: [0, 1, 2], methods: ["cx", "oneshot"], lr: 0.05, maxSamples: 2e6 });
  assert.deepEqual(p.options, { out: "x" });
  rejects(() => parseArgs(["--n", "abc"], PARITY_SCHEMA, [], []), "n", "abc");
  rejects(() => parseArgs(["--lr", "0.1x"], PARITY_SCHEMA, [], []), "lr", "0.1x");
  rejects(() => parseArgs(["--width", "3"], PARITY_SCHEMA, [], []), "option", "--width");
  rejects(() => parseArgs(["--n"], PARITY_SCHEMA, [], []), "--n", "null");
  rejects(() => parseArgs(["stray"], PARITY_SCHEMA, [], []), "argument", "stray");
});
