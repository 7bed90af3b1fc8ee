/** `curriculum-distill parity`: the sparse-parity MLP experiment from the command line. */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../backend";
import { ConfigError } from "../config";
import { parseArgs, fieldsHelp } from "../cliArgs";
import { PARITY_DEFAULTS, PARITY_PRESETS, PARITY_SCHEMA, resolveParityConfig } from "../experiments/parityConfig";
import { CommonParityConfig, MLP_PARITY, ParityFamily, ProgressEvent, runParity } from "../experiments/parity";
import { TRANSFORMER_PARITY } from "../experiments/families";
import {
  PARITY_TRANSFORMER_DEFAULTS,
  PARITY_TRANSFORMER_PRESETS,
  PARITY_TRANSFORMER_SCHEMA,
  resolveParityTransformerConfig,
} from "../experiments/parityTransformerConfig";
import { FieldSpec } from "../config";
import { writeResults } from "../experiments/results";
import { defaultWorkers } from "../experiments/pool";
import { Progress, fmtDuration, fmtSamples } from "../progress";
import { summaryTable } from "../report/text";

/** One parity command: its family, schema, defaults, presets and resolver. */
interface ParityCommandSpec {
  command: string;
  title: string;
  family: ParityFamily<CommonParityConfig>;
  schema: Record<string, FieldSpec>;
  defaults: Record<string, unknown>;
  presets: Record<string, unknown>;
  resolve(preset: string | undefined, overrides: Record<string, unknown>): Readonly<CommonParityConfig>;
  describe(cfg: Readonly<CommonParityConfig>): string;
}

const SPECS: Record<string, ParityCommandSpec> = {
  parity: {
    command: "parity",
    title: "Sparse parity with 2-layer MLPs",
    family: MLP_PARITY as unknown as ParityFamily<CommonParityConfig>,
    schema: PARITY_SCHEMA as never,
    defaults: PARITY_DEFAULTS as never,
    presets: PARITY_PRESETS,
    resolve: resolveParityConfig,
    describe: (c) => {
      const m = c as unknown as typeof PARITY_DEFAULTS;
      return `teacher ${m.teacherWidth} student ${m.studentWidth}`;
    },
  },
  "parity-transformer": {
    command: "parity-transformer",
    title: "Sparse parity with transformers (bits as tokens)",
    family: TRANSFORMER_PARITY as unknown as ParityFamily<CommonParityConfig>,
    schema: PARITY_TRANSFORMER_SCHEMA as never,
    defaults: PARITY_TRANSFORMER_DEFAULTS as never,
    presets: PARITY_TRANSFORMER_PRESETS,
    resolve: resolveParityTransformerConfig,
    describe: (c) => {
      const t = c as unknown as typeof PARITY_TRANSFORMER_DEFAULTS;
      return `teacher ${t.teacherLayers}x${t.teacherDModel}/${t.teacherHeads}h student ${t.studentLayers}x${t.studentDModel}/${t.studentHeads}h`;
    },
  },
};

function helpText(spec: ParityCommandSpec): string {
  return `usage: curriculum-distill ${spec.command} [--preset ${Object.keys(spec.presets).join("|")}] [options]

${spec.title}: a teacher per seed (cached under data/cache/teachers), then a student per method.
Writes config.json, curves.csv and summary.json to --out.

run options:
  --preset NAME            ${Object.keys(spec.presets).join(" | ")} [main]; flags below override its values
  --out DIR                result folder [data/results/parity-<preset>-<time>]
  --json                   print summary.json to stdout (progress still goes to stderr)
  --backend NAME           tensorflow | wasm | cpu [auto; env CD_BACKEND]
  --cache DIR              teacher cache [data/cache/teachers]; --no-cache to disable
  --no-cache               always retrain the teacher
  --report                 also write report.html (offline plotly curves and the table)
  --workers N              parallel worker threads for independent runs [number of cores];
                           results are identical to --workers 1
  --quiet                  no progress output
  --force                  write into an existing, non-empty --out folder

config (method names: cx, oneshot, progressive, scratch, twoshot):
${fieldsHelp(spec.schema, spec.defaults)}
`;
}

const VALUE_OPTIONS = ["preset", "out", "backend", "cache", "workers"] as const;
const BOOL_OPTIONS = ["json", "report", "quiet", "no-cache", "force", "help"] as const;

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
}

/** Check that `dir` may be written: absent, empty, or --force. */
export function checkOutDir(dir: string, force: boolean): void {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new ConfigError("--out", dir, "exists and is not a folder");
    if (fs.readdirSync(dir).length > 0 && !force) throw new ConfigError("--out", dir, "exists and is not empty (use --force to overwrite)");
  }
}

/** --workers: a positive integer; default the number of cores. */
export function parseWorkers(v: string | boolean | undefined): number {
  if (v === undefined) return defaultWorkers();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new ConfigError("--workers", v, "expected an integer from 1 to 256");
  return n;
}

export const parityCommand = (argv: readonly string[]) => runParityCommand(SPECS.parity, argv);
export const parityTransformerCommand = (argv: readonly string[]) => runParityCommand(SPECS["parity-transformer"], argv);

async function runParityCommand(spec: ParityCommandSpec, argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(helpText(spec));
    return 0;
  }
  const { overrides, options } = parseArgs(argv, spec.schema, VALUE_OPTIONS, BOOL_OPTIONS);
  const preset = options.preset as string | undefined;
  if (preset !== undefined && !(preset in spec.presets)) {
    throw new ConfigError("preset", preset, `expected one of ${Object.keys(spec.presets).join(", ")}`);
  }
  const cfg = spec.resolve(preset, overrides);
  const workers = parseWorkers(options.workers);
  const out = (options.out as string | undefined) ?? path.join("data", "results", `${spec.command}-${cfg.preset}-${timestamp()}`);
  checkOutDir(out, Boolean(options.force));
  const backend = await initBackend(options.backend as string | undefined);
  const quiet = Boolean(options.quiet);
  const progress = new Progress(process.stderr, 15, quiet);
  progress.line(`backend: ${backend}; workers ${workers}; preset ${cfg.preset}: n=${cfg.n} k=${cfg.k} ${spec.describe(cfg)}; seeds ${cfg.seeds.join(",")}; methods ${cfg.methods.join(",")}`);
  const t0 = Date.now();
  const onProgress = (e: ProgressEvent) => {
    if (e.kind === "teacher") {
      const rate = e.samples / Math.max(e.seconds, 1e-9);
      progress.update(`teacher seed ${e.seed}: ${fmtSamples(e.samples)} samples, acc ${e.accuracy.toFixed(3)}, ${fmtSamples(rate)}/s`);
    } else if (e.kind === "teacherDone") {
      const i = e.info;
      progress.line(
        `teacher seed ${e.seed}${i.attempt ? ` (init attempt ${i.attempt})` : ""}: ${i.cached ? "loaded from cache" : `trained in ${fmtDuration(i.seconds)}`}; target at ${fmtSamples(i.samplesToTarget)}, final acc ${i.accuracy.toFixed(3)}, ${i.checkpoints} checkpoints`,
      );
    } else if (e.kind === "student") {
      const rate = e.samples / Math.max(e.seconds, 1e-9);
      const eta = (e.maxSamples - e.samples) / Math.max(rate, 1e-9);
      progress.update(`${e.method} seed ${e.seed} [${e.phase}]: ${fmtSamples(e.samples)} samples, acc ${e.accuracy.toFixed(3)}, ${fmtSamples(rate)}/s, ETA to cap ${fmtDuration(eta)}`);
    } else {
      const r = e.run;
      progress.line(`${r.method} seed ${r.seed}: ${r.samplesToTarget === null ? `not reached by ${fmtSamples(r.samples)}` : `${fmtSamples(r.samplesToTarget)} samples to target`} (${fmtDuration(r.seconds)}, ${r.stepsPerSecond.toFixed(0)} steps/s)`);
    }
  };
  const result = await runParity(cfg, { cacheDir: options["no-cache"] ? null : ((options.cache as string | undefined) ?? "data/cache/teachers"), onProgress, workers }, spec.family);
  const seconds = (Date.now() - t0) / 1000;
  const summary = { ...result.summary, wallSeconds: Math.round(seconds * 10) / 10 };
  writeResults(out, cfg, summary, result.runs);
  if (options.report) {
    const { writeParityReport } = await import("../report/parityReport");
    writeParityReport(path.join(out, "report.html"), result, summary);
  }
  if (options.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  } else {
    process.stdout.write(summaryTable(summary, cfg.targetAccuracy) + "\n");
    process.stdout.write(`results: ${out}  (wall time ${fmtDuration(seconds)})\n`);
  }
  return 0;
}
