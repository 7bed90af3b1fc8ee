/**
 * The experiments by name, read by the CLI, `sweep`, the workers and notebooks. Each entry wraps a
 * typed experiment in closures (its config type stays inside), so callers that know only a name
 * need no casts: a config crosses this boundary as plain data and is checked again on the way in.
 */
import { Fields } from "../config";
import { ExperimentResult, ProgressEvent, RunOptions, runExperiment } from "./engine";
import { Experiment, ExperimentName, configFrom, resolveExperiment } from "./experiment";
import { CommonConfig } from "./fields";
import { LANGUAGE_MODEL } from "./languageModel";
import { Job, JobResult, runJob } from "./parallel";
import { PARITY, ParityCommon, ParityResult } from "./parity";
import { parityReportHtml } from "../report/parityReport";
import { summaryTable } from "../report/text";
import { PARITY_TRANSFORMER } from "./parityTransformer";
import { SummaryBase } from "./results";
import { SweepMetric } from "./sweep";
import { z } from "zod";

/** A config of some experiment, as plain data. */
export type AnyConfig = Readonly<CommonConfig> & Readonly<Record<string, unknown>>;

export interface RegisteredExperiment {
  readonly name: ExperimentName;
  readonly title: string;
  readonly fields: Fields;
  /** Preset names for these overrides (mlm's depend on the corpus). */
  presetNames(overrides: Readonly<Record<string, unknown>>): string[];
  resolve(preset: string | undefined, overrides: Readonly<Record<string, unknown>>): AnyConfig;
  describe(cfg: AnyConfig): string;
  runName(cfg: AnyConfig): string;
  /** Run it; `text` is the table for the terminal, `report` the HTML report (parity only). */
  run(cfg: AnyConfig, opts: RunOptions): Promise<{ result: ExperimentResult<AnyConfig, SummaryBase>; text(): string; report?: () => string }>;
  runJob(job: Job, shouldStop: () => boolean, emit: (e: ProgressEvent) => void): Promise<JobResult>;
  /** What `merge` reads from a job's summary.json. */
  readonly metric: SweepMetric;
  /** Hands the typed experiment and its views to `f` (the CLI's command: no cast, no name switch). */
  visit<R>(f: <C extends CommonConfig, D, S extends SummaryBase>(exp: Experiment<C, D, S>, views: Views<C, S>) => R): R;
}

/** How a finished run shows itself: a table for the terminal, an HTML report, what merge reads. */
export interface Views<C, S extends SummaryBase> {
  text(r: ExperimentResult<C, S>): string;
  report?(r: ExperimentResult<C, S>): string;
  metric: SweepMetric;
}

function register<C extends CommonConfig, D, S extends SummaryBase>(exp: Experiment<C, D, S>, views: Views<C, S>): RegisteredExperiment {
  const typed = (cfg: AnyConfig) => configFrom(exp, cfg);
  return {
    name: exp.name,
    title: exp.title,
    fields: exp.fields,
    presetNames: (o) => Object.keys(exp.presets(o)),
    resolve: (preset, overrides) => resolveExperiment(exp, preset, overrides),
    describe: (cfg) => exp.describe(typed(cfg)),
    runName: (cfg) => exp.runName(typed(cfg)),
    run: async (cfg, opts) => {
      const result = await runExperiment(exp, typed(cfg), opts);
      const report = views.report;
      return { result, text: () => views.text(result), report: report && (() => report(result)) };
    },
    runJob: (job, shouldStop, emit) => runJob(exp, job, shouldStop, emit),
    metric: views.metric,
    visit: (f) => f(exp, views),
  };
}

const count = z.number().int().nonnegative();
const PARITY_SUMMARY = z
  .object({
    config: z.object({ maxSamples: z.union([z.number(), z.string()]) }).passthrough(),
    methods: z.record(z.object({ samplesToTarget: z.array(count.nullable()) }).passthrough()),
  })
  .passthrough();
const MLM_SUMMARY = z.object({ methods: z.record(z.record(z.object({ evaluations: z.array(z.object({ accuracy: z.number() }).passthrough()) }).passthrough())) }).passthrough();

const PARITY_VIEWS = {
  /** A job has one seed: its samples to target; a miss counts as the cap in medians. */
  metric: {
    column: "samplesToTarget",
    read: (s: unknown, method: string) => {
      const r = PARITY_SUMMARY.safeParse(s);
      const m = r.success ? r.data.methods[method] : undefined;
      return r.success && m ? { value: m.samplesToTarget[0] ?? null, cap: Number(r.data.config.maxSamples) } : null;
    },
  },
  text: (r: ParityResult<ParityCommon>) => summaryTable(r.summary, r.config.targetAccuracy),
  report: (r: ParityResult<ParityCommon>) => parityReportHtml(r, r.summary),
};

export const EXPERIMENTS: Readonly<Record<ExperimentName, RegisteredExperiment>> = {
  parity: register(PARITY, PARITY_VIEWS),
  "parity-transformer": register(PARITY_TRANSFORMER, PARITY_VIEWS),
  mlm: register(LANGUAGE_MODEL, {
    /** A job has one seed: the validation accuracy at its last evaluation. */
    metric: {
      column: "accuracy",
      read: (s: unknown, method: string) => {
        const r = MLM_SUMMARY.safeParse(s);
        const ev = r.success ? Object.values(r.data.methods[method] ?? {})[0]?.evaluations : undefined;
        return ev?.length ? { value: ev[ev.length - 1].accuracy, cap: null } : null;
      },
    },
    text: (r) =>
      r.summary.table
        .map((row) =>
          Object.entries(row)
            .map(([k, v]) => `${k}=${typeof v === "number" ? v.toFixed(4) : v}`)
            .join("  "),
        )
        .join("\n"),
  }),
};

export function isExperimentName(name: string): name is ExperimentName {
  return Object.prototype.hasOwnProperty.call(EXPERIMENTS, name);
}
