/**
 * Config fields shared by the experiments, each declared once (type, default, meaning, check; see
 * config.ts). An experiment's config is a record of these, in the order `--help` and config.json
 * show them, with its own defaults where they differ (`withDefault`).
 */
import { int, intList, intOrAuto, enumList, num, oneOf, str, bool, ConfigOf } from "../config";
import { METHOD_FIELDS, METHOD_NAMES, MethodName } from "../distill/methods";

/** Fields every experiment has. */
export const COMMON_FIELDS = {
  preset: str("main", "the preset the values started from (recorded; flags override the preset's values)"),
  seeds: intList([0], "seeds: one teacher per seed, and one student per method per seed", { min: 0 }),
  methods: enumList<MethodName>(METHOD_NAMES, ["cx", "oneshot", "progressive", "scratch"], `methods to run, in this order (${METHOD_NAMES.join(", ")})`),
  ...METHOD_FIELDS,
};
export type CommonConfig = ConfigOf<typeof COMMON_FIELDS>;

/** Sparse parity (MLP and transformer): the task, the teacher's budget, the students' target. */
export const PARITY_TASK_FIELDS = {
  n: int(50, "input bits", { min: 1, max: 100000 }),
  k: int(5, "support size: the label is the parity of k bits (must be <= n)", { min: 1 }),
  support: oneOf(["first", "random"] as const, "first", 'which bits: "first" k coordinates (PAPER.md) or a seeded "random" subset'),
  batch: int(32, "student batch size (PAPER.md: 32)", { min: 1, max: 1_000_000 }),
  teacherBatch: int(32, "teacher batch size (32; the paper preset uses 1, as the predecessor did)", { min: 1, max: 1_000_000 }),
};

export const PARITY_BUDGET_FIELDS = {
  ckptEvery: int(500, "teacher checkpoint (and teacher evaluation) interval in teacher steps: progressive's checkpoints", { min: 1 }),
  evalEvery: int(250, "student evaluation interval in steps (PAPER.md: 250)", { min: 1 }),
  targetAccuracy: num(0.95, "held-out accuracy that counts as learned (PAPER.md: 0.95)", { min: 0, max: 1, exclusiveMin: true }),
  maxSamples: num(3e6, "student sample cap; a student that has not reached the target by then counts as the cap", { min: 1 }),
  teacherTarget: num(0.99, "the teacher's target held-out accuracy (0.99)", { min: 0, max: 1, exclusiveMin: true }),
  teacherExtraCkpts: int(5, "checkpoints the teacher keeps training after reaching its target (5)", { min: 0 }),
  teacherMaxSamples: num(2e7, "teacher sample cap", { min: 1 }),
  heldout: int(4096, "held-out set size, fixed per seed (PAPER.md: 4096)", { min: 1, max: 1_000_000 }),
};

export const RUN_TO_CAP = {
  runToCap: bool(false, "keep training students after the target is reached, up to maxSamples (false: stop at the target)"),
};

/** Curriculum extraction's tap phases. `p1Steps`/`p1Lr` are the MLP experiment's old names. */
export const TAP_FIELDS = {
  tapSteps: intOrAuto(
    500,
    'curriculum extraction: steps of each tap phase (one per tapped layer), counted in the student\'s budget; "auto": each ends when its projected MSE stops improving (src/distill/autoLength.ts)',
    {
      min: 0,
      aliases: ["p1Steps"],
    },
  ),
  tapLr: num(0.05, "curriculum extraction: learning rate of the tap phases (a fresh optimiser per phase)", { min: 0, exclusiveMin: true, aliases: ["p1Lr"] }),
};

export const NORMALIZE = {
  normalize: oneOf(
    ["none", "layernorm"] as const,
    "none",
    'tap targets: "none" = the teacher\'s raw residual stream, "layernorm" = parameter-free LayerNorm first (pre-LN residual norms grow with depth)',
  ),
};

export const PROJ_SCALE = {
  projScale: num(0, "std of the projection's entries; 0 = 1/sqrt(teacher width), i.e. N(0, 1/M) (PAPER.md)", { min: 0 }),
};

/** Teacher and student transformer sizes (heads must divide d_model: checked by the experiments). */
export const TRANSFORMER_SIZE_FIELDS = {
  teacherDModel: int(64, "teacher width of the residual stream", { min: 1, max: 4096 }),
  teacherHeads: int(8, "teacher attention heads (must divide teacherDModel)", { min: 1, max: 256 }),
  teacherLayers: int(2, "teacher blocks", { min: 1, max: 64 }),
  studentDModel: int(16, "student width of the residual stream", { min: 1, max: 4096 }),
  studentHeads: int(2, "student attention heads (must divide studentDModel)", { min: 1, max: 256 }),
  studentLayers: int(2, "student blocks (one curriculum phase per block)", { min: 1, max: 64 }),
};
export type TransformerSizes = ConfigOf<typeof TRANSFORMER_SIZE_FIELDS>;
