/**
 * The command line: args -> config -> experiment. One command per registered experiment, plus
 * sweep and merge. Bad input (ConfigError) prints one line and exits with code 2, without a stack
 * trace and before any result folder is made; so does a file read back that is not as written, and
 * any file-system error on a path (a read-only disk, a symlink loop, no permission, a full disk).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { BackendError } from "./backend";
import { ConfigError } from "./config";
import { fileErrorOf } from "./io";
import { experimentCommand } from "./commands/experiment";
import { mergeCommand, sweepCommand } from "./commands/sweep";
import { buildNativeCommand } from "./commands/buildNative";
import { distillCommand } from "./commands/distill";
import { MissingPackageError } from "./optional";
import { EXPERIMENTS } from "./experiments/registry";
import { ExperimentName } from "./experiments/experiment";

const HELPS: Record<ExperimentName, string> = {
  parity: "sparse parity with 2-layer MLPs (teacher, then students by each method)",
  mlm: "masked-LM distillation on Brown or a PCFG language (--corpus brown|pcfg)",
  "parity-transformer": "sparse parity with transformers, layer-wise curriculum extraction",
};

const COMMANDS: Record<string, { help: string; run: (argv: readonly string[]) => Promise<number> }> = {
  ...Object.fromEntries(
    Object.values(EXPERIMENTS).map((e) => [e.name, { help: HELPS[e.name], run: (argv: readonly string[]) => e.visit((exp, views) => experimentCommand(exp, views, argv)) }]),
  ),
  distill: { help: "distil a saved TensorFlow.js layers model into a student on data from files (CSV or a tf.data module)", run: distillCommand },
  sweep: { help: "run one shard (--shard i/N) of a grid of configs and seeds", run: sweepCommand },
  merge: { help: "combine a sweep's job folders into one summary", run: mergeCommand },
  "build-native": { help: "build the optional native kernels (npx curriculum-distill build-native)", run: buildNativeCommand },
};

/** The package's version, from its package.json (next to src/ and dist/). */
export function packageVersion(): string {
  const file = path.join(__dirname, "..", "package.json");
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
}

const HELP = `usage: curriculum-distill <command> [options]     (curriculum-distill <command> --help)
       curriculum-distill --version

exit codes: 0 done, 2 bad input (or a bad file), 3 a teacher did not learn (nothing distilled), 130 interrupted

commands:
${Object.entries(COMMANDS)
  .map(([k, v]) => `  ${k.padEnd(20)} ${v.help}`)
  .join("\n")}
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "--version" || cmd === "-v" || cmd === "version") {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  const c = Object.prototype.hasOwnProperty.call(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  try {
    if (!c) throw new ConfigError("command", cmd, `expected one of ${Object.keys(COMMANDS).join(", ")}`);
    return await c.run(rest);
  } catch (e) {
    const fileError = fileErrorOf(e);
    if (e instanceof ConfigError || e instanceof BackendError || e instanceof MissingPackageError || fileError) {
      process.stderr.write(`curriculum-distill: ${(fileError ?? (e as Error)).message}\n`);
      return 2;
    }
    throw e;
  }
}
