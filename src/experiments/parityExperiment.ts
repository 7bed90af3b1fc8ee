/**
 * Sparse parity (PAPER.md): x uniform on {-1,+1}^n, label = parity of k bits; online batches and a
 * fixed held-out set per seed. `parityExperiment` wires any pair of model families to it (teacher,
 * student, optimisers, cx's tap pairs); this file registers the 2-layer MLPs ("parity"), and
 * parityTransformer.ts the transformers. Everything else is the engine's.
 *
 * The experiments as data only (fields, presets, models, teacher and student plans): no file,
 * thread or native code, so the live page (demo/) bundles it for the browser. parity.ts re-exports
 * it and adds the runners (runParity, trainParityTeacher), which go through the engine.
 */
import { ConfigOf, ConfigError, FieldsOf, configToJson, int, num, oneOf, withDefault } from "../config";
import { parityTask } from "../data/sparseParity";
import { CurriculumOptions } from "../distill/curriculumExtraction";
import { createMlp } from "../models/mlp";
import { TappedModel } from "../models/types";
import { Rng, rootRng } from "../rng";
import { OptimizerSpec } from "../train/optimizers";
import { Experiment, TrainedTeacher, checkModelSize, resolveExperiment, studentSetup } from "./experiment";
import { METHOD_FIELDS } from "../distill/methods";
import { COMMON_FIELDS, CommonConfig, PARITY_BUDGET_FIELDS, PARITY_TASK_FIELDS, PROJ_SCALE, RUN_TO_CAP, TAP_FIELDS } from "./fields";
import { ParityInput, parityStream } from "./parityTask";
import { Summary, summarize, teacherSummaries } from "./summary";

/** Fields every sparse-parity experiment has (MLP and transformer). */
export type ParityCommon = CommonConfig & ConfigOf<typeof PARITY_TASK_FIELDS> & ConfigOf<typeof PARITY_BUDGET_FIELDS> & ConfigOf<typeof RUN_TO_CAP> & { teacherRetries?: number };

/** What differs between the parity experiments: the models, optimisers, input encoding and tap pairs. */
export interface ParityModels<C extends ParityCommon> {
  readonly input: ParityInput;
  /** Settings that determine the teacher's weights besides the task (the cache key). */
  teacherKey(cfg: Readonly<C>): Record<string, unknown>;
  createTeacher(cfg: Readonly<C>, rng: Rng): TappedModel;
  createStudent(cfg: Readonly<C>, rng: Rng): TappedModel;
  teacherOptimizer(cfg: Readonly<C>): OptimizerSpec;
  studentOptimizer(cfg: Readonly<C>): OptimizerSpec;
  curriculum(cfg: Readonly<C>, teacher: TappedModel, student: TappedModel): Omit<CurriculumOptions, "output" | "tapSource">;
  /** Parameters of the larger model (refused when too large to train). */
  params(cfg: Readonly<C>): { field: keyof C & string; params: number };
}

function taskOf(cfg: Readonly<ParityCommon>, rng: Rng) {
  return parityTask(cfg.n, cfg.k, cfg.support === "random" ? rng.derive("support") : undefined);
}

/** A parity experiment from its models; `check` adds the family's own cross-field checks. */
export function parityExperiment<C extends ParityCommon>(
  name: "parity" | "parity-transformer",
  title: string,
  fields: FieldsOf<C>,
  presets: Readonly<Record<string, Partial<C>>>,
  m: ParityModels<C>,
  more: { check(cfg: Readonly<C>): void; describe(cfg: Readonly<C>): string },
): Experiment<C, null, Summary> {
  return {
    name,
    title,
    fields,
    presets: () => presets,
    check(cfg) {
      if (cfg.k > cfg.n) throw new ConfigError("k", cfg.k, `must be <= n (${cfg.n})`);
      more.check(cfg);
      const p = m.params(cfg);
      checkModelSize(p.field, cfg[p.field] as number, p.params, "larger model");
    },
    describe: more.describe,
    runName: (cfg) => `${name}-${cfg.preset}`,
    prepare: () => null,
    teacherRetries: (cfg) => cfg.teacherRetries ?? 0,
    teacher(cfg, seed, _data, attempt) {
      const rng = rootRng(seed);
      const task = parityStream(taskOf(cfg, rng), rng.derive("teacher", "data", ...(attempt ? [attempt] : [])), rng.derive("heldout"), cfg.teacherBatch, cfg.heldout, m.input);
      return {
        key: {
          ...m.teacherKey(cfg),
          n: cfg.n,
          k: cfg.k,
          support: cfg.support,
          batch: cfg.teacherBatch,
          ckptEvery: cfg.ckptEvery,
          target: cfg.teacherTarget,
          extra: cfg.teacherExtraCkpts,
          maxSamples: cfg.teacherMaxSamples,
          heldout: cfg.heldout,
        },
        create: () => m.createTeacher(cfg, attempt ? rng.derive("teacher", "init", attempt) : rng.derive("teacher", "init")),
        task,
        optimizer: m.teacherOptimizer(cfg),
        ckptEvery: cfg.ckptEvery,
        targetAccuracy: cfg.teacherTarget,
        extraCheckpoints: cfg.teacherExtraCkpts,
        maxSamples: cfg.teacherMaxSamples,
        knobs: { teacherMaxSamples: cfg.teacherMaxSamples, ...(cfg.teacherRetries !== undefined ? { teacherRetries: cfg.teacherRetries } : {}) },
        dispose: () => task.dispose(),
      };
    },
    student(cfg, seed, _method, _data, teacher: TrainedTeacher) {
      const rng = rootRng(seed);
      const model = m.createStudent(cfg, rng.derive("student", "init"));
      const task = parityStream(taskOf(cfg, rng), rng.derive("student", "data"), rng.derive("heldout"), cfg.batch, cfg.heldout, m.input);
      const output = { optimizer: m.studentOptimizer(cfg), tau: cfg.tau };
      return studentSetup({
        model,
        task,
        teacher,
        seedRng: rng,
        shell: (r) => m.createTeacher(cfg, r),
        batch: cfg.batch,
        output: () => output,
        curriculum: m.curriculum(cfg, teacher.model, model),
        settings: cfg,
        dispose: () => task.dispose(),
      });
    },
    studentLoop: (cfg) => ({ evalEvery: cfg.evalEvery, maxSamples: cfg.maxSamples, evalAtStart: false, evalAtBudget: true, target: cfg.targetAccuracy, runToCap: cfg.runToCap }),
    summarize: (cfg, runs, teachers, _data, recorded) => ({
      config: configToJson(cfg),
      ...recorded,
      methods: summarize(runs, cfg.methods, cfg.seeds, cfg.maxSamples),
      teachers: teacherSummaries(teachers),
    }),
  };
}

/** The MLP parity config, in --help and config.json order. */
export const PARITY_FIELDS = {
  preset: COMMON_FIELDS.preset,
  ...PARITY_TASK_FIELDS,
  teacherWidth: int(1000, "teacher hidden width (PAPER.md: 1000)", { min: 1, max: 1_000_000 }),
  studentWidth: int(20, "student hidden width (PAPER.md: 20)", { min: 1, max: 1_000_000 }),
  lr: num(0.1, "student SGD learning rate (PAPER.md: 0.1)", { min: 0, exclusiveMin: true }),
  teacherLr: num(0.1, "teacher SGD learning rate (PAPER.md: 0.1)", { min: 0, exclusiveMin: true }),
  seeds: COMMON_FIELDS.seeds,
  methods: COMMON_FIELDS.methods,
  ...METHOD_FIELDS,
  ...TAP_FIELDS,
  // "auto" measured as good as or better than the earlier fixed 500 on 10 of 12 (configuration,
  // seed) pairs and within 1.3x of the best fixed length everywhere (README, "Phase length").
  tapSteps: withDefault(
    TAP_FIELDS.tapSteps,
    "auto",
    'curriculum extraction: steps of phase 1 ("auto": until its projected MSE stops improving, at most 2000; the paper: 500), counted in the student\'s budget',
  ),
  projDim: int(0, "projection dimension; 0 = the student's width (every student neuron is matched)", { min: 0 }),
  ...PROJ_SCALE,
  tapActivation: oneOf(["post", "pre"] as const, "post", 'which hidden activation is matched: "post" = relu(W1 x + b1) (PAPER.md), "pre" = W1 x + b1'),
  projection: oneOf(["random", "learned"] as const, "random", '"random": a fixed seeded projection (the method); "learned": a FitNets-style hint regressor (an ablation)'),
  ...PARITY_BUDGET_FIELDS,
  ...RUN_TO_CAP,
};
/** Old names, still readable on a resolved config (not enumerable, so never saved). */
interface ParityOldNames {
  /** @deprecated the same as tapSteps */
  readonly p1Steps?: number | "auto";
  /** @deprecated the same as tapLr */
  readonly p1Lr?: number;
}
export type ParityConfig = ConfigOf<typeof PARITY_FIELDS> & ParityOldNames;
export type ParityMethod = ParityConfig["methods"][number];

export const PARITY_PRESETS: Record<string, Partial<ParityConfig>> = {
  /** Tests and CI: seconds. */
  smoke: { preset: "smoke", n: 50, k: 4, teacherWidth: 1000, studentWidth: 20, maxSamples: 1.5e6, teacherMaxSamples: 4e6 },
  /** The headline figure: minutes on 2 cores. */
  main: { preset: "main", n: 50, k: 5, teacherWidth: 1000, studentWidth: 20, maxSamples: 3e6, teacherMaxSamples: 2e7 },
  /** The papers' scale. Days on a CPU: the teacher trains with batch 1 and SGD 0.005, as the
   * predecessor did (a 50000-wide teacher is unstable at batch 32, PAPER.md). Never run in CI. */
  paper: { preset: "paper", n: 100, k: 6, teacherWidth: 50000, studentWidth: 100, teacherBatch: 1, teacherLr: 0.005, ckptEvery: 100000, maxSamples: 5e7, teacherMaxSamples: 1e8 },
};

const mlpParams = (n: number, w: number) => n * w + w + 2 * w + 2;

/** The 2-layer MLP family (PAPER.md): plain SGD, one tap pair (the hidden layer). */
export const PARITY: Experiment<ParityConfig, null, Summary> = parityExperiment<ParityConfig>(
  "parity",
  "Sparse parity with 2-layer MLPs",
  PARITY_FIELDS,
  PARITY_PRESETS,
  {
    input: "bits",
    teacherKey: (cfg) => ({ kind: "parity-mlp-teacher@4", width: cfg.teacherWidth, lr: cfg.teacherLr }),
    createTeacher: (cfg, rng) => createMlp({ inputDim: cfg.n, width: cfg.teacherWidth, outputDim: 2 }, rng),
    createStudent: (cfg, rng) => createMlp({ inputDim: cfg.n, width: cfg.studentWidth, outputDim: 2 }, rng),
    teacherOptimizer: (cfg) => ({ kind: "sgd", lr: cfg.teacherLr }),
    studentOptimizer: (cfg) => ({ kind: "sgd", lr: cfg.lr }),
    curriculum: (cfg) => {
      const tap = cfg.tapActivation === "post" ? "hidden" : "hiddenPre";
      return {
        pairs: [{ teacherTap: tap, studentTap: tap, dim: cfg.projDim || undefined }],
        tapSteps: cfg.tapSteps,
        tapOptimizer: { kind: "sgd", lr: cfg.tapLr },
        projScale: cfg.projScale || undefined,
        projection: cfg.projection,
      };
    },
    params: (cfg) =>
      cfg.teacherWidth >= cfg.studentWidth
        ? { field: "teacherWidth", params: mlpParams(cfg.n, cfg.teacherWidth) }
        : { field: "studentWidth", params: mlpParams(cfg.n, cfg.studentWidth) },
  },
  {
    check(cfg) {
      if (cfg.projDim > cfg.studentWidth) throw new ConfigError("projDim", cfg.projDim, `must be <= studentWidth (${cfg.studentWidth})`);
    },
    describe: (cfg) => `n=${cfg.n} k=${cfg.k} teacher ${cfg.teacherWidth} student ${cfg.studentWidth}`,
  },
);

export function resolveParityConfig(preset: string | undefined, overrides: Readonly<Record<string, unknown>> = {}): Readonly<ParityConfig> {
  return resolveExperiment(PARITY, preset, overrides);
}
