/**
 * Progress output for long runs, written to stderr so stdout stays machine-readable (`--json`).
 *
 * Every running job (a teacher, a student) has one status line. On a terminal they form a block that
 * is redrawn in place (log-update: it erases exactly the lines it drew, whatever their width, and
 * hides the cursor), at most every `redrawMs`; permanent lines (a job finished) print above it.
 * Elsewhere (a file, a pipe, CI) each job prints a plain line at most every `plainEverySeconds`, and
 * at once when its phase changes, so a log never fills with redraws and never goes silent for long.
 * The caller feeds it as often as it likes (the training loop ticks about once a second).
 */
import type { createLogUpdate } from "log-update";
import type { ProgressEvent } from "./experiments/engine";
import { fmtDuration, fmtSamples } from "./format";

/** Where status lines go: a terminal or a log (Progress), or a notebook display (report/live.ts). */
export interface ProgressSink {
  /** The status of job `key` (its line), in phase `phase`. */
  set(key: string, text: string, phase?: string): void;
  /** Job `key` has ended: its line goes. */
  done(key: string): void;
  /** A permanent line. */
  line(text: string): void;
}

export { fmtDuration, fmtSamples };

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Not a terminal: at most one line per job per this many seconds (default 30). */
  plainEverySeconds?: number;
  /** Print nothing. */
  quiet?: boolean;
  /** Terminal: redraw the block at most this often (default 250 ms). */
  redrawMs?: number;
  /** Milliseconds now (tests pass a fake clock). */
  now?: () => number;
}

/**
 * log-update's in-place redraw, loaded when a terminal first needs it: it is an ES module, which
 * `require` loads only on Node >= 20.19, so loading it with the library would break
 * `require("curriculum-distill")` on older Node 20s. Unavailable: plain lines instead (null).
 */
function redrawer(stream: NodeJS.WriteStream): ReturnType<typeof createLogUpdate> | null {
  try {
    return (require("log-update") as { createLogUpdate: typeof createLogUpdate }).createLogUpdate(stream, { showCursor: false });
  } catch {
    return null;
  }
}

export class Progress implements ProgressSink {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private readonly plainMs: number;
  private readonly redrawMs: number;
  private readonly now: () => number;
  private readonly jobs = new Map<string, { text: string; phase: string; printed: number }>();
  private readonly draw: ReturnType<typeof createLogUpdate> | null;
  private lastDraw = -Infinity;

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    // A terminal of unknown width (a pty nobody sized) cannot be redrawn in place: plain lines then.
    this.tty = Boolean(this.stream.isTTY) && (this.stream.columns ?? 0) > 0;
    this.quiet = opts.quiet ?? false;
    this.plainMs = (opts.plainEverySeconds ?? 30) * 1000;
    this.redrawMs = opts.redrawMs ?? 250;
    this.now = opts.now ?? Date.now;
    this.draw = this.tty && !this.quiet ? redrawer(this.stream) : null;
  }

  /** The status of job `key` (its line); `phase` changing prints at once in plain mode. */
  set(key: string, text: string, phase = ""): void {
    if (this.quiet) return;
    const t = this.now();
    const job = this.jobs.get(key);
    if (this.draw) {
      this.jobs.set(key, { text, phase, printed: t });
      if (t - this.lastDraw >= this.redrawMs || job === undefined || job.phase !== phase) this.redraw();
      return;
    }
    if (job === undefined || job.phase !== phase || t - job.printed >= this.plainMs) {
      this.stream.write(`${text}\n`);
      this.jobs.set(key, { text, phase, printed: t });
    } else {
      job.text = text;
    }
  }

  /** Job `key` has ended: its line leaves the block. */
  done(key: string): void {
    this.jobs.delete(key);
    if (this.draw) this.redraw();
  }

  /** A permanent line (above the live block on a terminal). */
  line(text: string): void {
    if (this.quiet) return;
    if (this.draw) {
      this.draw.clear();
      this.stream.write(`${text}\n`);
      this.redraw();
      return;
    }
    this.stream.write(`${text}\n`);
  }

  /** Leave the terminal as it was (the block stays printed, the cursor comes back). */
  close(): void {
    this.draw?.done();
  }

  private redraw(): void {
    this.lastDraw = this.now();
    if (this.jobs.size === 0) this.draw!.clear();
    else this.draw!([...this.jobs.values()].map((j) => j.text).join("\n"));
  }
}

/**
 * Progress events -> one status line per running job, and a permanent line when a job ends: the CLI
 * feeds them to a `Progress` (stderr), notebooks to `liveProgress` (report/live.ts), so both show the
 * same lines.
 */
export function progressPrinter(target: number | null, progress: ProgressSink): (e: ProgressEvent) => void {
  // The latest evaluation of each job: its held-out accuracy, or its tap loss in a tap phase.
  const lastEval = new Map<string, { accuracy: number; trainLoss: number }>();
  const status = (job: string, seed: number, phase: string, samples: number, seconds: number, maxSamples: number, evaluating: boolean) => {
    const key = `${job} seed ${seed}`;
    const l = lastEval.get(key);
    const rate = samples / Math.max(seconds, 1e-9);
    const metric = l === undefined ? "" : phase.startsWith("tap") && Number.isFinite(l.trainLoss) ? `, tap loss ${l.trainLoss.toFixed(3)}` : `, acc ${l.accuracy.toFixed(3)}`;
    const eta = samples > 0 ? `, ETA to cap ${fmtDuration((maxSamples - samples) / Math.max(rate, 1e-9))}` : "";
    progress.set(key, `${key} [${phase}]: ${fmtSamples(samples)} samples${metric}, ${fmtSamples(rate)}/s${eta}${evaluating ? " (evaluating)" : ""}`, phase);
  };
  return (e) => {
    if (e.kind === "tick") status(e.job, e.seed, e.phase, e.samples, e.seconds, e.maxSamples, e.evaluating);
    else if (e.kind === "teacher") {
      lastEval.set(`teacher seed ${e.seed}`, { accuracy: e.accuracy, trainLoss: NaN });
      status("teacher", e.seed, "labels", e.samples, e.seconds, e.maxSamples, false);
    } else if (e.kind === "student") {
      lastEval.set(`${e.method} seed ${e.seed}`, { accuracy: e.accuracy, trainLoss: e.trainLoss });
      status(e.method, e.seed, e.phase, e.samples, e.seconds, e.maxSamples, false);
    } else if (e.kind === "teacherDone") {
      const i = e.info;
      const hit = target === null ? "" : `; target at ${fmtSamples(i.samplesToTarget)}`;
      progress.done(`teacher seed ${e.seed}`);
      progress.line(
        `teacher seed ${e.seed}${i.attempt ? ` (init attempt ${i.attempt})` : ""}: ${i.cached ? "loaded from cache" : `trained in ${fmtDuration(i.seconds)}`}${hit}, final acc ${i.accuracy.toFixed(3)}, ${i.checkpoints} checkpoints`,
      );
    } else {
      const r = e.run;
      const what =
        target === null
          ? `acc ${r.finalAccuracy.toFixed(4)} after ${r.steps} steps`
          : r.samplesToTarget === null
            ? `not reached by ${fmtSamples(r.samples)}`
            : `${fmtSamples(r.samplesToTarget)} samples to target`;
      progress.done(`${r.method} seed ${r.seed}`);
      progress.line(`${r.method} seed ${r.seed}: ${what} (${fmtDuration(r.seconds)}, ${r.stepsPerSecond.toFixed(0)} steps/s)`);
    }
  };
}
