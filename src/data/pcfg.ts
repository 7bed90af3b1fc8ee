/**
 * A synthetic language from a probabilistic context-free grammar, sampled with a seeded `Rng`, in the
 * same shape as the Brown loader (`TextCorpus`), so that the tokenizer and masked-LM batching are shared.
 * The point is a language in which predicting a masked token needs syntax, not only unigram or bigram
 * statistics: subject-verb agreement across prepositional phrases and relative clauses (attractors),
 * determiner-noun agreement, subcategorisation (intransitive / transitive / clause-taking verbs) and
 * nested clauses.
 *
 * The default grammar (weights are relative within a left-hand side; n, m in {Sg, Pl}; symbols that
 * appear as a left-hand side are nonterminals, all others are words):
 *
 *   S        -> NPa_Sg VP_Sg  (1)   | NPa_Pl VP_Pl (1)            subject is animate; verb agrees with it
 *   NPa_n    -> Det_n Nbar_a_n (6)  | Det_n Nbar_a_n PP (2)       animate noun phrase
 *             | Det_n Nbar_a_n RCs_n (1.5) | Det_n Nbar_a_n RCo (1)
 *   NPi_n    -> Det_n Nbar_i_n (6)  | Det_n Nbar_i_n PP (2)       inanimate noun phrase
 *             | Det_n Nbar_i_n RCo (1)
 *   NP       -> NPa_Sg | NPa_Pl | NPi_Sg | NPi_Pl  (1 each)       objects of verbs and prepositions
 *   Nbar_x_n -> N_x_n (6) | Adj N_x_n (3) | Adj Adj N_x_n (1)     Adj* with at most two adjectives
 *   PP       -> P NP
 *   RCs_n    -> who VP_n                                          subject relative: its verb agrees with
 *                                                                 the head noun, not with nouns nearby
 *   RCo      -> that NPa_Sg Vt_Sg | that NPa_Pl Vt_Pl             object relative (object gap): the
 *                                                                 embedded verb agrees with the embedded subject
 *   VP_n     -> Vi_n (3) | Vi_n Adv (1) | Vt_n NP (4) | Vt_n NP Adv (1) | Vs_n SBAR (1.5)
 *   SBAR     -> that S                                            sentential complement (recursion)
 *   Det_Sg   -> the | a | this | every | each        Det_Pl -> the | these | some | many | two | several
 *   N_a_n    -> 20 animate nouns (dog/dogs, child/children, ...), N_i_n -> 12 inanimate nouns
 *   Vi_n     -> 10 intransitive verbs (sleeps/sleep, ...), Vt_n -> 10 transitive (sees/see, ...),
 *   Vs_n     -> 6 clause-taking verbs (thinks/think, ...), Adj -> 15, Adv -> 7, P -> 7 prepositions
 *
 * Every sentence ends with ".". About 170 words. Embedding depth: PP, RCs_n, RCo and SBAR are
 * "embedding" nonterminals; a sentence's top level is depth 0, and a rule whose right-hand side holds an
 * embedding nonterminal is only used while depth + 1 <= maxDepth (the other rules of that left-hand side
 * are renormalised), so maxDepth bounds the nesting of phrases and clauses and sentences stay finite.
 * With maxDepth = 0 every sentence is a simple clause.
 */
import { Rng } from "../rng";
import { splitByIndex, type TextCorpus, type TextDocument } from "./corpus";

export interface PcfgRule {
  lhs: string;
  rhs: string[];
  /** Relative weight among the rules of `lhs` (need not sum to 1). */
  weight: number;
}

export interface Grammar {
  start: string;
  rules: PcfgRule[];
  /** Nonterminals whose expansion counts as one level of embedding (limited by maxDepth). */
  embedding: string[];
}

const NUMBERS = ["Sg", "Pl"] as const;

const ANIMATE: Array<[string, string]> = [
  ["dog", "dogs"], ["cat", "cats"], ["bird", "birds"], ["teacher", "teachers"], ["student", "students"],
  ["farmer", "farmers"], ["child", "children"], ["woman", "women"], ["man", "men"], ["king", "kings"],
  ["queen", "queens"], ["doctor", "doctors"], ["baker", "bakers"], ["painter", "painters"], ["sailor", "sailors"],
  ["horse", "horses"], ["fox", "foxes"], ["wolf", "wolves"], ["mouse", "mice"], ["girl", "girls"],
];
const INANIMATE: Array<[string, string]> = [
  ["book", "books"], ["apple", "apples"], ["house", "houses"], ["garden", "gardens"], ["river", "rivers"],
  ["city", "cities"], ["letter", "letters"], ["song", "songs"], ["car", "cars"], ["tree", "trees"],
  ["box", "boxes"], ["bridge", "bridges"],
];
const VERB_I: Array<[string, string]> = [
  ["sleeps", "sleep"], ["runs", "run"], ["laughs", "laugh"], ["waits", "wait"], ["sings", "sing"],
  ["dances", "dance"], ["smiles", "smile"], ["cries", "cry"], ["arrives", "arrive"], ["swims", "swim"],
];
const VERB_T: Array<[string, string]> = [
  ["sees", "see"], ["likes", "like"], ["finds", "find"], ["follows", "follow"], ["helps", "help"],
  ["watches", "watch"], ["carries", "carry"], ["wants", "want"], ["paints", "paint"], ["remembers", "remember"],
];
const VERB_S: Array<[string, string]> = [
  ["thinks", "think"], ["knows", "know"], ["says", "say"], ["believes", "believe"], ["hopes", "hope"], ["hears", "hear"],
];
const DET: Record<(typeof NUMBERS)[number], string[]> = {
  Sg: ["the", "a", "this", "every", "each"],
  Pl: ["the", "these", "some", "many", "two", "several"],
};
const ADJ = ["old", "young", "big", "small", "happy", "sad", "red", "green", "tall", "quiet", "clever", "brave", "lazy", "angry", "gentle"];
const ADV = ["quickly", "slowly", "often", "today", "again", "quietly", "loudly"];
const PREP = ["near", "with", "behind", "under", "beside", "from", "above"];

/** The grammar documented at the top of this file (a fresh copy). */
export function defaultGrammar(): Grammar {
  const rules: PcfgRule[] = [];
  const r = (lhs: string, rhs: string[], weight = 1) => rules.push({ lhs, rhs, weight });
  const lex = (lhs: string, words: string[]) => words.forEach((w) => r(lhs, [w]));

  r("S", ["NPa_Sg", "VP_Sg"]);
  r("S", ["NPa_Pl", "VP_Pl"]);
  for (const n of NUMBERS) {
    r(`NPa_${n}`, [`Det_${n}`, `Nbar_a_${n}`], 6);
    r(`NPa_${n}`, [`Det_${n}`, `Nbar_a_${n}`, "PP"], 2);
    r(`NPa_${n}`, [`Det_${n}`, `Nbar_a_${n}`, `RCs_${n}`], 1.5);
    r(`NPa_${n}`, [`Det_${n}`, `Nbar_a_${n}`, "RCo"], 1);
    r(`NPi_${n}`, [`Det_${n}`, `Nbar_i_${n}`], 6);
    r(`NPi_${n}`, [`Det_${n}`, `Nbar_i_${n}`, "PP"], 2);
    r(`NPi_${n}`, [`Det_${n}`, `Nbar_i_${n}`, "RCo"], 1);
    r("NP", [`NPa_${n}`]);
    r("NP", [`NPi_${n}`]);
    for (const x of ["a", "i"]) {
      r(`Nbar_${x}_${n}`, [`N_${x}_${n}`], 6);
      r(`Nbar_${x}_${n}`, ["Adj", `N_${x}_${n}`], 3);
      r(`Nbar_${x}_${n}`, ["Adj", "Adj", `N_${x}_${n}`], 1);
    }
    r(`RCs_${n}`, ["who", `VP_${n}`]);
    r("RCo", ["that", `NPa_${n}`, `Vt_${n}`]);
    r(`VP_${n}`, [`Vi_${n}`], 3);
    r(`VP_${n}`, [`Vi_${n}`, "Adv"], 1);
    r(`VP_${n}`, [`Vt_${n}`, "NP"], 4);
    r(`VP_${n}`, [`Vt_${n}`, "NP", "Adv"], 1);
    r(`VP_${n}`, [`Vs_${n}`, "SBAR"], 1.5);
  }
  r("PP", ["P", "NP"]);
  r("SBAR", ["that", "S"]);
  NUMBERS.forEach((n, k) => {
    lex(`Det_${n}`, DET[n]);
    lex(`N_a_${n}`, ANIMATE.map((p) => p[k]));
    lex(`N_i_${n}`, INANIMATE.map((p) => p[k]));
    lex(`Vi_${n}`, VERB_I.map((p) => p[k]));
    lex(`Vt_${n}`, VERB_T.map((p) => p[k]));
    lex(`Vs_${n}`, VERB_S.map((p) => p[k]));
  });
  lex("Adj", ADJ);
  lex("Adv", ADV);
  lex("P", PREP);
  return { start: "S", rules, embedding: ["PP", "RCs_Sg", "RCs_Pl", "RCo", "SBAR"] };
}

/** A grammar prepared for sampling: rules grouped by left-hand side. */
interface Compiled {
  byLhs: Map<string, PcfgRule[]>;
  embedding: Set<string>;
}

const compiledCache = new WeakMap<Grammar, Compiled>();

function compile(g: Grammar): Compiled {
  const hit = compiledCache.get(g);
  if (hit) return hit;
  const byLhs = new Map<string, PcfgRule[]>();
  for (const rule of g.rules) {
    if (!(rule.weight > 0)) throw new Error(`pcfg: rule ${rule.lhs} -> ${rule.rhs.join(" ")} has non-positive weight ${rule.weight}`);
    if (rule.rhs.length === 0) throw new Error(`pcfg: rule for ${rule.lhs} has an empty right-hand side`);
    const list = byLhs.get(rule.lhs) ?? [];
    list.push(rule);
    byLhs.set(rule.lhs, list);
  }
  if (!byLhs.has(g.start)) throw new Error(`pcfg: start symbol ${g.start} has no rules`);
  const embedding = new Set(g.embedding);
  // Every nonterminal must be able to expand without embedding, or maxDepth could not be honoured.
  for (const [lhs, list] of byLhs) {
    if (!list.some((rule) => !rule.rhs.some((s) => embedding.has(s)))) {
      throw new Error(`pcfg: nonterminal ${lhs} has no rule free of embedding nonterminals`);
    }
  }
  const c = { byLhs, embedding };
  compiledCache.set(g, c);
  return c;
}

/** Every word (terminal) of the grammar, sorted. */
export function grammarVocabulary(g: Grammar = defaultGrammar()): string[] {
  const nts = new Set(g.rules.map((r) => r.lhs));
  const words = new Set<string>();
  for (const r of g.rules) for (const s of r.rhs) if (!nts.has(s)) words.add(s);
  return [...words].sort();
}

/** A derivation tree: a nonterminal with children, or a word (leaf, `children` absent). */
export interface ParseTree {
  symbol: string;
  children?: ParseTree[];
}

const MAX_SENTENCE_TOKENS = 1000;

/**
 * Sample one derivation tree of `g.start` (without the final "."). `maxDepth` bounds the embedding depth
 * (see the file comment).
 */
export function sampleTree(rng: Rng, g: Grammar, maxDepth: number): ParseTree {
  if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new Error(`pcfg: maxDepth must be an integer >= 0, got ${maxDepth}`);
  const c = compile(g);
  let leaves = 0;
  const expand = (symbol: string, depth: number): ParseTree => {
    const list = c.byLhs.get(symbol);
    if (!list) {
      if (++leaves > MAX_SENTENCE_TOKENS) throw new Error(`pcfg: sentence longer than ${MAX_SENTENCE_TOKENS} tokens`);
      return { symbol };
    }
    const childDepth = c.embedding.has(symbol) ? depth + 1 : depth;
    const allowed = list.filter((rule) => childDepth + 1 <= maxDepth || !rule.rhs.some((s) => c.embedding.has(s)));
    let total = 0;
    for (const rule of allowed) total += rule.weight;
    let u = rng.next() * total;
    let chosen = allowed[allowed.length - 1];
    for (const rule of allowed) {
      u -= rule.weight;
      if (u < 0) {
        chosen = rule;
        break;
      }
    }
    return { symbol, children: chosen.rhs.map((s) => expand(s, childDepth)) };
  };
  return expand(g.start, 0);
}

/** The words at the leaves of a tree, in order. */
export function treeYield(t: ParseTree, out: string[] = []): string[] {
  if (!t.children) out.push(t.symbol);
  else for (const ch of t.children) treeYield(ch, out);
  return out;
}

/** One sentence as tokens, ending with ".". */
export function sampleSentence(rng: Rng, g: Grammar, maxDepth: number): string[] {
  const toks = treeYield(sampleTree(rng, g, maxDepth));
  toks.push(".");
  return toks;
}

export interface PcfgCorpusOptions {
  /** Number of documents (split train/valid like Brown). Default 1000. */
  documents?: number;
  /** Sentences per document. Default 20. */
  sentencesPerDoc?: number;
  /** Maximum embedding depth (PP, relative clause, complement clause). Default 3. */
  maxDepth?: number;
  /** Document i goes to validation when i % validEvery === validEvery - 1. Default 10. */
  validEvery?: number;
  grammar?: Grammar;
}

/**
 * Sample a PCFG corpus. Document i is drawn from `rng.derive("pcfg-doc", i)`, so it does not depend on
 * how many documents are asked for, and the whole corpus is a function of the rng's seed (the passed
 * rng's own stream is not advanced).
 */
export function samplePcfgCorpus(rng: Rng, opts: PcfgCorpusOptions = {}): TextCorpus {
  const documents = opts.documents ?? 1000;
  const sentencesPerDoc = opts.sentencesPerDoc ?? 20;
  const maxDepth = opts.maxDepth ?? 3;
  const g = opts.grammar ?? defaultGrammar();
  if (!Number.isInteger(documents) || documents < 1) throw new Error(`samplePcfgCorpus: documents must be a positive integer, got ${documents}`);
  if (!Number.isInteger(sentencesPerDoc) || sentencesPerDoc < 1) {
    throw new Error(`samplePcfgCorpus: sentencesPerDoc must be a positive integer, got ${sentencesPerDoc}`);
  }
  const docs: TextDocument[] = [];
  const width = String(documents - 1).length;
  for (let i = 0; i < documents; i++) {
    const r = rng.derive("pcfg-doc", i);
    const tokens: string[] = [];
    for (let s = 0; s < sentencesPerDoc; s++) tokens.push(...sampleSentence(r, g, maxDepth));
    docs.push({ id: `pcfg${String(i).padStart(width, "0")}`, tokens });
  }
  const { train, valid } = splitByIndex(docs, opts.validEvery ?? 10);
  return { name: "pcfg", train, valid };
}
