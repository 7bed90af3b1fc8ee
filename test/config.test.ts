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

test("one declaration per field: old names are aliases (flags, overrides), --help shows the meaning, saved configs read back", async () => {
  const { configFrom } = await import("../src/experiments/experiment");
  const { PARITY } = await import("../src/experiments/parity");
  const { fieldsHelp, configToJson } = await import("../src/config");
  const p = parseArgs(["--p1-steps", "250", "--p1-lr", "0.2"], PARITY_SCHEMA, [], []);
  assert.deepEqual(p.overrides, { tapSteps: 250, tapLr: 0.2 });
  const c = resolveParityConfig("main", { p1Steps: 100 });
  assert.equal(c.tapSteps, 100);
  assert.ok(!("p1Steps" in JSON.parse(JSON.stringify(c))), "the old name is never saved");
  const help = fieldsHelp(PARITY_SCHEMA);
  assert.match(help, /--teacher-width\s+teacher hidden width \(PAPER\.md: 1000\) \[default 1000\]/);
  assert.match(help, /--tap-steps .*\(old name: --p1-steps\)/);
  const saved = resolveParityConfig("main", { maxSamples: 2e6, methods: ["cx"] });
  assert.deepEqual(configFrom(PARITY, JSON.parse(JSON.stringify(configToJson(saved)))), saved);
  assert.throws(() => resolveParityConfig("main", { maxSamples: Infinity }), /invalid maxSamples: Infinity \(must be finite\)/);
  assert.throws(() => configFrom(PARITY, { ...configToJson(c), checksum: "x" }), /invalid config key: "checksum"/);
});

test("mlm's reference preset: the PyTorch reference's sizes and schedules, for both corpora", async () => {
  const { resolveLanguageModelConfig, adamW } = await import("../src/experiments/languageModel");
  for (const corpus of ["brown", "pcfg"]) {
    const r = resolveLanguageModelConfig("reference", { corpus });
    assert.equal(r.vocabSize, corpus === "brown" ? 8000 : 256);
    assert.deepEqual([r.seqLen, r.batch, r.teacherLayers, r.teacherDModel, r.teacherHeads, r.teacherSteps, r.teacherLr], [64, 64, 4, 128, 4, 1500, 2e-3]);
    assert.deepEqual([r.studentLayers, r.studentDModel, r.studentHeads, r.studentSteps, r.lr], [4, 32, 2, 600, 3e-3]);
    assert.deepEqual([r.beta1, r.beta2, r.weightDecay, r.warmupFrac, r.minLrFactor, r.clipNorm, r.teacherCkptEvery], [0.9, 0.98, 0.01, 0.05, 0.1, 1, 100]);
    // Tap phases at the student's peak rate (as the reference); evaluations every 50 steps (150, 300, 600 are budgets).
    assert.deepEqual([r.normalize, r.tapSteps, r.tapLr, r.validBatches, r.evalEvery], ["layernorm", 50, 3e-3, 0, 50]);
    assert.equal(resolveLanguageModelConfig("reference", { corpus, normalize: "none" }).normalize, "none", "raw targets one flag away");
    const o = adamW(r.lr, r.studentSteps, r);
    assert.deepEqual(o, { kind: "adam", lr: 3e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, clipNorm: 1, schedule: { kind: "warmupCosine", warmupSteps: 30, totalSteps: 600, minFactor: 0.1 } });
  }
  // The existing presets keep their schedule (cosine to 0, no clipping).
  const main = resolveLanguageModelConfig("main", {});
  assert.deepEqual([main.minLrFactor, main.clipNorm, main.vocabSize], [0, 0, 2000]);
});
