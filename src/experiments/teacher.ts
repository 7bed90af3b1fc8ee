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
import { readJson, writeJsonAtomic } from "../io";

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

export type TeacherEvent = { samples: number; accuracy: number; loss: number; seconds: number };

export function cacheKeyHash(key: Record<string, unknown>): string {
  const canon = JSON.stringify(Object.keys(key).sort().map((k) => [k, key[k]]));
  return createHash("sha256").update(canon).digest("hex").slice(0, 16);
}

function ckptBase(dir: string, samples: number): string {
  return path.join(dir, `ckpt-${String(samples).padStart(12, "0")}`);
}

function tryLoad(spec: TeacherSpec, dir: string): TrainedTeacher | null {
  const metaFile = path.join(dir, "teacher.json");
  if (!fs.existsSync(metaFile)) return null;
  const meta = readJson<{ info: TeacherInfo; checkpoints: Array<{ step: number; samples: number; accuracy?: number }> }>(metaFile);
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
 * teacher's held-out accuracy at every checkpoint.
 */
export async function getTeacher(spec: TeacherSpec, cacheDir: string | null, onEval?: (e: TeacherEvent) => void): Promise<TrainedTeacher> {
  const dir = cacheDir ? path.join(cacheDir, cacheKeyHash(spec.key)) : null;
  if (dir) {
    const hit = tryLoad(spec, dir);
    if (hit) return hit;
  }
  const model = spec.create();
  const init = model.snapshot();
  const checkpoints: Checkpoint[] = [];
  const curve: TeacherInfo["curve"] = [];
  const methodPlan: MethodPlan = plan("teacher", [labelsPhase(spec.task, model, Infinity, spec.optimizer)]);
  let hit: number | null = null;
  let extra = 0; // checkpoints taken after the target was reached
  let samples = 0;
  let step = 0;
  let accuracy = 0;
  const t0 = Date.now();
  for await (const ev of runPhases(model, methodPlan, spec.task, { evalEvery: spec.ckptEvery, maxSamples: spec.maxSamples })) {
    if (ev.type !== "eval") continue;
    samples = ev.samples;
    step = ev.step;
    accuracy = ev.accuracy;
    curve.push({ samples: ev.samples, accuracy: ev.accuracy, loss: ev.loss });
    checkpoints.push({ step: ev.step, samples: ev.samples, weights: model.snapshot(), accuracy: ev.accuracy });
    onEval?.({ samples: ev.samples, accuracy: ev.accuracy, loss: ev.loss, seconds: ev.seconds });
    if (hit === null && ev.accuracy >= spec.targetAccuracy) hit = ev.samples;
    else if (hit !== null) extra++;
    if (hit !== null && extra >= spec.extraCheckpoints) break;
  }
  methodPlan.dispose();
  const seconds = (Date.now() - t0) / 1000;
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
    saveWeights(path.join(dir, "init"), init);
    for (const c of checkpoints) saveWeights(ckptBase(dir, c.samples), c.weights, { step: c.step, samples: c.samples, accuracy: c.accuracy });
    writeJsonAtomic(path.join(dir, "teacher.json"), {
      key: spec.key,
      info,
      checkpoints: checkpoints.map((c) => ({ step: c.step, samples: c.samples, accuracy: c.accuracy })),
    });
  }
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
