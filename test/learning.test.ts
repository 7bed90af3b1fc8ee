/** Learning within a budget: the smoke preset's teacher trains and curriculum extraction solves it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveParityConfig, runParity } from "../src/experiments/parity";
import { useBackend } from "./helpers";

test("smoke preset: curriculum extraction reaches 95% within 200k samples", async () => {
  await useBackend();
  const cfg = resolveParityConfig("smoke", { seeds: [0], methods: ["cx"] });
  const r = await runParity(cfg, { cacheDir: null });
  const t = r.teachers[0];
  assert.ok(t.samplesToTarget !== null && t.accuracy >= 0.99, `teacher: ${JSON.stringify({ ...t, curve: undefined })}`);
  const cx = r.summary.methods.cx.samplesToTarget[0];
  assert.ok(cx !== null && cx <= 200_000, `cx samples to 95%: ${cx}`);
});
