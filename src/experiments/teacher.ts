/**
 * Teacher training with checkpoints, cached under data/cache/teachers/<key hash>/ so that re-runs
 * (and other methods, and notebooks) reuse the same teacher. The cache key is every setting that
 * determines the teacher's weights, the backend included; `teacher.json` is written last and marks
 * a complete entry.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { MethodPlan, Task } from "../distill/phases";
import { Checkpoint } from "../distill/outputs";
import { labelsPhase } from "../distill/outputs";
import { plan } from "../distill/phases";
import { NamedTensors, TappedModel } from "../models/types";
import { runPhases } from "../train/loop";
import { OptimizerSpec } from "../train/optimizers";
import { disposeWeights, loadWeights, saveWeights, shapesOf } from "../train/checkpoints";
import { writeJsonAtomic } from "../io";
import { CheckpointError } from "../train/checkpoints";
import { LoopPosition, LoopResume, newCursor } from "../train/loop";
import { createOptimizer } from "../train/optimizers";
import { Interrupted, isCount, loadState, need, prefixed, readJsonChecked, saveState, section, stateExists } from "./runState";

export interface TeacherSpec {
  /** Everything that determines the trained weights (config fields, seed, backend). */
  key: Record<string, unknown>;
  /** A freshly initialised model (deterministic for the key). */
  create(): TappedModel;
  /** The teacher's own data stream and held-out set. */
  task: Task;
  optimizer: OptimizerSpec;
  /** Save a checkpoint (and evaluate) every this many steps. */
  ckptEvery: number;
  /** Held-out accuracy that counts as trained. */
  targetAccuracy: number;
  /** Checkpoints to keep training after the target is first reached. */
  extraCheckpoints: number;
  /** Training budget in samples. */
  maxSamples: number;
}

export interface TeacherInfo {
  samplesToTarget: number | null;
  samples: number;
  accuracy: number;
  seconds: number;
  stepsPerSecond: number;
  checkpoints: number;
  cached: boolean;
  /** Which initialisation attempt this teacher is (0 = the first; see teacherRetries). */
  attempt?: number;
  curve: Array<{ samples: number; accuracy: number; loss: number }>;
}

export interface TrainedTeacher {
  model: TappedModel;
  /** Weights at initialisation (the untrained control). */
  init: NamedTensors;
  checkpoints: Checkpoint[];
  info: TeacherInfo;
  dir: string | null;
  dispose(): void;
}

/** Where an unfinished teacher keeps its state (a folder of the run), and how often it saves. */
export interface TeacherProgressStore {
  dir: string;
  saveEvery: number;
  shouldStop?: () => boolean;
  /** The task's training-stream position (saved with the state), and how to restore it. */
  stream: { position(): unknown; restore(p: unknown): void };
}

interface TeacherState {
  position: LoopPosition & { optimizerStep: number };
  checkpoints: Array<{ step: number; samples: number; accuracy?: number; sha256: string }>;
  curve: TeacherInfo["curve"];
  hit: number | null;
  extra: number;
  stream: unknown;
}

export type TeacherEvent = { samples: number; accuracy: number; loss: number; seconds: number };

export function cacheKeyHash(key: Record<string, unknown>): string {
  const canon = JSON.stringify(Object.keys(key).sort().map((k) => [k, key[k]]));
  return createHash("sha256").update(canon).digest("hex").slice(0, 16);
}

function ckptBase(dir: string, samples: number): string {
  return path.join(dir, `ckpt-${String(samples).padStart(12, "0")}`);
}

/** The teacher cached in `dir`, or null when `dir` holds no complete entry (teacher.json). */
export function tryLoad(spec: TeacherSpec, dir: string): TrainedTeacher | null {
  const metaFile = path.join(dir, "teacher.json");
  if (!fs.existsSync(metaFile)) return null;
  const meta = readJsonChecked<{ info: TeacherInfo; checkpoints: Array<{ step: number; samples: number; accuracy?: number }> }>(metaFile, "teacher cache entry");
  if (!meta || !meta.info || !Array.isArray(meta.checkpoints) || meta.checkpoints.length === 0 || !meta.checkpoints.every((c) => isCount(c?.samples) && isCount(c?.step))) {
    throw new CheckpointError(metaFile, "teacher cache entry is malformed (no checkpoint list)");
  }
  const model = spec.create();
  const expect = shapesOf(model.snapshot());
  const loaded: NamedTensors[] = [];
  const load = (base: string) => {
    const w = loadWeights(base, expect).weights;
    loaded.push(w);
    return w;
  };
  const init = load(path.join(dir, "init"));
  const checkpoints = meta.checkpoints.map((c) => ({ ...c, weights: load(ckptBase(dir, c.samples)) }));
  const final = checkpoints[checkpoints.length - 1];
  model.load(final.weights);
  return {
    model,
    init,
    checkpoints,
    info: { ...meta.info, cached: true },
    dir,
    dispose() {
      model.dispose();
      for (const w of loaded) disposeWeights(w);
    },
  };
}

/**
 * Train (or load from `cacheDir`, when given) the teacher described by `spec`. `onEval` sees the
 * teacher's held-out accuracy at every checkpoint. With `progress`, an unfinished teacher saves its
 * state (weights, optimiser, stream position, checkpoints so far) there every `saveEvery`
 * checkpoints and on a stop request (then throws `Interrupted`), and continues from it when called
 * again; once the teacher is complete the folder is removed (the cache entry holds the teacher).
 */
export async function getTeacher(
  spec: TeacherSpec,
  cacheDir: string | null,
  onEval?: (e: TeacherEvent) => void,
  progress?: TeacherProgressStore,
): Promise<TrainedTeacher> {
  const dir = cacheDir ? path.join(cacheDir, cacheKeyHash(spec.key)) : null;
  if (dir) {
    const hit = tryLoad(spec, dir);
    if (hit) return hit;
  }
  const model = spec.create();
  const init = model.snapshot();
  const checkpoints: Checkpoint[] = [];
  let curve: TeacherInfo["curve"] = [];
  const methodPlan: MethodPlan = plan("teacher", [labelsPhase(spec.task, model, Infinity, spec.optimizer)]);
  let hit: number | null = null;
  let extra = 0; // checkpoints taken after the target was reached
  let samples = 0;
  let step = 0;
  let accuracy = 0;
  let seconds = 0;
  const cursor = newCursor();
  const savedCkpts: TeacherState["checkpoints"] = [];
  let resume: LoopResume | undefined;
  const store = progress ?? null;
  const stateBase = store ? path.join(store.dir, "state") : "";
  const save = async () => {
    if (!store) return;
    const w = { ...prefixed(model.snapshot(), "model"), ...prefixed(cursor.optimizer?.state() ?? {}, "opt") };
    const { phaseIndex, stepInPhase, step: st, samples: sa, seconds: se } = cursor.position;
    const data: TeacherState = {
      position: { phaseIndex, stepInPhase, step: st, samples: sa, seconds: se, optimizerStep: cursor.optimizer?.step ?? 0 },
      checkpoints: savedCkpts,
      curve,
      hit,
      extra,
      stream: store.stream.position(),
    };
    try {
      await saveState(stateBase, w, data);
    } finally {
      disposeWeights(section(w, "model"));
    }
  };
  let loaded: NamedTensors | null = null;
  const t0 = Date.now();
  try {
    if (store) {
      fs.mkdirSync(store.dir, { recursive: true });
      if (stateExists(stateBase)) {
        const expect = Object.fromEntries(Object.entries(shapesOf(init)).map(([k, v]) => [`model/${k}`, v]));
        const st = loadState<TeacherState>(stateBase, expect, (d) => {
          const t = d as TeacherState;
          need(t && t.position && [t.position.step, t.position.samples, t.position.stepInPhase, t.position.optimizerStep].every(isCount), "position");
          need(Array.isArray(t.checkpoints) && t.checkpoints.every((c) => isCount(c?.samples) && typeof c.sha256 === "string"), "checkpoints");
          need(Array.isArray(t.curve) && isCount(t.extra) && (t.hit === null || isCount(t.hit)), "curve/hit/extra");
          return t;
        });
        loaded = st.weights;
        const t = st.data;
        const initW = loadWeights(path.join(store.dir, "init"), shapesOf(init)).weights;
        disposeWeights(init);
        Object.assign(init, initW);
        for (const c of t.checkpoints) {
          const base = ckptBase(store.dir, c.samples);
          const { weights, manifest } = loadWeights(base, shapesOf(init));
          if (manifest.sha256 !== c.sha256) throw new CheckpointError(`${base}.json`, `checksum does not match the teacher state (${stateBase}.json)`);
          checkpoints.push({ step: c.step, samples: c.samples, accuracy: c.accuracy, weights });
          savedCkpts.push(c);
        }
        try {
          model.load(section(loaded, "model"));
          store.stream.restore(t.stream);
          const probe = createOptimizer(spec.optimizer);
          try {
            probe.restore(model.variables, t.position.optimizerStep, section(loaded, "opt"));
          } finally {
            probe.dispose();
          }
        } catch (e) {
          throw new CheckpointError(`${stateBase}.json`, `does not fit this teacher (${(e as Error).message})`);
        }
        resume = { ...t.position, phaseIndex: 0, optimizerState: section(loaded, "opt") };
        curve = t.curve;
        hit = t.hit;
        extra = t.extra;
        ({ step, samples, seconds } = t.position);
        accuracy = curve.length ? curve[curve.length - 1].accuracy : 0;
      } else {
        await saveWeights(path.join(store.dir, "init"), init);
      }
    }
    const events = runPhases(model, methodPlan, spec.task, { evalEvery: spec.ckptEvery, maxSamples: spec.maxSamples, cursor, resume, shouldStop: store?.shouldStop });
    for await (const ev of events) {
      if (ev.type === "interrupt") {
        await save();
        throw new Interrupted();
      }
      if (ev.type !== "eval") continue;
      samples = ev.samples;
      step = ev.step;
      accuracy = ev.accuracy;
      seconds = ev.seconds;
      curve.push({ samples: ev.samples, accuracy: ev.accuracy, loss: ev.loss });
      const c = { step: ev.step, samples: ev.samples, weights: model.snapshot(), accuracy: ev.accuracy };
      checkpoints.push(c);
      if (store) savedCkpts.push({ step: c.step, samples: c.samples, accuracy: c.accuracy, sha256: (await saveWeights(ckptBase(store.dir, c.samples), c.weights)).sha256 });
      onEval?.({ samples: ev.samples, accuracy: ev.accuracy, loss: ev.loss, seconds: ev.seconds });
      if (hit === null && ev.accuracy >= spec.targetAccuracy) hit = ev.samples;
      else if (hit !== null) extra++;
      if (hit !== null && extra >= spec.extraCheckpoints) break;
      if (store && curve.length % store.saveEvery === 0) await save();
    }
  } catch (e) {
    model.dispose();
    disposeWeights(init);
    for (const c of checkpoints) disposeWeights(c.weights);
    throw e;
  } finally {
    methodPlan.dispose();
    if (loaded) disposeWeights(loaded);
  }
  if (!resume) seconds = (Date.now() - t0) / 1000;
  if (checkpoints.length === 0 || checkpoints[checkpoints.length - 1].step !== step) {
    // Budget ended between checkpoints: the final weights are the last checkpoint.
    checkpoints.push({ step, samples, weights: model.snapshot(), accuracy });
  }
  const info: TeacherInfo = {
    samplesToTarget: hit,
    samples,
    accuracy,
    seconds,
    stepsPerSecond: step / Math.max(seconds, 1e-9),
    checkpoints: checkpoints.length,
    cached: false,
    curve,
  };
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    await saveWeights(path.join(dir, "init"), init);
    for (const c of checkpoints) await saveWeights(ckptBase(dir, c.samples), c.weights, { step: c.step, samples: c.samples, accuracy: c.accuracy });
    writeJsonAtomic(path.join(dir, "teacher.json"), {
      key: spec.key,
      info,
      checkpoints: checkpoints.map((c) => ({ step: c.step, samples: c.samples, accuracy: c.accuracy })),
    });
  }
  if (progress && dir) fs.rmSync(progress.dir, { recursive: true, force: true });
  return {
    model,
    init,
    checkpoints,
    info,
    dir,
    dispose() {
      model.dispose();
      disposeWeights(init);
      for (const c of checkpoints) disposeWeights(c.weights);
    },
  };
}
