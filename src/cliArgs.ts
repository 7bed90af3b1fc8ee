/**
 * Command-line parsing shared by the experiment commands: `--kebab-case value` flags map to the
 * config schema's camelCase fields; a few run options (--out, --json, --backend, ...) are not
 * config. Errors are ConfigErrors (one line, exit code 2).
 */
import { ConfigError, FieldSpec, parseFieldString } from "./config";

export interface ParsedArgs {
  /** Config overrides, by schema field. */
  overrides: Record<string, unknown>;
  /** Non-config options, by flag name (without dashes). */
  options: Record<string, string | boolean>;
}

export const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * `valueOptions` take a value (--out DIR); `boolOptions` do not (--json). Every other flag must be
 * a schema field.
 */
export function parseArgs(
  argv: readonly string[],
  schema: Record<string, FieldSpec>,
  valueOptions: readonly string[],
  boolOptions: readonly string[],
): ParsedArgs {
  const byFlag = new Map<string, string>();
  for (const f of Object.keys(schema)) byFlag.set(kebab(f), f);
  const overrides: Record<string, unknown> = {};
  const options: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new ConfigError("argument", a, "unexpected positional argument");
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (boolOptions.includes(name)) {
      if (value !== undefined) throw new ConfigError(`--${name}`, value, "takes no value");
      options[name] = true;
      continue;
    }
    // Run options win over config fields of the same name (--preset is both).
    const field = valueOptions.includes(name) ? undefined : byFlag.get(name);
    if (!valueOptions.includes(name) && field === undefined) {
      throw new ConfigError("option", `--${name}`, "unknown option (see --help)");
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || (value.startsWith("--") && !/^--?\d/.test(value))) {
        throw new ConfigError(`--${name}`, value ?? null, "missing value");
      }
    }
    if (field !== undefined) {
      const spec = schema[field];
      // a schema boolean written as a flag value: --run-to-cap true
      overrides[field] = parseFieldString(field, spec, value);
    } else {
      options[name] = value;
    }
  }
  return { overrides, options };
}

/** Help text listing every config field with its doc and default. */
export function fieldsHelp(schema: Record<string, FieldSpec>, defaults: Record<string, unknown>): string {
  return Object.entries(schema)
    .map(([f, s]) => {
      const d = defaults[f];
      const shown = Array.isArray(d) ? d.join(",") : String(d);
      const values = "values" in s ? ` (${s.values.join("|")})` : "";
      return `  --${kebab(f).padEnd(22)} ${s.doc}${values} [default ${shown}]`;
    })
    .join("\n");
}
