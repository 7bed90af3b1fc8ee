/**
 * A seed's teacher: loaded from the cache, or trained (resumably) and published there.
 *
 * Cache entry `<cache>/<hash of key + backend>/`: teacher.json (checksummed: the key, the info that
 * follows from the key, and the SHA-256 of every weight file) + init and checkpoint weight files. It
 * holds nothing volatile (timings live in the run), so two runs training the same teacher write the
 * same bytes; an entry is published once, by renaming a complete temporary folder, and a run that
 * finds one published uses it.
 *
 * In a run folder: `teachers/seed<S>-attempt<A>/` holds an unfinished teacher's state and
 * checkpoints; `teachers/seed<S>.json` (checksummed) records the entry the run used, its checksum
 * and the run's own view (timings, whether it came from the cache). A resumed run loads exactly that
 * entry or stops with one line naming the file: never a silent retrain.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { backendKey } from "../backend";
import { labelsPhase } from "../distill/outputs";
import { plan } from "../distill/phases";
import { Checkpoint } from "../distill/outputs";
import { NamedTensors } from "../models/types";
import { canonicalJson, hashKey, writeRecord } from "../io";
import { CheckpointError, disposeWeights, loadWeights, saveWeights, shapesOf } from "../train/checkpoints";
import { trainRun } from "../train/run";
import { count, readChecked } from "../train/state";
import { TeacherInfo, TeacherPlan, TrainedTeacher, teacherInfoOf } from "./experiment";
import { EvalEvent } from "../train/loop";
import { TeacherFailed, teacherPolicy, teacherShortfall } from "../train/driver";
import { LOCK_FILE, rmQuietly, writeOwnLock } from "./folders";

export const TEACHER_FORMAT = "curriculum-distill/teacher@2";

/** Where teachers live: the cache (null: in memory only) and, in a run, the run folder. */
export interface TeacherStore {
  cacheDir: string | null;
  run?: { dir: string; saveEvery: number; shouldStop?: () => boolean };
  /** Aborting it stops the teacher's training as a stop request does. */
  signal?: AbortSignal;
  /** Polled after every step outside a run folder (a worker's shared stop flag). */
  shouldStop?: () => boolean;
  /** Use a teacher that missed its requirement anyway (its info says so) instead of a TeacherFailed. */
  allowFailed?: boolean;
}

/** A teacher's evaluation (every checkpoint), or a time-based tick of its loop (progress displays). */
export type TeacherEvent =
  | { kind: "eval"; step: number; samples: number; accuracy: number; loss: number; seconds: number }
  | { kind: "tick"; step: number; samples: number; seconds: number; evaluating: boolean };

const CURVE = z.array(z.object({ samples: count, accuracy: z.number(), loss: z.number() }));
const CKPTS = z.array(z.object({ step: count, samples: count, accuracy: z.number().optional(), sha256: z.string() }));
const ENTRY = z.object({
  format: z.literal(TEACHER_FORMAT),
  key: z.record(z.unknown()),
  info: z.object({ samplesToTarget: count.nullable(), samples: count, accuracy: z.number(), checkpoints: count, attempt: count, curve: CURVE }),
  init: z.string(),
  checkpoints: CKPTS.nonempty(),
});
const RECORD = z.object({
  attempt: count,
  entry: z.string().regex(/^[0-9a-f]{16}$/),
  entryChecksum: z.string(),
  /** The backend key the entry was made with (absent in records written before it was kept). */
  backend: z.string().optional(),
  info: z.object({
    samplesToTarget: count.nullable(),
    samples: count,
    accuracy: z.number(),
    seconds: z.number(),
    stepsPerSecond: z.number(),
    checkpoints: count,
    cached: z.boolean(),
    attempt: count,
    failed: z.string().optional(),
  }),
});
const POLICY = z.object({ curve: CURVE, hit: count.nullable(), extra: count, checkpoints: CKPTS });

/** The info's fields in one order, however it was put together (summary.json compares equal). */
function infoInOrder(i: TeacherInfo): TeacherInfo {
  const { samplesToTarget, samples, accuracy, seconds, stepsPerSecond, checkpoints, cached, attempt, failed, curve } = i;
  return { samplesToTarget, samples, accuracy, seconds, stepsPerSecond, checkpoints, cached, attempt, ...(failed !== undefined ? { failed } : {}), curve };
}

const ckptName = (samples: number) => `ckpt-${String(samples).padStart(12, "0")}`;

function teacherOf(model: TrainedTeacher["model"], init: NamedTensors, checkpoints: Checkpoint[], info: TeacherInfo): TrainedTeacher {
  return {
    model,
    init,
    checkpoints,
    info,
    dispose() {
      model.dispose();
      disposeWeights(init);
      for (const c of checkpoints) disposeWeights(c.weights);
    },
  };
}

/** The fields where two cache keys differ, as "field: stored vs wanted" (for the refusal message). */
function keyDiff(stored: Record<string, unknown>, wanted: Record<string, unknown>): string {
  const fields = [...new Set([...Object.keys(stored), ...Object.keys(wanted)])].filter((k) => canonicalJson(stored[k]) !== canonicalJson(wanted[k]));
  return fields
    .slice(0, 3)
    .map((k) => `${k}: ${canonicalJson(stored[k]) ?? "absent"} there, ${canonicalJson(wanted[k]) ?? "absent"} here`)
    .join("; ");
}

/** An entry's teacher.json, read and verified, and its stored key compared with the requested one. */
function readEntry(meta: string, key: Record<string, unknown>): z.infer<typeof ENTRY> & { checksum: string } {
  const e = readChecked(meta, ENTRY, "teacher cache entry");
  if (canonicalJson(e.key) !== canonicalJson(key))
    throw new CheckpointError(
      meta,
      `holds the teacher of cache key ${hashKey(e.key)}, not of the requested ${hashKey(key)} (${keyDiff(e.key, key)}): a copied or moved entry; remove ${path.dirname(meta)} to train this one again`,
    );
  return e;
}

/** Load a published entry, every file verified (its stored key must be `key`); null when `dir` holds none. */
function loadEntry(tp: TeacherPlan, dir: string, key: Record<string, unknown>, cached: boolean, t0: number): { teacher: TrainedTeacher; checksum: string } | null {
  const meta = path.join(dir, "teacher.json");
  if (!fs.existsSync(meta)) return null;
  const e = readEntry(meta, key);
  const model = tp.create();
  const expect = shapesOf(model.snapshot());
  const loaded: NamedTensors[] = [];
  const load = (name: string, sha: string) => {
    const { weights, manifest } = loadWeights(path.join(dir, name), expect);
    loaded.push(weights);
    if (manifest.sha256 !== sha) throw new CheckpointError(path.join(dir, `${name}.json`), `does not match the checksum in ${meta}`);
    return weights;
  };
  try {
    const init = load("init", e.init);
    const checkpoints = e.checkpoints.map((c) => ({ step: c.step, samples: c.samples, accuracy: c.accuracy, weights: load(ckptName(c.samples), c.sha256) }));
    model.load(checkpoints[checkpoints.length - 1].weights);
    const seconds = (Date.now() - t0) / 1000;
    return { teacher: teacherOf(model, init, checkpoints, { ...e.info, seconds, stepsPerSecond: 0, cached }), checksum: e.checksum };
  } catch (err) {
    model.dispose();
    for (const w of loaded) disposeWeights(w);
    throw err;
  }
}

/** Publish a teacher as a cache entry (once: a complete folder renamed into place); returns its checksum. */
async function publish(dir: string, key: Record<string, unknown>, t: TrainedTeacher): Promise<string> {
  // Built aside as `.<key>.<pid>.tmp`, with a lock naming this process so that a later start can
  // tell a dead writer's leftovers (removeDeadTmpFolders) from a live one's; removed on any failure.
  const tmp = `${path.join(path.dirname(dir), `.${path.basename(dir)}`)}.${process.pid}.tmp`;
  let checksum: string;
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    writeOwnLock(tmp);
    const init = (await saveWeights(path.join(tmp, "init"), t.init)).sha256;
    const checkpoints = [];
    for (const c of t.checkpoints)
      checkpoints.push({ step: c.step, samples: c.samples, accuracy: c.accuracy, sha256: (await saveWeights(path.join(tmp, ckptName(c.samples)), c.weights)).sha256 });
    const { seconds: _s, stepsPerSecond: _r, cached: _c, ...info } = t.info;
    checksum = writeRecord(path.join(tmp, "teacher.json"), { format: TEACHER_FORMAT, key, info: { ...info, attempt: info.attempt ?? 0 }, init, checkpoints });
    fs.rmSync(path.join(tmp, LOCK_FILE));
  } catch (e) {
    rmQuietly(tmp);
    throw e;
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.renameSync(tmp, dir);
        return checksum;
      } catch (e) {
        if (fs.existsSync(path.join(dir, "teacher.json")) || attempt > 2) {
          if (!fs.existsSync(path.join(dir, "teacher.json"))) throw new CheckpointError(dir, `cannot publish the teacher here (${(e as NodeJS.ErrnoException).code})`);
          // Published meanwhile by another run (same key, so the same bytes): that entry stands.
          return readEntry(path.join(dir, "teacher.json"), key).checksum;
        }
        // A folder without teacher.json is no entry (debris, or damage): moved away, then replaced.
        const debris = path.join(path.dirname(dir), `.${path.basename(dir)}-debris.${process.pid}.tmp`);
        fs.renameSync(dir, debris);
        fs.rmSync(debris, { recursive: true, force: true });
      }
    }
  } finally {
    rmQuietly(tmp); // nothing left when renamed into place; the unpublished copy otherwise
  }
}

/** Train a teacher, resumably when `progressDir` is given. */
async function train(tp: TeacherPlan, attempt: number, progressDir: string | null, store: TeacherStore, onEval?: (e: TeacherEvent) => void): Promise<TrainedTeacher> {
  const model = tp.create();
  let init = model.snapshot();
  const checkpoints: Checkpoint[] = [];
  const methodPlan = plan("teacher", [labelsPhase(tp.task, model, Infinity, tp.optimizer)]);
  try {
    if (progressDir) {
      const initBase = path.join(progressDir, "init");
      if (fs.existsSync(`${initBase}.json`)) {
        disposeWeights(init);
        init = loadWeights(initBase, shapesOf(model.snapshot())).weights;
      } else await saveWeights(initBase, init);
    }
    // Every evaluation is a checkpoint: kept in memory, and in the progress folder when resumable.
    const keep = async (ev: EvalEvent) => {
      const c = { step: ev.step, samples: ev.samples, accuracy: ev.accuracy, weights: model.snapshot() };
      checkpoints.push(c);
      return progressDir ? (await saveWeights(path.join(progressDir, ckptName(c.samples)), c.weights)).sha256 : "";
    };
    const point = (ev: EvalEvent) => onEval?.({ kind: "eval", step: ev.step, samples: ev.samples, accuracy: ev.accuracy, loss: ev.loss, seconds: ev.seconds });
    const r = await trainRun({
      model,
      plan: methodPlan,
      task: tp.task,
      loop: { evalEvery: tp.ckptEvery, maxSamples: tp.maxSamples, evalAtStart: false, evalAtBudget: true },
      // Saved at the budget too: a teacher that missed its target continues from there with a larger cap.
      store: progressDir ? { base: path.join(progressDir, "state"), saveEvery: store.run!.saveEvery, atBudget: true } : undefined,
      shouldStop: store.run?.shouldStop ?? store.shouldStop,
      signal: store.signal,
      policy: teacherPolicy({ target: tp.targetAccuracy, extraCheckpoints: tp.extraCheckpoints }, keep, point),
      shape: POLICY,
      callbacks: { onTick: (t) => onEval?.({ kind: "tick", step: t.step, samples: t.samples, seconds: t.seconds, evaluating: t.evaluating }) },
      onRestore: (s) => {
        for (const c of s.checkpoints) {
          const { weights, manifest } = loadWeights(path.join(progressDir!, ckptName(c.samples)), shapesOf(init));
          checkpoints.push({ step: c.step, samples: c.samples, accuracy: c.accuracy, weights });
          if (manifest.sha256 !== c.sha256) throw new CheckpointError(path.join(progressDir!, `${ckptName(c.samples)}.json`), "checksum does not match the teacher's state");
        }
      },
    });
    const info = teacherInfoOf(model, r.position, r.state, checkpoints, attempt);
    return teacherOf(model, init, checkpoints, info);
  } catch (e) {
    model.dispose();
    disposeWeights(init);
    for (const c of checkpoints) disposeWeights(c.weights);
    throw e;
  } finally {
    methodPlan.dispose();
  }
}

/** The teacher's progress folders of `seed` in a run folder (one per initialisation attempt). */
function progressDirs(runDir: string, seed: number): string[] {
  const dir = path.join(runDir, "teachers");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => new RegExp(`^seed${seed}-attempt\\d+$`).test(f))
    .map((f) => path.join(dir, f));
}

/** The run's record of its seed-`seed` teacher (which cache entry it used, and its own view of it). */
export const teacherRecordFile = (runDir: string, seed: number) => path.join(runDir, "teachers", `seed${seed}.json`);

/**
 * The teacher of `seed`: the run's recorded one, a cached one, or a newly trained one (published
 * to the cache). A teacher that misses its requirement (TeacherPlan.requirement: its target by
 * default) is re-initialised (`plans(attempt)` with the next attempt) while `retries` allows; after
 * the last attempt it is a `TeacherFailed` unless `store.allowFailed` (then its info says what it
 * missed). In a run folder every failed attempt's state is kept until the teacher is settled, so a
 * run resumed with a larger budget continues each attempt from where it stopped.
 */
export async function obtainTeacher(
  seed: number,
  plans: (attempt: number) => TeacherPlan,
  retries: number,
  store: TeacherStore,
  onEval?: (e: TeacherEvent) => void,
): Promise<TrainedTeacher> {
  const run = store.run;
  const recordFile = run ? teacherRecordFile(run.dir, seed) : null;
  const record = recordFile && fs.existsSync(recordFile) ? readChecked(recordFile, RECORD, "teacher record") : null;
  for (let attempt = record?.attempt ?? 0; ; attempt++) {
    const tp = plans(attempt);
    try {
      const key = { ...tp.key, backend: backendKey(), seed, attempt };
      const hash = hashKey(key);
      const dir = store.cacheDir ? path.join(store.cacheDir, hash) : null;
      const t0 = Date.now();
      if (record) {
        // The run already has its teacher: exactly that entry, or one line naming what is wrong.
        if (!dir) throw new CheckpointError(recordFile!, `names cache entry ${record.entry}, but this session has no teacher cache`);
        if (record.entry !== hash) {
          const why =
            record.backend !== undefined && record.backend !== key.backend
              ? `it was made with backend ${record.backend}, and this session has ${key.backend} (results would mix two kernels' rounding; resume with the same backend)`
              : "the teacher's cache key changed (a different version of the tool?)";
          throw new CheckpointError(recordFile!, `names teacher ${record.entry}, but this session's teacher for the config is ${hash}: ${why}`);
        }
        const got = loadEntry(tp, dir, key, record.info.cached, t0);
        if (!got) throw new CheckpointError(path.join(dir, "teacher.json"), `missing: the run's teacher record ${recordFile} names this cache entry`);
        if (got.checksum !== record.entryChecksum) throw new CheckpointError(path.join(dir, "teacher.json"), `does not match the run's teacher record ${recordFile} (checksum)`);
        got.teacher.info = infoInOrder({ ...got.teacher.info, ...record.info });
        return got.teacher;
      }
      const progressDir = run ? path.join(run.dir, "teachers", `seed${seed}-attempt${attempt}`) : null;
      // Trained (partly) by this run when its progress folder exists, or when the cache is the run's own.
      const mine = progressDir !== null && (fs.existsSync(progressDir) || path.resolve(dir ?? "").startsWith(path.resolve(run!.dir) + path.sep));
      let got = dir ? loadEntry(tp, dir, key, !mine, t0) : null;
      if (!got) {
        const teacher = await train(tp, attempt, progressDir, store, onEval);
        got = { teacher, checksum: dir ? await publish(dir, key, teacher) : "" };
      }
      const teacher = got.teacher;
      teacher.info = infoInOrder({ ...teacher.info, attempt });
      const shortfall = teacherShortfall(teacher.info, tp.requirement ?? { target: tp.targetAccuracy });
      if (shortfall !== null && attempt < retries) {
        teacher.dispose();
        continue; // its progress folder stays: a larger budget continues it
      }
      if (shortfall !== null) {
        if (!store.allowFailed) {
          teacher.dispose();
          throw new TeacherFailed(seed, teacher.info.accuracy, teacher.info.samples, shortfall, tp.knobs ?? { maxSamples: tp.maxSamples }, attempt + 1);
        }
        teacher.info = { ...teacher.info, failed: shortfall };
      }
      if (recordFile && dir) {
        const { curve: _c, ...info } = teacher.info;
        writeRecord(recordFile, { attempt, entry: hash, entryChecksum: got.checksum, backend: key.backend, info: { ...info, attempt } });
      }
      if (run) for (const d of progressDirs(run.dir, seed)) fs.rmSync(d, { recursive: true, force: true });
      return teacher;
    } finally {
      tp.dispose();
    }
  }
}
