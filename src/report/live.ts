/**
 * Live progress in a notebook: the progress events that drive the CLI's status lines drive two
 * displays that update in place while a cell runs, and end as static output.
 *
 *   const live = liveProgress({ title: `accuracy vs samples (${CONFIG})`, target: 0.95 });
 *   const r = await runParity(cfg, { onProgress: live.onProgress });          // the experiments' events
 *   await distill({ ..., onEvent: live.distillEvents("cx", { maxSamples }) });  // distill()'s loop events
 *   live.finish();
 *
 * - Status: one line per running job (job, phase, samples, last accuracy or tap loss, rate, ETA), the
 *   same text as the CLI (progressPrinter), and a permanent line per finished job, redrawn at most
 *   every `statusEveryMs`.
 * - Chart: held-out accuracy against samples seen, one trace per job (teachers and students), grown at
 *   every evaluation and redrawn at most every `chartEveryMs`.
 * - How: each display is a Jupyter display with a `display_id` (tslab's own mechanism, as its
 *   `newDisplay()` uses): the first message is `display_data`, every redraw an `update_display_data`
 *   that front ends (classic Notebook, JupyterLab, VS Code) apply in place, and that nbclient/nbconvert
 *   apply to the saved notebook. `finish()` sends the last update, so what a saved notebook and its
 *   HTML export keep is the final status and a static figure (by default the full curves).
 *
 * Outside a kernel (tests) pass `write` to see the messages. Keep this file within TypeScript 5.0 syntax.
 */
import type { ProgressEvent } from "../experiments/engine";
import type { LoopEvent } from "../train/loop";
import { fmtDuration, progressPrinter, ProgressSink } from "../progress";
import { escapeHtml } from "./html";
import { DisplayWriter, figureBundle, kernelWriter } from "./notebook";
import { AccuracyCurvesOpts, Curve, FigureSpec, accuracyCurves } from "./plots";

export interface LiveProgressOptions {
  /** Chart title: state the configuration (default "held-out accuracy vs samples"); " [live]" is added while it runs. */
  title?: string;
  /** Student target accuracy: the status says when a job reached it; a dashed line on the chart. */
  target?: number | null;
  /** Log x axis (default true: teachers and students span decades of samples). */
  logX?: boolean;
  /** Accuracy in percent on a range from zero (accuracyCurves' `percent`), for notebooks whose tables speak percent. */
  percent?: boolean;
  /** Show teachers' curves on the chart (default true). */
  teachers?: boolean;
  /** Redraw the status at most this often (default 1000 ms); job starts and ends redraw at once. */
  statusEveryMs?: number;
  /** Redraw the chart at most this often (default 3000 ms). */
  chartEveryMs?: number;
  /** Milliseconds now (tests pass a fake clock). */
  now?: () => number;
  /** The display writer (default: the running tslab kernel's). */
  write?: DisplayWriter;
  /**
   * The cell's abort signal (interruptSignal()): when it aborts, the status ends as "interrupted after ..."
   * and later events are ignored, so nothing of an interrupted run reaches the displays afterwards.
   */
  signal?: AbortSignal;
}

export interface LiveProgress {
  /** For runParity / runExperiment / EXPERIMENTS[...].run: `{ onProgress: live.onProgress }`. */
  onProgress(e: ProgressEvent): void;
  /**
   * onProgress for one of several runs of the same method and seed (an ablation's arms): its student jobs are
   * named `label` instead of the method, so each arm gets its own status line and curve.
   */
  onProgressAs(label: string): (e: ProgressEvent) => void;
  /** For distill(): `onEvent: live.distillEvents("cx", { maxSamples })`; `seed` labels the job (default 0). */
  distillEvents(job: string, opts: { maxSamples: number; seed?: number }): (e: LoopEvent) => void;
  /** The curves so far, by job ("cx seed 0", "teacher seed 0"). */
  curves(): Record<string, Curve>;
  /**
   * The last redraw: the status with every finished line, and the chart as a static figure: `figure`,
   * or the live curves (default), or `null` for a one-line note (when a later cell draws the figure).
   */
  finish(figure?: FigureSpec | null): void;
}

let liveCounter = 0;

/** Live status and chart displays for one long cell; see the top of this file. */
export function liveProgress(opts: LiveProgressOptions = {}): LiveProgress {
  const now = opts.now ?? Date.now;
  const statusEvery = opts.statusEveryMs ?? 1000;
  const chartEvery = opts.chartEveryMs ?? 3000;
  const showTeachers = opts.teachers ?? true;
  const target = opts.target ?? null;
  liveCounter += 1;
  const base = `cd-live-${process.pid.toString(36)}-${now().toString(36)}-${liveCounter}`;
  const ids = { status: `${base}-status`, chart: `${base}-chart` };
  const shown = { status: false, chart: false };
  const t0 = now();
  const writer = (): DisplayWriter => {
    const w = opts.write ?? kernelWriter();
    if (w === null) throw new Error("liveProgress: not running in a tslab kernel (pass `write` outside one)");
    return w;
  };
  const send = (which: "status" | "chart", data: Record<string, unknown>) => {
    writer()({ data, metadata: {}, transient: { display_id: ids[which] } }, shown[which]);
    shown[which] = true;
  };

  // The status block: the CLI's lines, kept for HTML.
  const jobs = new Map<string, string>();
  const lines: string[] = [];
  let statusDrawn = -Infinity;
  let statusDirty = false;
  let interrupted = false;
  const statusHtml = (final: boolean) => {
    const running = [...jobs.values()];
    const elapsed = fmtDuration((now() - t0) / 1000);
    const head = interrupted ? `interrupted after ${elapsed}` : final ? `done in ${elapsed}` : `running for ${elapsed}`;
    const text = [...lines, ...running, head].join("\n");
    return `<pre class="cd-live-status" style="margin:4px 0;font-size:12px;line-height:1.35">${escapeHtml(text)}</pre>`;
  };
  const drawStatus = (force: boolean, final = false) => {
    if (!force && now() - statusDrawn < statusEvery) {
      statusDirty = true;
      return;
    }
    statusDrawn = now();
    statusDirty = false;
    const html = statusHtml(final);
    send("status", { "text/html": html, "text/plain": [...lines, ...jobs.values()].join("\n") });
  };
  const sink: ProgressSink = {
    set(key, text) {
      const fresh = !jobs.has(key);
      jobs.set(key, text);
      drawStatus(fresh);
    },
    done(key) {
      jobs.delete(key);
    },
    line(text) {
      lines.push(text);
      drawStatus(true);
    },
  };
  const printer = progressPrinter(target, sink);

  // The chart: one curve per job.
  const curves = new Map<string, Curve>();
  let chartDrawn = -Infinity;
  let chartDirty = false;
  const title = opts.title ?? "held-out accuracy vs samples";
  const chartOpts = (running: boolean): AccuracyCurvesOpts => ({ logX: opts.logX ?? true, target: target ?? undefined, title: running ? `${title} [live]` : title, percent: opts.percent });
  const liveFigure = (running = true): FigureSpec => {
    const byJob: Record<string, Curve> = {};
    for (const [k, c] of curves) byJob[k] = c;
    return accuracyCurves(byJob, chartOpts(running));
  };
  const drawChart = (force: boolean) => {
    if (curves.size === 0) return;
    if (!force && now() - chartDrawn < chartEvery) {
      chartDirty = true;
      return;
    }
    chartDrawn = now();
    chartDirty = false;
    send("chart", figureBundle(liveFigure()));
  };
  const point = (job: string, samples: number, accuracy: number) => {
    if (!Number.isFinite(accuracy)) return;
    let c = curves.get(job);
    const fresh = c === undefined;
    if (c === undefined) {
      c = { samples: [], accuracy: [] };
      curves.set(job, c);
    }
    c.samples.push(samples);
    c.accuracy.push(accuracy);
    drawChart(fresh);
  };

  const onInterrupt = () => {
    if (interrupted) return;
    for (const text of jobs.values()) lines.push(`${text.replace(/, ETA to cap [^,]*$/, "")} (interrupted)`);
    jobs.clear();
    interrupted = true;
    drawStatus(true, true);
  };
  if (opts.signal) {
    if (opts.signal.aborted) interrupted = true;
    else opts.signal.addEventListener("abort", onInterrupt, { once: true });
  }

  const onProgress = (e: ProgressEvent) => {
    if (interrupted) return;
    printer(e);
    if (e.kind === "teacher" && showTeachers) point(`teacher seed ${e.seed}`, e.samples, e.accuracy);
    else if (e.kind === "student") point(`${e.method} seed ${e.seed}`, e.samples, e.accuracy);
    else if (statusDirty) drawStatus(false);
    if (chartDirty) drawChart(false);
  };

  return {
    onProgress,
    onProgressAs(label) {
      return (e) => {
        if (e.kind === "student") onProgress({ ...e, method: label });
        else if (e.kind === "studentDone") onProgress({ ...e, run: { ...e.run, method: label } });
        else if (e.kind === "tick" && e.job !== "teacher") onProgress({ ...e, job: label });
        else onProgress(e);
      };
    },
    distillEvents(job, o) {
      const seed = o.seed ?? 0;
      return (e) => {
        if (e.type === "eval") {
          onProgress({ kind: "student", seed, method: job, step: e.step, samples: e.samples, accuracy: e.accuracy, loss: e.loss, trainLoss: e.trainLoss, seconds: e.seconds, maxSamples: o.maxSamples, phase: e.phase });
        } else if (e.type === "tick") {
          onProgress({ kind: "tick", job, seed, step: e.step, samples: e.samples, seconds: e.seconds, maxSamples: o.maxSamples, phase: e.phase, evaluating: e.evaluating });
        }
      };
    },
    curves() {
      const out: Record<string, Curve> = {};
      for (const [k, c] of curves) out[k] = { samples: c.samples.slice(), accuracy: c.accuracy.slice() };
      return out;
    },
    finish(figure) {
      if (interrupted) return; // the status already says "interrupted"; the chart keeps its last state
      // Jobs still listed (distill runs, which have no "done" event) keep their last line, without the ETA.
      for (const text of jobs.values()) lines.push(`${text.replace(/, ETA to cap [^,]*$/, "")} (ended)`);
      jobs.clear();
      drawStatus(true, true);
      if (figure === null) {
        if (shown.chart) send("chart", { "text/html": `<p class="cd-live-note"><i>${escapeHtml("live chart closed: the figure below shows the curves")}</i></p>`, "text/plain": "live chart closed" });
      } else if (figure !== undefined) {
        send("chart", figureBundle(figure));
      } else if (curves.size > 0) {
        send("chart", figureBundle(liveFigure(false)));
      }
    },
  };
}
