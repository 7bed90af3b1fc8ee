/**
 * liveProgress: the CLI's progress events become two notebook displays (status, chart) with display
 * ids, shown once and then updated in place, throttled by a clock, ending as the final status and a
 * static figure; distill()'s loop events drive it the same way.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProgressEvent } from "../src/experiments/engine";
import { StudentRun } from "../src/experiments/results";
import { liveProgress } from "../src/report/live";
import { DisplayWriter } from "../src/report/notebook";

interface Msg {
  id: string;
  update: boolean;
  data: Record<string, unknown>;
}

function recorder(): { write: DisplayWriter; msgs: Msg[] } {
  const msgs: Msg[] = [];
  return { msgs, write: (c, update) => msgs.push({ id: String(c.transient.display_id), update, data: c.data }) };
}

const student = (seed: number, samples: number, accuracy: number, phase = "teacher"): ProgressEvent => ({
  kind: "student", seed, method: "cx", step: samples / 32, samples, accuracy, loss: 0.5, trainLoss: 0.1, seconds: samples / 32000, maxSamples: 3e6, phase,
});
const tick = (samples: number): ProgressEvent => ({ kind: "tick", job: "cx", seed: 0, step: samples / 32, samples, seconds: samples / 32000, maxSamples: 3e6, phase: "teacher", evaluating: false });

test("status and chart: one display each, then in-place updates at most once per interval; finish leaves a static figure", () => {
  let t = 0;
  const { write, msgs } = recorder();
  const live = liveProgress({ write, now: () => t, title: "acc (main)", target: 0.95, statusEveryMs: 1000, chartEveryMs: 3000 });
  live.onProgress(tick(1000)); // a new job: the status shows at once
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].update, false);
  assert.match(String(msgs[0].data["text/html"]), /cx seed 0 \[teacher\]: 1k samples/);
  const statusId = msgs[0].id;
  for (let i = 1; i <= 20; i++) {
    t += 100; // 20 ticks over 2 s: two status redraws at most
    live.onProgress(tick(1000 + i * 320));
  }
  const statusUpdates = msgs.filter((m) => m.id === statusId && m.update).length;
  assert.ok(statusUpdates >= 1 && statusUpdates <= 2, `status redraws: ${statusUpdates}`);
  // Evaluations grow the chart: the first draws it, later ones within 3 s only mark it dirty.
  live.onProgress(student(0, 8000, 0.5, "tap:hidden<-hidden"));
  const charts = () => msgs.filter((m) => m.id !== statusId);
  assert.equal(charts().length, 1);
  assert.equal(charts()[0].update, false);
  assert.ok(charts()[0].data["application/vnd.plotly.v1+json"], "plotly's MIME type");
  assert.match(String(charts()[0].data["text/html"]), /class="cd-figure"/, "the HTML fallback");
  t += 1000;
  live.onProgress(student(0, 16000, 0.6));
  assert.equal(charts().length, 1, "within the interval: no redraw");
  t += 2500;
  live.onProgress(student(0, 24000, 0.97));
  assert.equal(charts().length, 2);
  assert.equal(charts()[1].update, true, "an update, not a new output");
  const fig = charts()[1].data["application/vnd.plotly.v1+json"] as { data: Array<{ name: string; x: number[] }>; layout: { title: { text: string } } };
  assert.equal(fig.layout.title.text, "acc (main) [live]");
  assert.deepEqual(fig.data.find((d) => d.name === "cx seed 0")?.x, [8000, 16000, 24000]);
  assert.ok(fig.data.some((d) => d.name === "target 0.95"));
  live.onProgress({ kind: "studentDone", run: { seed: 0, method: "cx", samplesToTarget: 24000, samples: 24000, steps: 750, seconds: 1, stepsPerSecond: 750, finalAccuracy: 0.97, curve: [] } as Partial<StudentRun> as StudentRun });
  live.finish();
  const last = (id: string) => msgs.filter((m) => m.id === id).pop()!;
  assert.match(String(last(statusId).data["text/html"]), /cx seed 0: 24k samples to target[\s\S]*done in/);
  const final = last(charts()[0].id);
  assert.equal(final.update, true);
  const finalFig = final.data["application/vnd.plotly.v1+json"] as { layout: { title: { text: string } } };
  assert.equal(finalFig.layout.title.text, "acc (main)", "the static figure's title drops [live]");
  assert.ok(msgs.every((m) => m.update === (msgs.findIndex((n) => n.id === m.id) !== msgs.indexOf(m))), "only the first message of each display is new");
});

test("teachers' curves, a given final figure or none; distill events drive the same displays", () => {
  const { write, msgs } = recorder();
  const live = liveProgress({ write, now: () => 0, chartEveryMs: 0, statusEveryMs: 0 });
  live.onProgress({ kind: "teacher", seed: 1, step: 10, samples: 320, accuracy: 0.5, loss: 0.7, seconds: 1, maxSamples: 1e6 });
  const onEvent = live.distillEvents("oneshot", { maxSamples: 6400 });
  onEvent({ type: "eval", step: 0, samples: 0, phase: "teacher", accuracy: 0.5, loss: 0.69, trainLoss: NaN, seconds: 0, teacherFlops: 0, studentFlops: 0 });
  onEvent({ type: "tick", step: 50, samples: 1600, phase: "teacher", seconds: 1, evaluating: false });
  onEvent({ type: "eval", step: 100, samples: 3200, phase: "teacher", accuracy: 0.8, loss: 0.4, trainLoss: 0.4, seconds: 2, teacherFlops: 0, studentFlops: 0 });
  onEvent({ type: "phase", step: 0, samples: 0, phase: "teacher", index: 0, seconds: 0 });
  assert.deepEqual(Object.keys(live.curves()).sort(), ["oneshot seed 0", "teacher seed 1"]);
  assert.deepEqual(live.curves()["oneshot seed 0"], { samples: [0, 3200], accuracy: [0.5, 0.8] });
  live.finish(null);
  const chartId = msgs.find((m) => m.data["application/vnd.plotly.v1+json"])!.id;
  const lastChart = msgs.filter((m) => m.id === chartId).pop()!;
  assert.match(String(lastChart.data["text/html"]), /live chart closed/);
  const status = msgs.filter((m) => m.id !== chartId).pop()!;
  assert.match(String(status.data["text/html"]), /oneshot seed 0 \[teacher\]: 3k samples, acc 0\.800, 2k\/s \(ended\)\n[\s\S]*done in/, "a distill job's last line stays, without its ETA");
  assert.throws(() => liveProgress().onProgress(tick(1)), /not running in a tslab kernel/);
});

test("an aborted signal (Kernel > Interrupt) ends the status as interrupted; later events and finish() draw nothing", () => {
  let t = 0;
  const { write, msgs } = recorder();
  const ac = new AbortController();
  const live = liveProgress({ write, now: () => t, title: "acc", target: 0.95, signal: ac.signal });
  live.onProgress(tick(1000));
  live.onProgress(student(0, 8000, 0.6));
  t = 2500;
  ac.abort();
  const last = String(msgs[msgs.length - 1].data["text/html"]);
  assert.match(last, /interrupted after 3s/);
  assert.match(last, /cx seed 0 .*\(interrupted\)/);
  const n = msgs.length;
  t = 9000;
  live.onProgress(student(0, 64000, 0.97)); // a worker's late event
  live.finish();
  assert.equal(msgs.length, n, "nothing reaches the displays after the interrupt");
});

test("long figure titles wrap at spaces instead of being clipped, with room made above the plot", async () => {
  const { accuracyCurves } = await import("../src/report/plots");
  const title = "held-out accuracy vs samples, teachers and students (QUICK MODE, preset smoke: n=20, k=3, teacher 128, student 16, seeds 0,1,2, cap 200k)";
  const fig = accuracyCurves({ cx: { samples: [0, 1000], accuracy: [0.5, 0.9] } }, { title });
  const text = String(fig.layout.title?.text);
  assert.equal(text.replace(/<br>/g, " "), title);
  assert.ok(text.split("<br>").every((l) => l.length <= 80), text);
  assert.ok(Number((fig.layout.margin as { t: number }).t) >= 30 + 22 * text.split("<br>").length);
});

test("onProgressAs: runs of the same method and seed (ablation arms) get a status line and a curve each", () => {
  const { write, msgs } = recorder();
  let t = 0;
  const live = liveProgress({ write, now: () => t, title: "arms", target: 0.95 });
  live.onProgressAs("tapSteps = 40")(student(0, 8000, 0.7));
  t += 5000;
  live.onProgressAs("tapSteps = auto")(student(0, 8000, 0.6));
  assert.deepEqual(Object.keys(live.curves()).sort(), ["tapSteps = 40 seed 0", "tapSteps = auto seed 0"]);
  assert.match(String(msgs.filter((m) => m.id.endsWith("-status")).at(-1)?.data["text/plain"]), /tapSteps = 40 seed 0[\s\S]*tapSteps = auto seed 0/);
});
