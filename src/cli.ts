/**
 * The command line: args -> config -> experiment. Bad input (ConfigError) prints one line and
 * exits with code 2, without a stack trace and before any result folder is made.
 */
import { ConfigError } from "./config";
import { parityCommand, parityTransformerCommand } from "./commands/parity";
import { mlmCommand } from "./commands/mlm";
import { mergeCommand, sweepCommand } from "./commands/sweep";

const COMMANDS: Record<string, { help: string; run: (argv: readonly string[]) => Promise<number> }> = {
  parity: { help: "sparse parity with 2-layer MLPs (teacher, then students by each method)", run: parityCommand },
  mlm: { help: "masked-LM distillation on Brown or a PCFG language (--corpus brown|pcfg)", run: mlmCommand },
  "parity-transformer": { help: "sparse parity with transformers, layer-wise curriculum extraction", run: parityTransformerCommand },
  sweep: { help: "run one shard (--shard i/N) of a grid of configs and seeds", run: sweepCommand },
  merge: { help: "combine a sweep's job folders into one summary", run: mergeCommand },
};

const HELP = `usage: curriculum-distill <command> [options]     (curriculum-distill <command> --help)

commands:
${Object.entries(COMMANDS)
  .map(([k, v]) => `  ${k.padEnd(20)} ${v.help}`)
  .join("\n")}
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  const c = COMMANDS[cmd];
  try {
    if (!c) throw new ConfigError("command", cmd, `expected one of ${Object.keys(COMMANDS).join(", ")}`);
    return await c.run(rest);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`curriculum-distill: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
