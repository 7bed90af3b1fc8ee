/** `curriculum-distill mlm`: masked-LM distillation on Brown or the PCFG language (issue 5). */
import * as path from "node:path";
import { initBackend } from "../backend";
import { ConfigError } from "../config";
import { fieldsHelp, parseArgs } from "../cliArgs";
import { LANGUAGE_MODEL_DEFAULTS, LANGUAGE_MODEL_SCHEMA, resolveLanguageModelConfig } from "../experiments/languageModelConfig";
import { LanguageModelResult, MlmProgress, runLanguageModel } from "../experiments/languageModel";
import { curvesCsv } from "../experiments/results";
import { freeFolder, timeStamp, writeFileAtomic, writeJsonAtomic } from "../io";
import { configToJson } from "../config";
import { Progress, fmtDuration } from "../progress";
import { checkOutDir } from "./parity";

const HELP = `usage: curriculum-distill mlm [--corpus brown|pcfg] [--preset smoke|main] [options] [config overrides]

Masked-LM distillation: per seed a teacher (cached), then a student per method (cx, oneshot,
progressive, scratch); validation masked-token accuracy, cross-entropy and perplexity every
--eval-every steps. Writes config.json, curves.csv, summary.json, tokenizer.json into --out.

options:
  --preset NAME            smoke (about a minute) | main (under 30 min for 2 seeds) [main]
  --out DIR                result folder [data/results/mlm-<corpus>-<preset>-<time>]
  --json                   print summary.json to stdout
  --backend NAME           tensorflow | webgpu | wasm | cpu [auto; env CD_BACKEND]
  --cache DIR              teacher cache [data/cache/teachers]
  --no-cache               always retrain the teacher
  --quiet                  no progress output
  --force                  write into an existing, non-empty --out folder

config:
${fieldsHelp(LANGUAGE_MODEL_SCHEMA as never, LANGUAGE_MODEL_DEFAULTS as never)}
`;

const VALUE_OPTIONS = ["preset", "out", "backend", "cache"] as const;
const BOOL_OPTIONS = ["json", "quiet", "no-cache", "force", "help"] as const;

/** Write config.json, curves.csv, summary.json and tokenizer.json (each atomically). */
export function writeLanguageModelResults(dir: string, result: LanguageModelResult, extra: Record<string, unknown> = {}): void {
  writeJsonAtomic(path.join(dir, "config.json"), configToJson(result.config));
  writeFileAtomic(path.join(dir, "curves.csv"), curvesCsv(result.runs));
  writeJsonAtomic(path.join(dir, "summary.json"), { ...result.summary, ...extra });
  writeJsonAtomic(path.join(dir, "tokenizer.json"), result.tokenizer.toJSON());
}

export async function mlmCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(HELP);
    return 0;
  }
  const { overrides, options } = parseArgs(argv, LANGUAGE_MODEL_SCHEMA as never, VALUE_OPTIONS, BOOL_OPTIONS);
  const cfg = resolveLanguageModelConfig(options.preset as string | undefined, overrides);
  const out = (options.out as string | undefined) ?? freeFolder(path.join("data", "results", `mlm-${cfg.corpus}-${cfg.preset}-${timeStamp()}`));
  if (typeof out !== "string" || out.length === 0) throw new ConfigError("--out", out, "expected a folder");
  checkOutDir(out, Boolean(options.force));
  const backend = await initBackend(options.backend as string | undefined);
  const progress = new Progress(process.stderr, 15, Boolean(options.quiet));
  progress.line(`backend: ${backend}; mlm ${cfg.corpus} preset ${cfg.preset}; seeds ${cfg.seeds.join(",")}; methods ${cfg.methods.join(",")}`);
  const t0 = Date.now();
  const onProgress = (e: MlmProgress) => {
    if (e.kind === "teacher") progress.update(`teacher seed ${e.seed}: step ${e.step}/${cfg.teacherSteps}, acc ${e.accuracy.toFixed(3)}, loss ${e.loss.toFixed(3)} (${fmtDuration(e.seconds)})`);
    else if (e.kind === "teacherDone") {
      const i = e.info;
      progress.line(`teacher seed ${e.seed}: ${i.cached ? "loaded from cache" : `trained in ${fmtDuration(i.seconds)} (${(1000 / i.stepsPerSecond).toFixed(0)} ms/step)`}; acc ${i.accuracy.toFixed(4)}`);
    } else if (e.kind === "student") progress.update(`${e.method} seed ${e.seed} [${e.phase}]: step ${e.step}/${cfg.studentSteps}, acc ${e.accuracy.toFixed(3)}, loss ${e.loss.toFixed(3)}`);
    else {
      const r = e.run;
      progress.line(`${r.method} seed ${r.seed}: acc ${r.finalAccuracy.toFixed(4)} after ${r.steps} steps (${fmtDuration(r.seconds)}, ${((1000 * r.seconds) / Math.max(r.steps, 1)).toFixed(0)} ms/step incl. evaluation)`);
    }
  };
  const cacheDir = options["no-cache"] ? null : ((options.cache as string | undefined) ?? "data/cache/teachers");
  const result = await runLanguageModel(cfg, { cacheDir, onProgress });
  const seconds = (Date.now() - t0) / 1000;
  writeLanguageModelResults(out, result, { wallSeconds: Math.round(seconds * 10) / 10 });
  if (options.json) process.stdout.write(JSON.stringify({ ...result.summary, wallSeconds: Math.round(seconds * 10) / 10 }, null, 2) + "\n");
  else {
    const table = result.summary.table as Array<Record<string, number | string>>;
    for (const row of table) process.stdout.write(Object.entries(row).map(([k, v]) => `${k}=${typeof v === "number" ? v.toFixed(4) : v}`).join("  ") + "\n");
    process.stdout.write(`results: ${out}  (wall time ${fmtDuration(seconds)})\n`);
  }
  return 0;
}
