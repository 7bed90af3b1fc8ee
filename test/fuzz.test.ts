/**
 * Property-based input fuzzing (fast-check): every command line and every config either resolves
 * (and then runs, on tiny budgets) or ends in a one-line ConfigError/CheckpointError, never another
 * exception, a stack trace or a hang. Mostly in process through the parse/resolve path; a small
 * sample goes through the real CLI (exit code 0 or 2, one line on stderr).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { ConfigError } from "../src/config";
import { kebab } from "../src/cliArgs";
import { CheckpointError } from "../src/train/checkpoints";
import { planCommand } from "../src/commands/plan";
import { PARITY, PARITY_FIELDS as PARITY_SCHEMA, ParityMethod, resolveParityConfig, runParity } from "../src/experiments/parity";
import { PARITY_TRANSFORMER, PARITY_TRANSFORMER_FIELDS as PARITY_TRANSFORMER_SCHEMA, resolveParityTransformerConfig } from "../src/experiments/parityTransformer";
import { useBackend } from "./helpers";

const BIN = path.join(__dirname, "..", "bin", "curriculum-distill.js");
const RUNS = fs.mkdtempSync(path.join(os.tmpdir(), "cd-fuzz-"));
const OPTIONS = ["preset", "out", "backend", "cache", "workers", "run-id", "resume", "runs-dir", "save-every", "json", "report", "quiet", "no-cache", "force", "dry-run"];

const value = fc.oneof(
  fc.constantFrom("0", "1", "-1", "2", "3", "12", "1e3", "2.5", "1k", "3M", "NaN", "Infinity", "inf", "", " ", "true", "false", "yes",
    "cx", "oneshot,cx", "cx,cx", "0,1", "0,,1", "-0", "1e400", "0x10", "main", "smoke", "paper", "wasm", "cpu", "gpu", "post", "random", "é", "a b", "--"),
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -5, max: 100000 }).map(String),
  fc.double({ noNaN: false }).map(String),
);

function flagsOf(schema: Record<string, unknown>): string[] {
  return [...Object.keys(schema).map(kebab), ...OPTIONS, "colour", "N", "k"];
}

/** An argv: flags (known, unknown), values, `--flag=value` forms, stray positionals. */
function argv(schema: Record<string, unknown>) {
  const flag = fc.constantFrom(...flagsOf(schema));
  const item = fc.oneof(
    { weight: 5, arbitrary: fc.tuple(flag, value).map(([f, v]) => [`--${f}`, v]) },
    { weight: 2, arbitrary: fc.tuple(flag, value).map(([f, v]) => [`--${f}=${v}`]) },
    { weight: 1, arbitrary: flag.map((f) => [`--${f}`]) },
    { weight: 1, arbitrary: value.map((v) => [v]) },
  );
  return fc.array(item, { maxLength: 6 }).map((xs) => xs.flat().filter((a) => a !== "--help" && a !== "-h"));
}

function oneLineError(e: unknown): void {
  assert.ok(e instanceof ConfigError || e instanceof CheckpointError, `unexpected ${(e as Error)?.name}: ${(e as Error)?.message}`);
  assert.ok(!(e as Error).message.includes("\n"), `one line: ${(e as Error).message}`);
}

test("fuzz: command lines of both parity commands resolve or fail with one ConfigError line (600 cases)", () => {
  for (const [command, schema] of [[PARITY, PARITY_SCHEMA], [PARITY_TRANSFORMER, PARITY_TRANSFORMER_SCHEMA]] as const) {
    fc.assert(
      fc.property(argv(schema), (args) => {
        try {
          const plan = command === PARITY ? planCommand(PARITY, [...args, "--runs-dir", RUNS]) : planCommand(PARITY_TRANSFORMER, [...args, "--runs-dir", RUNS]);
          assert.ok(plan.workers >= 1 && plan.saveEvery >= 1);
          assert.ok(plan.cfg.k <= plan.cfg.n);
          assert.ok(!fs.existsSync(plan.runDir), "planning writes nothing");
        } catch (e) {
          oneLineError(e);
        }
      }),
      { numRuns: 300, seed: command.name.length },
    );
  }
});

test("fuzz: config objects (any JSON values, unknown keys) resolve or fail with one ConfigError line (400 cases)", () => {
  const keys = fc.constantFrom(...Object.keys(PARITY_SCHEMA), ...Object.keys(PARITY_TRANSFORMER_SCHEMA), "colour", "__proto__x");
  const anyValue = fc.oneof(fc.jsonValue(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e300, [], [1, 1], ["cx"], null));
  const overrides = fc.dictionary(keys, anyValue, { maxKeys: 5 });
  const preset = fc.constantFrom(undefined, "smoke", "main", "paper", "nope");
  for (const resolve of [resolveParityConfig, resolveParityTransformerConfig]) {
    fc.assert(
      fc.property(preset, overrides, (p, o) => {
        try {
          const cfg = resolve(p, o);
          assert.ok(Object.isFrozen(cfg));
        } catch (e) {
          oneLineError(e);
        }
      }),
      { numRuns: 200, seed: 7 },
    );
  }
});

test("fuzz: tiny random configs that resolve also run to the end (20 runs)", async () => {
  await useBackend();
  const methods = fc.subarray<ParityMethod>(["cx", "oneshot", "progressive", "scratch", "twoshot"], { minLength: 1 });
  const cfgArb = fc.record({
    n: fc.integer({ min: 1, max: 8 }), k: fc.integer({ min: 1, max: 8 }), teacherWidth: fc.integer({ min: 1, max: 8 }),
    studentWidth: fc.integer({ min: 1, max: 6 }), batch: fc.integer({ min: 1, max: 8 }), teacherBatch: fc.integer({ min: 1, max: 8 }),
    heldout: fc.integer({ min: 1, max: 40 }), evalEvery: fc.integer({ min: 1, max: 30 }), ckptEvery: fc.integer({ min: 1, max: 30 }),
    maxSamples: fc.integer({ min: 1, max: 400 }), teacherMaxSamples: fc.integer({ min: 1, max: 400 }), p1Steps: fc.integer({ min: 0, max: 20 }),
    twoShotSteps: fc.integer({ min: 0, max: 20 }), projDim: fc.integer({ min: 0, max: 6 }), teacherExtraCkpts: fc.integer({ min: 0, max: 3 }),
    projection: fc.constantFrom("random", "learned"), cxSource: fc.constantFrom("final", "init"), tapActivation: fc.constantFrom("post", "pre"),
    runToCap: fc.boolean(), methods,
  });
  let ran = 0;
  await fc.assert(
    fc.asyncProperty(cfgArb, async (o) => {
      let cfg: ReturnType<typeof resolveParityConfig>;
      try {
        cfg = resolveParityConfig("smoke", { ...o, seeds: [0] });
      } catch (e) {
        oneLineError(e);
        return;
      }
      const r = await runParity(cfg, { cacheDir: null, allowFailedTeacher: true }); // tiny teachers: a control, not a result
      assert.equal(r.runs.length, cfg.methods.length);
      for (const run of r.runs) assert.ok(run.samples <= cfg.maxSamples + cfg.batch);
      ran++;
    }),
    { numRuns: 20, seed: 3 },
  );
  assert.ok(ran >= 5, `only ${ran} of 20 configs ran`);
});

test("fuzz: a sample of command lines through the real CLI (--dry-run): exit 0 or 2, one line, no stack trace", () => {
  const samples = fc.sample(argv(PARITY_SCHEMA), { numRuns: 6, seed: 11 });
  samples.push(["--backend", "gpu"], ["--workers", "0"], ["--resume", "../x"], ["--save-every", "-3"]);
  for (const args of samples) {
    const r = spawnSync(process.execPath, [BIN, "parity", ...args, "--runs-dir", RUNS, "--dry-run"], { encoding: "utf8", timeout: 60_000 });
    assert.ok(r.status === 0 || r.status === 2, `${JSON.stringify(args)}: exit ${r.status}, ${r.stderr}`);
    if (r.status === 2) {
      assert.equal(r.stderr.trim().split("\n").length, 1, `${JSON.stringify(args)}: ${r.stderr}`);
      assert.match(r.stderr, /^curriculum-distill: /);
    } else {
      assert.ok(JSON.parse(r.stdout).config);
    }
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  }
});
