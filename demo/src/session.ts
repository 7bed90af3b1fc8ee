/**
 * One run of the page: the seed's teacher (from the page's cache, or trained here), then one student
 * per method. Everything that trains is the library's: the experiment's teacher and student plans
 * (src/experiments/parityExperiment.ts), the methods' phases (src/distill/methods.ts), the loop and
 * the training policy (src/train/driver.ts: the same stop rules and teacher check as the CLI's
 * engine). What is here is the page's: its cache (IndexedDB), its status line and its frames. The
 * run folder, resume and the file cache are the CLI's and are left out.
 *
 * The page never freezes: the loop yields a tick every quarter second, and on each tick (an awaited
 * callback of the driver) this code waits for the next frame (or 50 ms in a hidden tab), so clicks and
 * drawing get through; the driver polls `shouldStop` after every step, so Stop takes effect within
 * one step of the click.
 */
import * as tf from "@tensorflow/tfjs";
import { Checkpoint, labelsPhase } from "../../src/distill/outputs";
import { plan } from "../../src/distill/phases";
import { MethodName, buildMethod } from "../../src/distill/methods";
import { TeacherInfo, TrainedTeacher, teacherInfoOf } from "../../src/experiments/experiment";
import { PARITY, ParityConfig } from "../../src/experiments/parityExperiment";
import { StudentRun, studentRunOf } from "../../src/experiments/summary";
import { NamedTensors } from "../../src/models/types";
import { DriveCallbacks, TeacherFailed, drive, studentPolicy, teacherPolicy, teacherShortfall } from "../../src/train/driver";
import { EvalEvent } from "../../src/train/loop";
import { canonicalKey, loadTeacher, saveTeacher } from "./teacherStore";

/** Thrown when the reader pressed Stop (the library's Interrupted: the driver stops on `shouldStop`). */
export { Interrupted as Stopped } from "../../src/train/driver";

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

/** The page's callbacks for the driver: a status line and a frame for the browser on every tick. */
function pageCallbacks(hooks: SessionHooks, label: string): DriveCallbacks {
  return {
    onTick: async (e) => {
      hooks.status(`${label}: ${fmt(e.samples)} samples (${e.phase}), ${Math.round(e.samples / Math.max(e.seconds, 1e-3) / 1000)}k samples/s`);
      await breathe();
    },
  };
}

/**
 * The seed's teacher, from the page's cache or trained now (then cached). The caller disposes it. A
 * teacher that missed its target stops the run here (TeacherFailed), as in the CLI.
 */
export async function obtainTeacher(cfg: Readonly<ParityConfig>, seed: number, backend: string, hooks: SessionHooks): Promise<TrainedTeacher & { cached: boolean }> {
  const attempt = 0; // the MLP experiment never re-initialises a teacher (teacherRetries 0)
  const tp = PARITY.teacher(cfg, seed, null, attempt);
  const key = canonicalKey({ ...tp.key, seed, attempt, backend });
  const check = (info: TeacherInfo) => {
    const shortfall = teacherShortfall(info, tp.requirement ?? { target: tp.targetAccuracy });
    if (shortfall !== null) throw new TeacherFailed(seed, info.accuracy, info.samples, shortfall, tp.knobs ?? {}, attempt + 1);
  };
  try {
    const model = tp.create();
    const cached = await loadTeacher(key).catch(() => null);
    if (cached !== null) {
      model.load(cached.checkpoints[cached.checkpoints.length - 1].weights);
      const info = { ...cached.info, cached: true };
      const t = teacherOf(model, cached.init, cached.checkpoints, info);
      for (const p of info.curve) hooks.point("teacher", p.samples, p.accuracy);
      hooks.teacherReady(info, true);
      try {
        check(info);
      } catch (e) {
        t.dispose();
        throw e;
      }
      return t;
    }
    const init = model.snapshot();
    const checkpoints: Checkpoint[] = [];
    const teacherPlan = plan("teacher", [labelsPhase(tp.task, model, Infinity, tp.optimizer)]);
    try {
      const keep = (e: EvalEvent) => (checkpoints.push({ step: e.step, samples: e.samples, accuracy: e.accuracy, weights: model.snapshot() }), "");
      const r = await drive(model, teacherPlan, tp.task, {
        loop: { evalEvery: tp.ckptEvery, maxSamples: tp.maxSamples, evalAtBudget: true, tickSeconds: 0.25 },
        policy: teacherPolicy({ target: tp.targetAccuracy, extraCheckpoints: tp.extraCheckpoints }, keep, (e) => hooks.point("teacher", e.samples, e.accuracy)),
        callbacks: pageCallbacks(hooks, "teacher"),
        shouldStop: hooks.shouldStop,
      });
      const info = teacherInfoOf(model, r.position, r.state, checkpoints, attempt);
      hooks.status("teacher trained; caching it in this browser");
      await saveTeacher(key, { init, checkpoints, info }).catch(() => false);
      hooks.teacherReady(info, false);
      check(info);
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

/** One student by `method`, to the target (or the cap), by the same rule as the engine's runStudent. */
export async function trainStudent(cfg: Readonly<ParityConfig>, seed: number, method: MethodName, teacher: TrainedTeacher, hooks: SessionHooks): Promise<StudentRun> {
  const loop = PARITY.studentLoop(cfg);
  const setup = PARITY.student(cfg, seed, method, null, teacher);
  const methodPlan = buildMethod(method, setup.context);
  let run: StudentRun;
  try {
    const r = await drive(setup.model, methodPlan, setup.task, {
      loop: { evalEvery: loop.evalEvery, maxSamples: loop.maxSamples, evalAtStart: loop.evalAtStart, evalAtBudget: loop.evalAtBudget, tickSeconds: 0.25 },
      policy: studentPolicy(loop, (e) => hooks.point(method, e.samples, e.accuracy)),
      callbacks: pageCallbacks(hooks, method),
      shouldStop: hooks.shouldStop,
    });
    run = studentRunOf(seed, method, r.state, null); // the CLI counts the bytes of its weight files; the page writes none
  } finally {
    methodPlan.dispose();
    setup.dispose();
    setup.model.dispose();
  }
  hooks.studentDone(run);
  return run;
}

/** Tensors alive now (the page shows it: a leak would grow it run after run). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
