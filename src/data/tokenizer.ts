/**
 * Word-level, lower-cased tokenizer for masked language modelling.
 *
 * Ids: [PAD]=0 [UNK]=1 [MASK]=2 [CLS]=3 (fixed, in that order), then the `vocabSize - 4` most frequent
 * training words, by decreasing count, ties broken by code-unit order of the word (so the same corpus
 * always gives the same ids). Words are lower-cased on the way in; the specials are upper-case, so no
 * corpus word can collide with one. `toJSON()` / `fromJSON()` save and restore the exact id mapping.
 */
import type { TextDocument } from "./corpus";

export const PAD_ID = 0;
export const UNK_ID = 1;
export const MASK_ID = 2;
export const CLS_ID = 3;
export const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[MASK]", "[CLS]"] as const;
export const NUM_SPECIAL = SPECIAL_TOKENS.length;

/** True for the special ids (0..3). */
export function isSpecialId(id: number): boolean {
  return id >= 0 && id < NUM_SPECIAL;
}

export interface TokenizerJSON {
  type: "word";
  version: 1;
  lowercase: boolean;
  /** Every token by id, specials first. */
  vocab: string[];
}

/** Training input: token arrays or documents. */
export type TokenSource = ReadonlyArray<readonly string[] | TextDocument>;

function tokensOf(d: readonly string[] | TextDocument): readonly string[] {
  return Array.isArray(d) ? (d as readonly string[]) : (d as TextDocument).tokens;
}

export class WordTokenizer {
  private readonly ids: Map<string, number>;

  private constructor(
    private readonly vocab: readonly string[],
    readonly lowercase: boolean,
  ) {
    SPECIAL_TOKENS.forEach((s, i) => {
      if (vocab[i] !== s) throw new Error(`WordTokenizer: id ${i} must be ${s}, got ${JSON.stringify(vocab[i])}`);
    });
    this.ids = new Map();
    vocab.forEach((w, i) => {
      if (this.ids.has(w)) throw new Error(`WordTokenizer: duplicate vocabulary entry ${JSON.stringify(w)}`);
      this.ids.set(w, i);
    });
  }

  /**
   * Build from training documents: specials plus the `vocabSize - 4` most frequent words (fewer when
   * the corpus has fewer distinct words; `vocabSize` then reports the actual size).
   */
  static build(docs: TokenSource, vocabSize: number, opts: { lowercase?: boolean } = {}): WordTokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize <= NUM_SPECIAL) {
      throw new Error(`WordTokenizer.build: vocabSize must be an integer > ${NUM_SPECIAL}, got ${vocabSize}`);
    }
    const lowercase = opts.lowercase ?? true;
    const counts = new Map<string, number>();
    for (const d of docs) {
      for (const raw of tokensOf(d)) {
        const w = lowercase ? raw.toLowerCase() : raw;
        counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
    for (const s of SPECIAL_TOKENS) counts.delete(s);
    const words = [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, vocabSize - NUM_SPECIAL)
      .map(([w]) => w);
    return new WordTokenizer([...SPECIAL_TOKENS, ...words], lowercase);
  }

  static fromJSON(json: TokenizerJSON | string): WordTokenizer {
    const j: TokenizerJSON = typeof json === "string" ? JSON.parse(json) : json;
    if (j.type !== "word" || j.version !== 1 || !Array.isArray(j.vocab)) {
      throw new Error(`WordTokenizer.fromJSON: expected {type: "word", version: 1, vocab: [...]}`);
    }
    return new WordTokenizer([...j.vocab], j.lowercase ?? true);
  }

  toJSON(): TokenizerJSON {
    return { type: "word", version: 1, lowercase: this.lowercase, vocab: [...this.vocab] };
  }

  /** Number of ids, specials included. */
  get vocabSize(): number {
    return this.vocab.length;
  }

  /** Whether a word (after lower-casing) is in the vocabulary. */
  has(word: string): boolean {
    return this.ids.has(this.lowercase ? word.toLowerCase() : word);
  }

  /** Id of one word; [UNK] when out of vocabulary. */
  tokenToId(word: string): number {
    return this.ids.get(this.lowercase ? word.toLowerCase() : word) ?? UNK_ID;
  }

  /** Token of one id; throws when out of range. */
  idToToken(id: number): string {
    const w = this.vocab[id];
    if (w === undefined) throw new Error(`WordTokenizer: id ${id} out of range [0, ${this.vocab.length})`);
    return w;
  }

  /** Encode tokens (or a whitespace-separated string) to ids; unknown words -> [UNK]. */
  encode(tokens: readonly string[] | string): Int32Array {
    const toks = typeof tokens === "string" ? tokens.split(/\s+/).filter((t) => t.length > 0) : tokens;
    const out = new Int32Array(toks.length);
    for (let i = 0; i < toks.length; i++) out[i] = this.tokenToId(toks[i]);
    return out;
  }

  /** Decode ids to tokens. `skipPad` drops [PAD]. */
  decode(ids: ArrayLike<number>, opts: { skipPad?: boolean } = {}): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (opts.skipPad && ids[i] === PAD_ID) continue;
      out.push(this.idToToken(ids[i]));
    }
    return out;
  }

  /** Encode every document (for maskedLm). */
  encodeDocuments(docs: readonly TextDocument[]): Int32Array[] {
    return docs.map((d) => this.encode(d.tokens));
  }

  /** Fraction of tokens mapped to [UNK]. */
  oovRate(docs: TokenSource): number {
    let n = 0;
    let oov = 0;
    for (const d of docs) {
      for (const w of tokensOf(d)) {
        n++;
        if (!this.has(w)) oov++;
      }
    }
    return n === 0 ? 0 : oov / n;
  }
}
