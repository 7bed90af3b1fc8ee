/**
 * The methods, by name: each is one descriptor (`MethodDescriptor`): its builder from a context to
 * its phases (a MethodPlan), what it needs besides a teacher and a student, its label and its colour.
 * Every front end reads them: the experiments (which build one context per (seed, method)), the CLI's
 * tables, `distill()` (src/api.ts: what a method needs is checked from `needs`), the live page and
 * the report's colours; none switches on method names. Adding a method is one builder (usually in its
 * own file), its descriptor in METHODS, and its config fields in METHOD_FIELDS (every experiment's
 * config includes them).
 */
import { ConfigOf, num, oneOf, int } from "../config";
import { NamedTensors, TappedModel } from "../models/types";
import { Rng } from "../rng";
import { CurriculumOptions, curriculumExtraction } from "./curriculumExtraction";
import { Checkpoint, OutputOptions, oneShot, progressive, scratch, twoShot } from "./outputs";
import { MethodPlan, Task, optimizerAt } from "./phases";

/** Config fields the methods read (defaults that differ per experiment are set there with withDefault). */
export const METHOD_FIELDS = {
  tau: num(1, "distillation temperature: targets softmax(teacher logits / tau) (1 = plain KD; the predecessor also used 1e-20, the arg-max)", { min: 0, exclusiveMin: true }),
  twoShotAccuracy: num(0.6, "two-shot: use the first teacher checkpoint with held-out accuracy >= this (0.6: the teacher's phase transition), then the final teacher", {
    min: 0,
    max: 1,
  }),
  twoShotSteps: int(2000, "two-shot: student steps on that intermediate checkpoint", { min: 0 }),
  cxSource: oneOf(
    ["final", "init"] as const,
    "final",
    "whose hidden layers cx's tap phases match: the final teacher (the method) or its initialisation (a control that should give no speed-up)",
  ),
};
export type MethodSettings = ConfigOf<typeof METHOD_FIELDS>;

/** What a method's builder may use. Built by the experiment for one (seed, method). */
export interface MethodContext {
  readonly student: TappedModel;
  /** The final teacher. Its variables are never trained. */
  readonly teacher: TappedModel;
  /** The teacher's checkpoints on the student's sample scale (what progressive replays), final last. */
  readonly checkpoints: readonly Checkpoint[];
  /** The teacher's weights at initialisation (cx's untrained-teacher control). */
  readonly teacherInit: NamedTensors;
  /** A fresh model of the teacher's architecture (checkpoints are loaded into it); the plan must own it. */
  shell(): TappedModel;
  /** The student's training task (labels for scratch). */
  readonly task: Task;
  /** The student's random stream (projections). */
  readonly rng: Rng;
  /** Student batch size (progressive's schedule is in samples). */
  readonly batch: number;
  /** Output-phase options for a phase that starts after `afterSteps` student steps (sized schedules). */
  output(afterSteps: number): OutputOptions;
  /** Curriculum extraction's tap pairs, phase lengths, optimiser and target options. */
  readonly curriculum: Omit<CurriculumOptions, "output" | "tapSource">;
  readonly settings: Readonly<MethodSettings>;
}

export type MethodBuilder = (c: MethodContext) => MethodPlan;

function cx(c: MethodContext): MethodPlan {
  let source: TappedModel | undefined;
  if (c.settings.cxSource === "init") {
    source = c.shell();
    source.load(c.teacherInit);
  }
  // The output phase's options are made when it starts: after tap phases that may end by themselves
  // ("auto"), its schedule is sized to the steps actually left.
  const output = c.output(0);
  const p = curriculumExtraction(c.student, c.teacher, c.rng, {
    ...c.curriculum,
    tapSource: source,
    output: { ...output, optimizer: (start: number) => optimizerAt(c.output(start).optimizer, start) },
  });
  return source ? { ...p, dispose: () => (p.dispose(), source!.dispose()) } : p;
}

function twoshot(c: MethodContext): MethodPlan {
  const ck = c.checkpoints.find((x) => (x.accuracy ?? 0) >= c.settings.twoShotAccuracy) ?? c.checkpoints[c.checkpoints.length - 1];
  const stored = ck === c.checkpoints[c.checkpoints.length - 1] ? [] : [ck.weights];
  return { ...twoShot(c.student, c.teacher, ck, c.shell(), c.settings.twoShotSteps, c.output(0)), stored };
}

/** What a method needs besides a teacher and a student (distill() checks these; the experiments always give them). */
export type MethodNeed = "checkpoints" | "shell" | "teacherInit";

/** One method: everything any front end knows about it. */
export interface MethodDescriptor {
  /** Its phases in a context. */
  readonly build: MethodBuilder;
  /** Tables, legends and the page's controls ("curriculum extraction (cx)"). */
  readonly label: string;
  /** One sentence for help texts. */
  readonly about: string;
  /** Chart colour (plotly's default cycle, fixed per method so a method keeps its colour on every chart). */
  readonly color: string;
  /** What the builder uses besides the teacher and the student. */
  readonly needs: readonly MethodNeed[];
}

export const METHODS = {
  cx: {
    build: cx,
    label: "curriculum extraction (cx)",
    about: "one phase per tapped hidden layer (random projection of the teacher's), then the teacher's outputs",
    color: "#d62728",
    needs: [],
  },
  oneshot: {
    build: (c: MethodContext) => oneShot(c.student, c.teacher, c.output(0)),
    label: "one-shot",
    about: "the final teacher's outputs from the start (knowledge distillation)",
    color: "#1f77b4",
    needs: [],
  },
  progressive: {
    build: (c: MethodContext) => ({
      ...progressive(c.student, c.checkpoints, c.shell(), c.batch, c.output(0)),
      stored: c.checkpoints.slice(0, -1).map((k) => k.weights),
    }),
    label: "progressive",
    about: "the teacher's checkpoints in order, the final one last",
    color: "#2ca02c",
    needs: ["checkpoints", "shell"],
  },
  scratch: {
    build: (c: MethodContext) => scratch(c.task, c.student, c.output(0)),
    label: "scratch (labels)",
    about: "the labels only, no teacher",
    color: "#ff7f0e",
    needs: [],
  },
  twoshot: {
    build: twoshot,
    label: "two-shot",
    about: "one intermediate teacher checkpoint, then the final teacher",
    color: "#9467bd",
    needs: ["checkpoints", "shell"],
  },
} satisfies Record<string, MethodDescriptor>;

export type MethodName = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

/** Whether `name` is a registered method. */
export function isMethodName(name: unknown): name is MethodName {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(METHODS, name);
}

/** The descriptor of `method`; an unregistered name is an error naming the registered ones. */
export function methodOf(method: string): MethodDescriptor {
  if (!isMethodName(method)) throw new Error(`unknown method ${JSON.stringify(method)} (registered: ${METHOD_NAMES.join(", ")})`);
  return METHODS[method];
}

/** A method's label ("curriculum extraction (cx)"); an unregistered name (an ablation arm) is its own label. */
export function methodLabel(method: string): string {
  return isMethodName(method) ? METHODS[method].label : method;
}

/** A method's fixed colour; undefined for an unregistered name (charts then use their cycle). */
export function methodColor(method: string): string | undefined {
  return isMethodName(method) ? METHODS[method].color : undefined;
}

/** The plan of `method` in context `c`. */
export function buildMethod(method: MethodName, c: MethodContext): MethodPlan {
  return methodOf(method).build(c);
}
