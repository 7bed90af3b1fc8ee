/**
 * `curriculum-distill distill`: distil a saved TensorFlow.js layers model into a student, on data
 * from files, with the library's `distill()`.
 *
 *   curriculum-distill distill --teacher teacher/model.json --student-width 16 --data train.csv --label y --out results/d1
 *
 * Order, as in the experiment commands: the command line is parsed and checked (one line naming the
 * flag, exit 2); then the backend starts, the teacher, the student and the data are read and checked
 * against each other (the input width, the classes, the labels' range, the teacher better than the
 * validation set's majority class) still before anything is written; then --out is claimed (one
 * writer) and the run goes, with progress on stderr. --out receives the student as a layers model
 * (student/model.json + weights.bin; a student built by --student-width keeps the teacher's softmax), config.json,
 * curves.csv and summary.json. Ctrl-C stops at the next step and saves the student as trained so far
 * (summary.json says "interrupted"; exit 130). There is no --resume: distill() does not yet take a
 * saved loop state (the optimiser's moments and the phase position), see docs/notes/pack.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { DataBatch, DistillResult, distill, heldOut } from "../api";
import { DistillOptionError, atChance, majorityShare } from "../distillChecks";
import { Interrupted } from "../train/driver";
import { backendInfo, describeBackend, initBackend } from "../backend";
import { ConfigError, ConfigOf, bool, configToJson, fieldsHelp, int, intOrAuto, num, oneOf, resolveConfig, str } from "../config";
import { parseArgs } from "../cliArgs";
import { TapPair } from "../distill/curriculumExtraction";
import { checkFolderArg, claimOutFolder } from "../experiments/folders";
import { CurvePoint, PhaseStart, StudentRun, writeResults } from "../experiments/results";
import { fmtDuration, fmtSamples } from "../format";
import { freeFolder, timeStamp } from "../io";
import { fromLayersModel } from "../models/layers";
import { Progress } from "../progress";
import { installStopHandlers } from "./runFolder";
import { ModuleData, Table, loadDataModule, readCsv, rowsOf, splitRows, tableDataset } from "./distillData";
import { hasSoftmax, loadModel, saveModel, studentOfWidth } from "./distillModels";

export const DISTILL_FIELDS = {
  teacher: str("", "the teacher: a TensorFlow.js layers model (model.json, or the folder holding it); never trained"),
  student: str("", "the student to train: a layers model (model.json or folder); or give --student-width"),
  studentWidth: int(0, "a fresh student of the teacher's architecture with every hidden Dense layer this wide (0: give --student)", { min: 0 }),
  data: str("", "training data: a CSV file (a header row; numeric features and a class-id --label column) or a .js module exporting a tf.data.Dataset of { xs, ys }"),
  label: str("label", "the CSV column holding the class id (0, 1, ...)"),
  validation: str("", "validation data: a CSV file with the same columns (default: --validation-split of --data; a module may export `validation`)"),
  validationSplit: num(0.1, "CSV: the fraction of --data rows held out for the evaluations when no --validation is given", { min: 0, max: 0.9 }),
  method: oneOf(
    ["cx", "oneshot", "scratch"] as const,
    "cx",
    "cx (curriculum extraction: tap phases, then the teacher's outputs), oneshot (outputs only), scratch (the labels only)",
  ),
  steps: int(2000, "training steps (every phase counts)", { min: 1 }),
  batch: int(32, "CSV: examples per batch", { min: 1 }),
  lr: num(1e-3, "Adam's learning rate", { min: 0, exclusiveMin: true }),
  tapSteps: intOrAuto(100, 'cx: steps of each tap phase, or "auto" (a phase ends when its projected MSE stops improving)', { min: 1 }),
  tau: num(1, "distillation temperature", { min: 0, exclusiveMin: true }),
  evalEvery: int(100, "evaluate on the validation data every this many steps", { min: 1 }),
  target: num(0, "stop once validation accuracy reaches this (0: run every step)", { min: 0, max: 1 }),
  teacherTaps: str("", "cx: comma-separated teacher layer names to match (default: the deepest hidden layer)"),
  studentTaps: str("", "cx: the student layers matching --teacher-taps, in order"),
  seed: int(0, "seed of the split, the batch order and the method's projections", { min: 0 }),
  allowWeakTeacher: bool(false, "run even when the teacher is no better than the majority class on the validation data"),
};
export type DistillConfig = ConfigOf<typeof DISTILL_FIELDS>;

const VALUE_OPTIONS = ["out", "backend", "progress-every"] as const;
const BOOL_OPTIONS = ["force", "json", "quiet", "help"] as const;

export function distillHelp(): string {
  return `usage: curriculum-distill distill --teacher MODEL (--student MODEL | --student-width N) --data FILE [options]

Distils a saved TensorFlow.js layers model into a student on data from files; writes the student
(a layers model, in --out/student) and config.json, curves.csv and summary.json to --out.

options:
${fieldsHelp(DISTILL_FIELDS)}
run options:
  --out DIR                result folder [data/results/distill-<time>]
  --force                  write into an existing, non-empty --out folder
  --backend NAME           tensorflow, webgpu, wasm or cpu (default: the fastest available)
  --json                   print summary.json to stdout
  --quiet                  no progress on stderr
  --progress-every S       off a terminal: a progress line at most every S seconds [30]
`;
}

/** The command line, parsed and checked; nothing read or written. */
export function planDistill(argv: readonly string[]): { cfg: DistillConfig; out: string; force: boolean; json: boolean; quiet: boolean; backend?: string; progressEvery: number } {
  const { overrides, options } = parseArgs(argv, DISTILL_FIELDS, VALUE_OPTIONS, BOOL_OPTIONS);
  const cfg = resolveConfig(DISTILL_FIELDS, overrides) as DistillConfig;
  const needFile = (flag: string, file: string, what: string) => {
    if (file === "") throw new ConfigError(flag, file, `required: ${what}`);
    if (!fs.existsSync(file)) throw new ConfigError(flag, file, "no such file");
  };
  needFile("--teacher", cfg.teacher, "the teacher model (model.json or its folder)");
  if ((cfg.student === "") === (cfg.studentWidth === 0)) throw new ConfigError("--student", cfg.student, "give exactly one of --student MODEL and --student-width N");
  if (cfg.student !== "") needFile("--student", cfg.student, "the student model");
  needFile("--data", cfg.data, "the training data (a .csv file or a .js module)");
  if (cfg.validation !== "") needFile("--validation", cfg.validation, "a CSV file");
  if (isModule(cfg.data) && cfg.validation !== "") throw new ConfigError("--validation", cfg.validation, "with a --data module, export `validation` from the module");
  if (!isModule(cfg.data) && !/\.csv$/i.test(cfg.data)) throw new ConfigError("--data", cfg.data, "expected a .csv file or a .js/.cjs/.mjs module");
  if ((cfg.teacherTaps === "") !== (cfg.studentTaps === "")) throw new ConfigError("--student-taps", cfg.studentTaps, "give --teacher-taps and --student-taps together");
  if (cfg.teacherTaps !== "" && list(cfg.teacherTaps).length !== list(cfg.studentTaps).length) {
    throw new ConfigError("--student-taps", cfg.studentTaps, `names ${list(cfg.studentTaps).length} layers, --teacher-taps ${list(cfg.teacherTaps).length}`);
  }
  if (cfg.method === "cx" && typeof cfg.tapSteps === "number") {
    const phases = Math.max(1, list(cfg.teacherTaps).length);
    if (cfg.tapSteps * phases >= cfg.steps)
      throw new ConfigError("--tap-steps", cfg.tapSteps, `${phases} tap phase(s) of ${cfg.tapSteps} steps leave no output phase within --steps ${cfg.steps}`);
  }
  const progressEvery = options["progress-every"] === undefined ? 30 : Number(options["progress-every"]);
  if (!(progressEvery > 0)) throw new ConfigError("--progress-every", options["progress-every"], "expected seconds > 0");
  const out = checkFolderArg("--out", (options.out as string | undefined) ?? freeFolder(path.join("data", "results", `distill-${timeStamp(new Date())}`)));
  return { cfg, out, force: options.force === true, json: options.json === true, quiet: options.quiet === true, backend: options.backend as string | undefined, progressEvery };
}

const isModule = (f: string) => /\.(c|m)?js$/i.test(f);
const list = (s: string) => (s === "" ? [] : s.split(",").map((x) => x.trim()));

/** The data, checked against the teacher: training batches, validation set, classes. */
interface Prepared {
  data: tf.data.Dataset<DataBatch>;
  validation: DataBatch | null;
  trainRows: number | null;
}

function inputShapeOf(model: tf.LayersModel): number[] {
  return model.inputs[0].shape.slice(1).map((d) => d ?? -1);
}

function checkWidth(flag: string, file: string, width: number, shape: readonly number[]): void {
  const size = shape.reduce((a, d) => a * d, 1);
  if (shape.some((d) => d < 0) || size !== width)
    throw new ConfigError(flag, file, `has ${width} features; the teacher's input is [${shape.join(", ")}] (${shape.some((d) => d < 0) ? "not fixed" : size})`);
}

function checkLabels(flag: string, file: string, labels: ArrayLike<number>, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classes) throw new ConfigError(flag, file, `label ${labels[i]} is out of range: the teacher has ${classes} classes (0..${classes - 1})`);
  }
}

async function prepareData(cfg: DistillConfig, shape: readonly number[], classes: number): Promise<Prepared> {
  if (isModule(cfg.data)) {
    const m: ModuleData = await loadDataModule("--data", cfg.data);
    const it = await m.dataset.iterator();
    const first = await it.next();
    if (first.done) throw new ConfigError("--data", cfg.data, "its dataset is empty");
    const b = first.value as DataBatch;
    const ok = b && b.xs instanceof tf.Tensor && b.ys instanceof tf.Tensor;
    const xShape = ok ? b.xs.shape.slice(1) : [];
    const ys = ok ? await b.ys.data() : [];
    tf.dispose(first.value as tf.TensorContainer);
    if (!ok) throw new ConfigError("--data", cfg.data, "its batches must be { xs: tf.Tensor, ys: tf.Tensor }");
    if (xShape.join() !== shape.join()) throw new ConfigError("--data", cfg.data, `its inputs are [${xShape.join(", ")}] per example; the teacher's are [${shape.join(", ")}]`);
    if (b.ys.rank === 1) checkLabels("--data", cfg.data, ys, classes);
    if (m.validation) {
      const vs = m.validation.xs.shape.slice(1);
      if (vs.join() !== shape.join()) throw new ConfigError("--data", cfg.data, `its validation inputs are [${vs.join(", ")}]; the teacher's [${shape.join(", ")}]`);
      if (m.validation.ys.rank === 1) checkLabels("--data", cfg.data, await m.validation.ys.data(), classes);
    }
    return { data: m.dataset, validation: m.validation, trainRows: null };
  }
  const table: Table = readCsv("--data", cfg.data, cfg.label);
  checkWidth("--data", cfg.data, table.width, shape);
  checkLabels("--data", cfg.data, table.labels, classes);
  let train: number[];
  let validation: DataBatch | null = null;
  if (cfg.validation !== "") {
    const v = readCsv("--validation", cfg.validation, cfg.label);
    if (v.columns.join() !== table.columns.join())
      throw new ConfigError("--validation", cfg.validation, `has columns ${v.columns.join(", ")}; --data has ${table.columns.join(", ")}`);
    checkLabels("--validation", cfg.validation, v.labels, classes);
    train = Array.from({ length: table.rows }, (_, i) => i);
    validation = rowsOf(
      v,
      Array.from({ length: v.rows }, (_, i) => i),
      shape,
    );
  } else {
    const s = splitRows(table.rows, cfg.validationSplit, cfg.seed);
    train = s.train;
    if (s.valid.length > 0) validation = rowsOf(table, s.valid, shape);
  }
  if (train.length < cfg.batch) throw new ConfigError("--batch", cfg.batch, `is more than the ${train.length} training rows of ${cfg.data}`);
  return { data: tableDataset(table, train, cfg.batch, shape, cfg.seed), validation, trainRows: train.length };
}

/** The command: plan, load and check, claim --out, distil, save. */
export async function distillCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(distillHelp());
    return 0;
  }
  const plan = planDistill(argv);
  const { cfg } = plan;
  await initBackend(plan.backend);
  // TensorFlow.js's console notices (the cpu backend's banner recommending tfjs-node) would break the
  // one-line errors; the progress line names the backend in use.
  tf.env().set("PROD", true);
  const held: Array<tf.Tensor | tf.LayersModel> = [];
  try {
    const teacherModel = await loadModel("--teacher", cfg.teacher);
    held.push(teacherModel);
    const shape = inputShapeOf(teacherModel);
    const classes = teacherModel.outputs[0].shape[teacherModel.outputs[0].shape.length - 1] ?? 0;
    const studentModel = cfg.student !== "" ? await loadModel("--student", cfg.student) : await studentOfWidth(teacherModel, cfg.studentWidth, cfg.teacher);
    held.push(studentModel);
    const softmax = { teacher: hasSoftmax(teacherModel), student: hasSoftmax(studentModel) };
    const sShape = inputShapeOf(studentModel);
    if (sShape.join() !== shape.join()) throw new ConfigError("--student", cfg.student, `its input is [${sShape.join(", ")}], the teacher's [${shape.join(", ")}]`);
    const sClasses = studentModel.outputs[0].shape[studentModel.outputs[0].shape.length - 1];
    if (sClasses !== classes) throw new ConfigError("--student", cfg.student, `has ${sClasses} outputs, the teacher ${classes}`);
    // A softmax output is detected by fromLayersModel, which trains on its pre-activation (the logits).
    const tapped = { teacher: fromLayersModel(teacherModel), student: fromLayersModel(studentModel) };
    const pairs: TapPair[] | undefined = cfg.teacherTaps === "" ? undefined : list(cfg.teacherTaps).map((t, i) => ({ teacherTap: t, studentTap: list(cfg.studentTaps)[i] }));
    for (const p of pairs ?? []) {
      if (!tapped.teacher.tapNames.includes(p.teacherTap))
        throw new ConfigError("--teacher-taps", p.teacherTap, `not a tap of the teacher (taps: ${tapped.teacher.tapNames.join(", ")})`);
      if (!tapped.student.tapNames.includes(p.studentTap))
        throw new ConfigError("--student-taps", p.studentTap, `not a tap of the student (taps: ${tapped.student.tapNames.join(", ")})`);
    }
    const prepared = await prepareData(cfg, shape, classes);
    if (prepared.validation) held.push(prepared.validation.xs, prepared.validation.ys);
    const teacherEval = prepared.validation ? await heldOut(tapped.teacher, prepared.validation) : null;
    if (teacherEval && prepared.validation) {
      // distill()'s own rule (the commonest class's share plus two standard errors), checked here
      // before --out is claimed.
      const c = atChance(teacherEval.accuracy, majorityShare(prepared.validation.ys, classes), prepared.validation.xs.shape[0]);
      if (c.weak && !cfg.allowWeakTeacher) {
        throw new ConfigError(
          "--teacher",
          cfg.teacher,
          `accuracy ${teacherEval.accuracy.toFixed(3)} on the validation data is no better than the majority class (${c.chance.toFixed(3)}); check --label and the data, or pass --allow-weak-teacher`,
        );
      }
    }

    // Checked: now claim --out and run.
    // The stop handlers go in before --out is claimed: a Ctrl-C from here on is a saved stop, never node's
    // default death with a claimed, empty --out left behind.
    const abort = new AbortController();
    const progress = new Progress({ stream: process.stderr, plainEverySeconds: plan.progressEvery, quiet: plan.quiet });
    const stop = installStopHandlers((signal) => {
      progress.line(`${signal}: stopping after this step and saving the student (again to quit at once)`);
      abort.abort(signal);
    });
    const created = new Date();
    let claim: ReturnType<typeof claimOutFolder>;
    try {
      claim = claimOutFolder("--out", plan.out, plan.force, false, { runId: `distill-${timeStamp(created)}`, created: created.toISOString(), runDir: plan.out });
    } catch (e) {
      stop.remove();
      throw e;
    }
    let claimed = true; // false: nothing of the run is kept (an empty --out is removed)
    try {
      progress.line(
        `distill ${cfg.teacher} (${teacherModel.countParams()} parameters${softmax.teacher ? ", softmax output" : ""}) -> student (${studentModel.countParams()} parameters) by ${cfg.method}; ${cfg.steps} steps; backend ${describeBackend()}; results: ${plan.out}`,
      );
      if (teacherEval) progress.line(`teacher on the validation data: accuracy ${teacherEval.accuracy.toFixed(4)}, loss ${teacherEval.loss.toFixed(4)}`);
      else progress.line("no validation data: no evaluations (give --validation, or export `validation` from the data module)");
      const phases: PhaseStart[] = [];
      let last = "";
      let interrupted = false;
      const t0 = Date.now();
      let result: DistillResult | null = null;
      const curve: CurvePoint[] = [];
      let at = { step: 0, samples: 0 }; // the latest position the loop reported (an interrupted run's)
      try {
        result = await distill({
          teacher: tapped.teacher,
          student: tapped.student,
          data: prepared.data,
          method: cfg.method,
          budget: { steps: cfg.steps },
          classes,
          pairs,
          tapSteps: cfg.tapSteps,
          optimizer: { kind: "adam", lr: cfg.lr },
          tau: cfg.tau,
          seed: cfg.seed,
          validation: prepared.validation ?? undefined,
          evalEvery: cfg.evalEvery,
          until: cfg.target > 0 ? (e) => e.accuracy >= cfg.target : undefined,
          allowWeakTeacher: cfg.allowWeakTeacher,
          signal: abort.signal,
          verbose: 0,
          onWarning: (w) => progress.line(`warning: ${w.message}`),
          onEvent: (e) => {
            if ("step" in e && "samples" in e) at = { step: e.step, samples: e.samples };
            if (e.type === "phase") phases.push({ name: e.phase, step: e.step });
            if (e.type === "eval") {
              const { type: _t, ...point } = e;
              curve.push(point);
              last = Number.isFinite(e.accuracy) ? `; accuracy ${e.accuracy.toFixed(4)} at step ${e.step}` : "";
            }
            if (e.type === "tick" || e.type === "eval" || e.type === "phase") {
              progress.set("distill", `step ${e.step}/${cfg.steps} (${e.phase}; ${fmtSamples(e.samples)} samples; ${fmtDuration((Date.now() - t0) / 1000)})${last}`, e.phase);
            }
          },
        });
      } catch (e) {
        if (e instanceof Interrupted) interrupted = true;
        else if (e instanceof DistillOptionError) {
          // Checked above already; should distill() still refuse, it is bad input all the same.
          claimed = false;
          throw new ConfigError(e.option, e.value, e.reason);
        } else throw e;
      }
      progress.close();
      const seconds = (Date.now() - t0) / 1000;
      const steps = result?.steps ?? at.step;
      const samples = result?.samples ?? at.samples;
      const final = prepared.validation ? await heldOut(tapped.student, prepared.validation) : null;
      const reached = cfg.target > 0 ? (curve.find((c) => c.accuracy >= cfg.target) ?? null) : null;
      const run: StudentRun = {
        seed: cfg.seed,
        method: cfg.method,
        samplesToTarget: reached ? reached.samples : null,
        samples,
        steps,
        seconds,
        stepsPerSecond: steps / Math.max(seconds, 1e-9),
        finalAccuracy: final?.accuracy ?? NaN,
        storedBytes: 0,
        phases,
        curve,
      };
      await saveModel(studentModel, path.join(plan.out, "student"));
      const summary = {
        ...backendInfo(),
        config: configToJson(cfg),
        status: interrupted ? "interrupted" : "done",
        methods: { [cfg.method]: run },
        teacher: { file: cfg.teacher, parameters: teacherModel.countParams(), softmaxOutput: softmax.teacher, validation: teacherEval },
        student: { folder: "student", parameters: studentModel.countParams(), softmaxOutput: softmax.student, validation: final },
        classes,
        trainRows: prepared.trainRows,
        validationRows: prepared.validation ? prepared.validation.xs.shape[0] : 0,
        teacherFlops: result?.teacherFlops ?? curve.at(-1)?.teacherFlops ?? null,
        studentFlops: result?.studentFlops ?? curve.at(-1)?.studentFlops ?? null,
        wallSeconds: Math.round(seconds * 10) / 10,
      };
      writeResults(plan.out, cfg, summary, [run]);
      if (plan.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        const acc = final ? `; student accuracy ${final.accuracy.toFixed(4)} (teacher ${teacherEval!.accuracy.toFixed(4)})` : "";
        process.stdout.write(
          `${interrupted ? "interrupted" : "done"}: ${steps} steps in ${fmtDuration(seconds)}${acc}\nresults: ${plan.out}  (student: ${path.join(plan.out, "student", "model.json")})\n`,
        );
      }
      return interrupted ? 130 : 0;
    } finally {
      progress.close();
      stop.remove();
      claim.release();
      if (!claimed && fs.existsSync(plan.out) && fs.readdirSync(plan.out).length === 0) fs.rmdirSync(plan.out);
    }
  } finally {
    for (const h of held) h.dispose();
  }
}
