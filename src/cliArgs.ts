/**
 * Command-line parsing on node:util's parseArgs: `--kebab-case value` (or `--flag=value`) flags map
 * to config fields (and their old names); a few run options (--out, --json, --backend, ...) are not
 * config. Errors are ConfigErrors (one line, exit code 2).
 */
import { parseArgs as nodeParseArgs } from "node:util";
import { ConfigError, Fields, fieldName, kebab, parseFieldString } from "./config";

export { kebab };

export interface ParsedArgs {
  /** Config overrides, by field name. */
  overrides: Record<string, unknown>;
  /** Non-config options, by flag name (without dashes). */
  options: Record<string, string | boolean>;
}

/**
 * `valueOptions` take a value (--out DIR); `boolOptions` do not (--json). Every other flag must be
 * a config field (or an old name of one). Run options win over fields of the same name (--preset).
 */
export function parseArgs(argv: readonly string[], fields: Fields, valueOptions: readonly string[], boolOptions: readonly string[]): ParsedArgs {
  const byFlag = new Map<string, string>();
  for (const [f, spec] of Object.entries(fields)) for (const n of [f, ...(spec.aliases ?? [])]) byFlag.set(kebab(n), f);
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const flag of byFlag.keys()) options[flag] = { type: "string" };
  for (const o of valueOptions) options[o] = { type: "string" };
  for (const o of boolOptions) options[o] = { type: "boolean" };
  // parseArgs takes "-1" after "--lr" for an option: join negative numbers to their flag first.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (a.startsWith("--") && !a.includes("=") && options[a.slice(2)]?.type === "string" && next !== undefined && /^-[0-9.]/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = nodeParseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'(-[^ ']+)/.exec(err.message)?.[1] ?? "";
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new ConfigError("option", flag, "unknown option (see --help)");
    if (err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") throw new ConfigError("argument", /'([^']*)'/.exec(err.message)?.[1] ?? "", "unexpected positional argument");
    if (/does not take an argument/.test(err.message)) throw new ConfigError(flag, argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1) ?? true, "takes no value");
    throw new ConfigError(flag || "argument", null, "missing value");
  }
  const overrides: Record<string, unknown> = {};
  const out: Record<string, string | boolean> = {};
  for (const [name, v] of Object.entries(values)) {
    if (v === undefined) continue;
    if (valueOptions.includes(name) || boolOptions.includes(name)) {
      out[name] = v;
      continue;
    }
    const field = byFlag.get(name)!;
    overrides[field] = parseFieldString(field, fields[field], String(v));
  }
  return { overrides, options: out };
}

/** The field a config key (or old name) names, or undefined. */
export function fieldOf(fields: Fields, key: string): string | undefined {
  return fieldName(fields, key);
}
