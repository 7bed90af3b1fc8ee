/**
 * Typed configs: a schema per experiment, defaults, unknown-key rejection, validation, freeze.
 *
 * Every error is a `ConfigError` naming the field and the offending value, so the CLI can print one
 * line and exit with code 2.
 */

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`invalid ${field}: ${show(value)} (${reason})`);
    this.name = "ConfigError";
  }
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" && Number.isNaN(v)) return "NaN";
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

/** The kinds of value a field may hold. */
export type FieldSpec =
  | { kind: "int"; min?: number; max?: number; doc: string }
  | { kind: "number"; min?: number; max?: number; exclusiveMin?: boolean; doc: string; allowInfinity?: boolean }
  | { kind: "enum"; values: readonly string[]; doc: string }
  | { kind: "bool"; doc: string }
  | { kind: "intList"; min?: number; doc: string }
  | { kind: "enumList"; values: readonly string[]; doc: string }
  | { kind: "string"; doc: string; nullable?: boolean };

export type Schema<T> = { readonly [K in keyof T]: FieldSpec };

/** Parse a CLI string for a field (numbers, lists, booleans); leaves validation to `checkField`. */
export function parseFieldString(field: string, spec: FieldSpec, raw: string): unknown {
  const num = (s: string): number => {
    const t = s.trim();
    if (t === "") throw new ConfigError(field, raw, "expected a number");
    // Accept 3e6, 1_000? No: plain JS numbers plus k/M suffixes for sample counts.
    const m = /^([-+]?[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)([kKmM]?)$/.exec(t);
    if (!m) {
      if (t === "Infinity" || t === "inf") return Infinity;
      throw new ConfigError(field, raw, "expected a number");
    }
    const mult = m[2] === "k" || m[2] === "K" ? 1e3 : m[2] === "m" || m[2] === "M" ? 1e6 : 1;
    return Number(m[1]) * mult;
  };
  switch (spec.kind) {
    case "int":
    case "number":
      return num(raw);
    case "bool":
      if (["true", "1", "yes"].includes(raw)) return true;
      if (["false", "0", "no"].includes(raw)) return false;
      throw new ConfigError(field, raw, "expected true or false");
    case "intList":
      return raw.split(",").map((s) => num(s));
    case "enumList":
      return raw.split(",").map((s) => s.trim());
    case "enum":
    case "string":
      return raw;
  }
}

/** Validate one field's value against its spec; returns the value or throws ConfigError. */
export function checkField(field: string, spec: FieldSpec, v: unknown): unknown {
  switch (spec.kind) {
    case "int": {
      if (typeof v !== "number" || !Number.isInteger(v)) throw new ConfigError(field, v, "expected an integer");
      if (spec.min !== undefined && v < spec.min) throw new ConfigError(field, v, `must be >= ${spec.min}`);
      if (spec.max !== undefined && v > spec.max) throw new ConfigError(field, v, `must be <= ${spec.max}`);
      return v;
    }
    case "number": {
      if (typeof v !== "number" || Number.isNaN(v)) throw new ConfigError(field, v, "expected a number");
      if (!Number.isFinite(v) && !spec.allowInfinity) throw new ConfigError(field, v, "must be finite");
      if (spec.min !== undefined) {
        if (spec.exclusiveMin ? v <= spec.min : v < spec.min) {
          throw new ConfigError(field, v, `must be ${spec.exclusiveMin ? ">" : ">="} ${spec.min}`);
        }
      }
      if (spec.max !== undefined && v > spec.max) throw new ConfigError(field, v, `must be <= ${spec.max}`);
      return v;
    }
    case "enum":
      if (typeof v !== "string" || !spec.values.includes(v)) {
        throw new ConfigError(field, v, `expected one of ${spec.values.join(", ")}`);
      }
      return v;
    case "bool":
      if (typeof v !== "boolean") throw new ConfigError(field, v, "expected true or false");
      return v;
    case "string":
      if (v === null && spec.nullable) return v;
      if (typeof v !== "string") throw new ConfigError(field, v, "expected a string");
      return v;
    case "intList": {
      if (!Array.isArray(v) || v.length === 0) throw new ConfigError(field, v, "expected a non-empty list of integers");
      for (const x of v) {
        if (typeof x !== "number" || !Number.isInteger(x)) throw new ConfigError(field, x, "expected an integer");
        if (spec.min !== undefined && x < spec.min) throw new ConfigError(field, x, `must be >= ${spec.min}`);
      }
      if (new Set(v).size !== v.length) throw new ConfigError(field, v, "has duplicates");
      return v;
    }
    case "enumList": {
      if (!Array.isArray(v) || v.length === 0) throw new ConfigError(field, v, "expected a non-empty list");
      for (const x of v) {
        if (typeof x !== "string" || !spec.values.includes(x)) {
          throw new ConfigError(field, x, `expected one of ${spec.values.join(", ")}`);
        }
      }
      if (new Set(v).size !== v.length) throw new ConfigError(field, v, "has duplicates");
      return v;
    }
  }
}

/** The preset called `name` (default "main"), or a ConfigError naming it and listing the presets. */
export function presetOf<P>(presets: Readonly<Record<string, P>>, name: string | undefined): P {
  const n = name ?? "main";
  if (!Object.prototype.hasOwnProperty.call(presets, n)) throw new ConfigError("preset", n, `expected one of ${Object.keys(presets).join(", ")}`);
  return presets[n];
}

/**
 * Resolve a config: defaults, then a preset's values, then user overrides (later wins). Unknown
 * keys in the preset or the overrides are rejected; every field is validated; the result is frozen.
 */
export function resolveConfig<T extends object>(
  schema: Schema<T>,
  defaults: T,
  ...layers: Array<Partial<Record<string, unknown>> | undefined>
): Readonly<T> {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) {
      if (!(k in schema)) throw new ConfigError("config key", k, "unknown key");
      if (v !== undefined) out[k] = v;
    }
  }
  for (const [k, spec] of Object.entries(schema) as Array<[string, FieldSpec]>) {
    out[k] = checkField(k, spec, out[k]);
  }
  return Object.freeze(out) as Readonly<T>;
}

/** Deep-freeze-free shallow clone as JSON (Infinity written as a string so it round-trips). */
export function configToJson(cfg: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) out[k] = typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
  return out;
}
