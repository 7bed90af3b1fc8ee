import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { parityTask } from "../src/data/sparseParity";
import { oneShot } from "../src/distill/outputs";
import { parityStream } from "../src/experiments/parityTask";
import { createMlp } from "../src/models/mlp";
import { Progress, fmtDuration, fmtSamples } from "../src/progress";
import { Rng } from "../src/rng";
import { TickEvent, runPhases } from "../src/train/loop";
import { useBackend } from "./helpers";

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

/** A stderr stand-in that is not a terminal and records what is written. */
function sink(): { stream: NodeJS.WriteStream; lines: string[] } {
  const lines: string[] = [];
  const w = new Writable({ write: (chunk, _enc, cb) => (lines.push(...String(chunk).split("\n").filter(Boolean)), cb()) });
  return { stream: Object.assign(w, { isTTY: false }) as unknown as NodeJS.WriteStream, lines };
}

test("the loop ticks by time: a job that evaluates rarely still reports where it is at the interval (fake clock)", async () => {
  await useBackend();
  const rng = new Rng("ticks");
  const teacher = createMlp({ inputDim: 8, width: 16, outputDim: 2 }, rng.derive("t"));
  const student = createMlp({ inputDim: 8, width: 4, outputDim: 2 }, rng.derive("s"));
  const stream = parityStream(parityTask(8, 2), rng.derive("d"), rng.derive("h"), 16, 64);
  const plan = oneShot(student, teacher, { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 });
  let clock = 0;
  const now = () => (clock += 100); // every reading of the clock: 100 ms later
  const ticks: TickEvent[] = [];
  let evals = 0;
  for await (const ev of runPhases(student, plan, stream, { evalEvery: 1000, maxSamples: 200 * 16, tickSeconds: 1, clock: now })) {
    if (ev.type === "tick") ticks.push(ev);
    if (ev.type === "eval") evals++;
  }
  assert.equal(evals, 0, "no evaluation in 200 steps");
  assert.ok(ticks.length >= 15 && ticks.length <= 60, `${ticks.length} ticks over 200 steps of fake time`);
  for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i].seconds - ticks[i - 1].seconds >= 1 - 1e-9, "at most one tick per second");
  assert.ok(ticks.every((t) => t.phase === "teacher" && !t.evaluating && t.samples === t.step * 16));
  plan.dispose();
  [teacher, student, stream].forEach((d) => d.dispose());
});

test("plain mode (not a terminal): one line per job per interval, and at once on a phase change", () => {
  const { stream, lines } = sink();
  let t = 0;
  const p = new Progress({ stream, plainEverySeconds: 30, now: () => t });
  for (t = 0; t < 100_000; t += 1000) {
    p.set("cx seed 0", `cx ${t}`, t < 50_000 ? "tap" : "teacher");
    p.set("oneshot seed 0", `oneshot ${t}`, "teacher");
  }
  const cx = lines.filter((l) => l.startsWith("cx"));
  const one = lines.filter((l) => l.startsWith("oneshot"));
  assert.deepEqual(one, ["oneshot 0", "oneshot 30000", "oneshot 60000", "oneshot 90000"]);
  assert.deepEqual(cx, ["cx 0", "cx 30000", "cx 50000", "cx 80000"], "the phase change at 50 s prints at once");
  p.line("done");
  assert.equal(lines[lines.length - 1], "done");
  // A terminal nobody sized (0 columns) cannot be redrawn: plain lines.
  const unsized = sink();
  Object.assign(unsized.stream, { isTTY: true, columns: 0 });
  new Progress({ stream: unsized.stream }).set("a", "plain line");
  assert.deepEqual(unsized.lines, ["plain line"]);
  const quiet = sink();
  const q = new Progress({ stream: quiet.stream, quiet: true });
  q.set("a", "x");
  q.line("y");
  assert.deepEqual(quiet.lines, []);
});
