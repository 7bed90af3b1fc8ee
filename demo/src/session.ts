/**
 * One run of the page: the seed's teacher (from the page's cache, or trained here), then one student
 * per method. Everything that trains is the library's: the experiment's teacher and student plans
 * (src/experiments/parityExperiment.ts), the methods' phases (src/distill/methods.ts) and the loop
 * (src/train/loop.ts). What is here is the consumer's policy, as in the engine
 * (src/experiments/engine.ts, teachers.ts): keep a checkpoint at every teacher evaluation, stop the
 * teacher a few checkpoints after its target, stop a student at the target. The run folder, resume
 * and the file cache are the CLI's and are left out.
 *
 * The page never freezes: the loop yields a tick every quarter second, and on each tick this code
 * waits for the next frame (or 50 ms in a hidden tab), so clicks and drawing get through; the loop
 * polls `shouldStop` after every step, so Stop takes effect within one step of the click.
 */
import * as tf from "@tensorflow/tfjs";
import { Checkpoint, labelsPhase } from "../../src/distill/outputs";
import { plan } from "../../src/distill/phases";
import { MethodName, buildMethod } from "../../src/distill/methods";
import { TeacherInfo, TrainedTeacher } from "../../src/experiments/experiment";
import { PARITY, ParityConfig } from "../../src/experiments/parityExperiment";
import { StudentRun } from "../../src/experiments/summary";
import { NamedTensors } from "../../src/models/types";
import { LoopEvent, newCursor, runPhases } from "../../src/train/loop";
import { canonicalKey, loadTeacher, saveTeacher } from "./teacherStore";

/** Thrown when the reader pressed Stop. */
export class Stopped extends Error {
  constructor() {
    super("stopped");
    this.name = "Stopped";
  }
}

export interface SessionHooks {
  /** A line for the status bar. */
  status(text: string): void;
  /** A held-out evaluation of the teacher ("teacher") or of a method's student. */
  point(who: string, samples: number, accuracy: number): void;
  teacherReady(info: TeacherInfo, cached: boolean): void;
  studentDone(run: StudentRun): void;
  /** Polled after every training step. */
  shouldStop(): boolean;
}

/** Give the browser a frame (drawing, input); a hidden tab gets no frames, so at most 50 ms. */
export function breathe(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, 50);
    requestAnimationFrame(done);
  });
}

function disposeAll(w: NamedTensors): void {
  for (const t of Object.values(w)) t.dispose();
}

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${Math.round(x / 1e3)}k` : String(x));

/** Drive the loop, handing ticks to `breathe` and turning an interrupt into Stopped. */
async function* drive(events: AsyncGenerator<LoopEvent, void, void>, hooks: SessionHooks, label: string): AsyncGenerator<LoopEvent, void, void> {
  for await (const e of events) {
    if (e.type === "interrupt") throw new Stopped();
    if (e.type === "tick") {
      hooks.status(`${label}: ${fmt(e.samples)} samples (${e.phase}), ${Math.round(e.samples / Math.max(e.seconds, 1e-3) / 1000)}k samples/s`);
      await breathe();
    }
    yield e;
  }
}

/** The seed's teacher, from the page's cache or trained now (then cached). The caller disposes it. */
export async function obtainTeacher(cfg: Readonly<ParityConfig>, seed: number, backend: string, hooks: SessionHooks): Promise<TrainedTeacher & { cached: boolean }> {
  const attempt = 0; // the MLP experiment never re-initialises a teacher (teacherRetries 0)
  const tp = PARITY.teacher(cfg, seed, null, attempt);
  const key = canonicalKey({ ...tp.key, seed, attempt, backend });
  try {
    const model = tp.create();
    const cached = await loadTeacher(key).catch(() => null);
    if (cached !== null) {
      model.load(cached.checkpoints[cached.checkpoints.length - 1].weights);
      const info = { ...cached.info, cached: true };
      const t = teacherOf(model, cached.init, cached.checkpoints, info);
      for (const p of info.curve) hooks.point("teacher", p.samples, p.accuracy);
      hooks.teacherReady(info, true);
      return t;
    }
    const init = model.snapshot();
    const checkpoints: Checkpoint[] = [];
    const teacherPlan = plan("teacher", [labelsPhase(tp.task, model, Infinity, tp.optimizer)]);
    const cursor = newCursor();
    const curve: TeacherInfo["curve"] = [];
    let hit: number | null = null;
    let extra = 0;
    try {
      const loop = runPhases(model, teacherPlan, tp.task, { evalEvery: tp.ckptEvery, maxSamples: tp.maxSamples, shouldStop: hooks.shouldStop, cursor, tickSeconds: 0.25 });
      for await (const e of drive(loop, hooks, "teacher")) {
        if (e.type !== "eval") continue;
        curve.push({ samples: e.samples, accuracy: e.accuracy, loss: e.loss });
        checkpoints.push({ step: e.step, samples: e.samples, accuracy: e.accuracy, weights: model.snapshot() });
        hooks.point("teacher", e.samples, e.accuracy);
        if (hit === null && e.accuracy >= tp.targetAccuracy) hit = e.samples;
        else if (hit !== null) extra++;
        if (hit !== null && extra >= tp.extraCheckpoints) break;
      }
      const { step, samples, seconds } = cursor.position;
      if (checkpoints.length === 0 || checkpoints[checkpoints.length - 1].step !== step) {
        checkpoints.push({ step, samples, weights: model.snapshot(), accuracy: curve[curve.length - 1]?.accuracy ?? 0 });
      }
      const info: TeacherInfo = {
        samplesToTarget: hit,
        samples,
        accuracy: curve[curve.length - 1]?.accuracy ?? 0,
        seconds,
        stepsPerSecond: step / Math.max(seconds, 1e-9),
        checkpoints: checkpoints.length,
        cached: false,
        attempt,
        curve,
      };
      hooks.status("teacher trained; caching it in this browser");
      await saveTeacher(key, { init, checkpoints, info }).catch(() => false);
      hooks.teacherReady(info, false);
      return teacherOf(model, init, checkpoints, info);
    } catch (e) {
      model.dispose();
      disposeAll(init);
      for (const c of checkpoints) disposeAll(c.weights);
      throw e;
    } finally {
      teacherPlan.dispose();
    }
  } finally {
    tp.dispose();
  }
}

function teacherOf(model: TrainedTeacher["model"], init: NamedTensors, checkpoints: Checkpoint[], info: TeacherInfo): TrainedTeacher & { cached: boolean } {
  return {
    model,
    init,
    checkpoints,
    info,
    cached: info.cached,
    dispose() {
      model.dispose();
      disposeAll(init);
      for (const c of checkpoints) disposeAll(c.weights);
    },
  };
}

/** One student by `method`, to the target (or the cap), as the engine's runStudent does it. */
export async function trainStudent(cfg: Readonly<ParityConfig>, seed: number, method: MethodName, teacher: TrainedTeacher, hooks: SessionHooks): Promise<StudentRun> {
  const loop = PARITY.studentLoop(cfg);
  const setup = PARITY.student(cfg, seed, method, null, teacher);
  const methodPlan = buildMethod(method, setup.context);
  const curve: StudentRun["curve"] = [];
  const phases: StudentRun["phases"] = [];
  let hit: number | null = null;
  try {
    const events = runPhases(setup.model, methodPlan, setup.task, {
      evalEvery: loop.evalEvery,
      maxSamples: loop.maxSamples,
      evalAtStart: loop.evalAtStart,
      shouldStop: hooks.shouldStop,
      tickSeconds: 0.25,
    });
    for await (const e of drive(events, hooks, method)) {
      if (e.type === "phase") phases.push({ name: e.phase, step: e.step });
      if (e.type !== "eval") continue;
      const { type: _t, ...point } = e;
      curve.push(point);
      hooks.point(method, e.samples, e.accuracy);
      if (loop.target !== null && hit === null && e.accuracy >= loop.target) {
        hit = e.samples;
        if (!loop.runToCap) break;
      }
    }
  } finally {
    methodPlan.dispose();
    setup.dispose();
    setup.model.dispose();
  }
  const last = curve[curve.length - 1];
  const run: StudentRun = {
    seed,
    method,
    samplesToTarget: hit,
    samples: last?.samples ?? 0,
    steps: last?.step ?? 0,
    seconds: last?.seconds ?? 0,
    stepsPerSecond: (last?.step ?? 0) / Math.max(last?.seconds ?? 0, 1e-9),
    finalAccuracy: last?.accuracy ?? NaN,
    storedBytes: null, // the CLI counts the bytes of its weight files; the page writes none
    phases,
    curve,
  };
  hooks.studentDone(run);
  return run;
}

/** Tensors alive now (the page shows it: a leak would grow it run after run). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
