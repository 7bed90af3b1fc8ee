/**
 * Typed configs from one declaration per field. A field says its type, default, meaning and check
 * once (`int(50, "input bits", {min: 1})`); from a record of fields come the TypeScript type
 * (`ConfigOf`), the defaults, validation, the parsing of command-line strings, `--help` and the
 * reading of saved configs. The checks are zod schemas; zod stays inside this file, so what
 * notebooks import (tslab compiles with TypeScript 5.0) never sees its types.
 *
 * Every error is a `ConfigError` naming the field and the offending value, so the CLI can print one
 * line and exit with code 2.
 */
import { z } from "zod";

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
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

/** How a field's command-line string is read. */
export type FieldKind = "int" | "intOrAuto" | "number" | "enum" | "bool" | "intList" | "enumList" | "string";

/** One config field: type (through `check`), default, meaning, and how the CLI reads it. */
export interface Field<T> {
  readonly kind: FieldKind;
  readonly default: T;
  /** What the field means and why its default is what it is: shown by `--help`. */
  readonly doc: string;
  /** Allowed values of enum fields. */
  readonly values?: readonly string[];
  /** Old names still accepted (flags, presets, overrides, grid files). */
  readonly aliases?: readonly string[];
  /** The value, checked; throws a ConfigError naming `name` and the bad value. */
  check(name: string, value: unknown): T;
}

// biome-ignore lint/suspicious/noExplicitAny: the element type is each field's own
export type Fields = Record<string, Field<any>>;
/** The config type a record of fields declares. */
export type ConfigOf<F extends Fields> = { [K in keyof F]: F[K] extends Field<infer T> ? T : never };
/** The fields that declare config type C (the other direction). */
export type FieldsOf<C> = { readonly [K in keyof C]: Field<C[K]> };

function field<T>(
  kind: FieldKind,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  dflt: T,
  doc: string,
  extra: { values?: readonly string[]; aliases?: readonly string[] } = {},
): Field<T> {
  return {
    kind,
    default: dflt,
    doc,
    ...extra,
    check(name, value) {
      const r = schema.safeParse(value);
      if (r.success) return r.data;
      const issue = r.error.issues[0];
      // A list element's issue names the element, not the whole list.
      let bad: unknown = value;
      for (const p of issue.path) bad = (bad as Record<string | number, unknown>)?.[p];
      throw new ConfigError(name, bad, issue.message);
    },
  };
}

interface Range {
  min?: number;
  max?: number;
}
const type = (message: string) => ({ invalid_type_error: message, required_error: message });

function intSchema(r: Range) {
  let s = z.number(type("expected an integer")).int("expected an integer");
  if (r.min !== undefined) s = s.min(r.min, `must be >= ${r.min}`);
  if (r.max !== undefined) s = s.max(r.max, `must be <= ${r.max}`);
  return s;
}

function unique<T>(xs: readonly T[]): boolean {
  return new Set(xs).size === xs.length;
}

export function int(dflt: number, doc: string, r: Range & { aliases?: string[] } = {}): Field<number> {
  return field("int", intSchema(r), dflt, doc, { aliases: r.aliases });
}

/** An integer, or the word "auto" (the value is then decided as the run goes: tap phases' lengths). */
export function intOrAuto(dflt: number | "auto", doc: string, r: Range & { aliases?: string[] } = {}): Field<number | "auto"> {
  return field("intOrAuto", z.union([intSchema(r), z.literal("auto")], { errorMap: () => ({ message: 'expected an integer or "auto"' }) }), dflt, doc, { aliases: r.aliases });
}

export function num(dflt: number, doc: string, r: Range & { exclusiveMin?: boolean; allowInfinity?: boolean; aliases?: string[] } = {}): Field<number> {
  let s = z.number(type("expected a number"));
  if (!r.allowInfinity) s = s.finite("must be finite");
  if (r.min !== undefined) s = r.exclusiveMin ? s.gt(r.min, `must be > ${r.min}`) : s.gte(r.min, `must be >= ${r.min}`);
  if (r.max !== undefined) s = s.lte(r.max, `must be <= ${r.max}`);
  return field("number", s, dflt, doc, { aliases: r.aliases });
}

export function oneOf<const V extends readonly [string, ...string[]]>(values: V, dflt: V[number], doc: string): Field<V[number]> {
  const s = z.enum(values, { errorMap: () => ({ message: `expected one of ${values.join(", ")}` }) });
  return field<V[number]>("enum", s, dflt, doc, { values });
}

export function bool(dflt: boolean, doc: string): Field<boolean> {
  return field("bool", z.boolean(type("expected true or false")), dflt, doc);
}

export function str(dflt: string, doc: string): Field<string> {
  return field("string", z.string(type("expected a string")), dflt, doc);
}

export function intList(dflt: number[], doc: string, r: Range = {}): Field<number[]> {
  const s = z.array(intSchema(r), type("expected a non-empty list of integers")).nonempty("expected a non-empty list of integers").refine(unique, "has duplicates");
  return field("intList", s, dflt, doc);
}

export function enumList<V extends string>(values: readonly V[], dflt: V[], doc: string): Field<V[]> {
  const el = z.string(type(`expected one of ${values.join(", ")}`)).refine((x): x is V => (values as readonly string[]).includes(x), `expected one of ${values.join(", ")}`);
  const s = z.array(el, type("expected a non-empty list")).nonempty("expected a non-empty list").refine(unique, "has duplicates");
  return field<V[]>("enumList", s, dflt, doc, { values });
}

/** The same field with another default (and optionally another doc): shared fields, per-experiment defaults. */
export function withDefault<T>(f: Field<T>, dflt: T, doc?: string): Field<T> {
  return { ...f, default: dflt, doc: doc ?? f.doc };
}

/** The defaults of a record of fields. */
export function defaultsOf<F extends Fields>(fields: F): ConfigOf<F> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(fields)) out[k] = f.default;
  return out as ConfigOf<F>;
}

/** Field name for a key or one of its aliases; undefined when unknown. */
export function fieldName(fields: Fields, key: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(fields, key)) return key;
  return Object.keys(fields).find((k) => fields[k].aliases?.includes(key));
}

/** Parse a command-line string for a field (numbers with k/M suffixes, lists, booleans); `check` validates. */
export function parseFieldString(name: string, f: Field<unknown>, raw: string): unknown {
  const numOf = (s: string): number => {
    const t = s.trim();
    const m = /^([-+]?[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)([kKmM]?)$/.exec(t);
    if (!m) {
      if (t === "Infinity" || t === "inf") return Infinity;
      throw new ConfigError(name, raw, "expected a number");
    }
    return Number(m[1]) * (/[kK]/.test(m[2]) ? 1e3 : /[mM]/.test(m[2]) ? 1e6 : 1);
  };
  switch (f.kind) {
    case "intOrAuto":
      return raw.trim() === "auto" ? "auto" : numOf(raw);
    case "int":
    case "number":
      return numOf(raw);
    case "bool":
      if (["true", "1", "yes"].includes(raw)) return true;
      if (["false", "0", "no"].includes(raw)) return false;
      throw new ConfigError(name, raw, "expected true or false");
    case "intList":
      return raw.split(",").map(numOf);
    case "enumList":
      return raw.split(",").map((s) => s.trim());
    default:
      return raw;
  }
}

/** The preset called `name` (default "main"), or a ConfigError naming it and listing the presets. */
export function presetOf<P>(presets: Readonly<Record<string, P>>, name: string | undefined): P {
  const n = name ?? "main";
  if (!Object.prototype.hasOwnProperty.call(presets, n)) throw new ConfigError("preset", n, `expected one of ${Object.keys(presets).join(", ")}`);
  return presets[n];
}

/**
 * Resolve a config: defaults, then each layer (a preset, user overrides, a saved config; later
 * wins). Keys may be aliases; unknown keys are refused; every field is checked; the result is
 * frozen. Aliases stay readable (not enumerable, so never saved): `cfg.p1Steps` is `cfg.tapSteps`.
 */
export function resolveConfig<C extends object>(fields: FieldsOf<C>, ...layers: Array<Readonly<Record<string, unknown>> | undefined>): Readonly<C> {
  const all: Fields = fields;
  const out: Record<string, unknown> = defaultsOf(all);
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) {
      const name = fieldName(all, k);
      if (name === undefined) throw new ConfigError("config key", k, "unknown key");
      if (v !== undefined) out[name] = v;
    }
  }
  for (const [k, f] of Object.entries(all)) {
    // Saved configs write Infinity as a string (JSON has no Infinity).
    const v = f.kind === "number" && (out[k] === "Infinity" || out[k] === "-Infinity") ? Number(out[k]) : out[k];
    out[k] = f.check(k, v);
    for (const a of f.aliases ?? []) Object.defineProperty(out, a, { get: () => out[k], enumerable: false });
  }
  return Object.freeze(out) as Readonly<C>;
}

/** A config as JSON (Infinity written as a string so that it round-trips through resolveConfig). */
export function configToJson(cfg: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) out[k] = typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
  return out;
}

export const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Help lines for a record of fields: flag, meaning, values, default, old names. */
export function fieldsHelp(fields: Fields, defaults: Readonly<Record<string, unknown>> = defaultsOf(fields)): string {
  return Object.entries(fields)
    .map(([k, f]) => {
      const d = defaults[k];
      const shown = Array.isArray(d) ? d.join(",") : String(d);
      const values = f.values && f.kind === "enum" ? ` (${f.values.join("|")})` : "";
      const alias = f.aliases?.length ? ` (old name: ${f.aliases.map((a) => `--${kebab(a)}`).join(", ")})` : "";
      return `  --${kebab(k).padEnd(22)} ${f.doc}${values} [default ${shown}]${alias}`;
    })
    .join("\n");
}
