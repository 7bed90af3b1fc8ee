import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/rng";
import {
  defaultGrammar, grammarVocabulary, samplePcfgCorpus, sampleSentence, sampleTree, treeYield, type Grammar, type ParseTree,
} from "../src/data/pcfg";
import { corpusStats } from "../src/data/corpus";
import { WordTokenizer } from "../src/data/tokenizer";

/** An Earley recognizer, written independently of the sampler: is `words` derivable from g.start? */
function recognizes(g: Grammar, words: readonly string[]): boolean {
  const nts = new Set(g.rules.map((r) => r.lhs));
  type Item = { rule: number; dot: number; origin: number };
  const chart: Item[][] = Array.from({ length: words.length + 1 }, () => []);
  const seen: Set<string>[] = Array.from({ length: words.length + 1 }, () => new Set());
  const add = (k: number, it: Item) => {
    const key = `${it.rule}:${it.dot}:${it.origin}`;
    if (!seen[k].has(key)) {
      seen[k].add(key);
      chart[k].push(it);
    }
  };
  g.rules.forEach((r, i) => r.lhs === g.start && add(0, { rule: i, dot: 0, origin: 0 }));
  for (let k = 0; k <= words.length; k++) {
    for (let j = 0; j < chart[k].length; j++) {
      const it = chart[k][j];
      const rule = g.rules[it.rule];
      if (it.dot < rule.rhs.length) {
        const next = rule.rhs[it.dot];
        if (nts.has(next)) {
          g.rules.forEach((r, i) => r.lhs === next && add(k, { rule: i, dot: 0, origin: k }));
        } else if (k < words.length && words[k] === next) {
          add(k + 1, { ...it, dot: it.dot + 1 });
        }
      } else {
        for (const p of chart[it.origin]) {
          const pr = g.rules[p.rule];
          if (p.dot < pr.rhs.length && pr.rhs[p.dot] === rule.lhs) add(k, { ...p, dot: p.dot + 1 });
        }
      }
    }
  }
  return chart[words.length].some((it) => it.origin === 0 && g.rules[it.rule].lhs === g.start && it.dot === g.rules[it.rule].rhs.length);
}

/** word -> "Sg" | "Pl" for nouns and verbs, read off the lexical rules. */
function numberOf(g: Grammar): Map<string, "Sg" | "Pl"> {
  const m = new Map<string, "Sg" | "Pl">();
  for (const r of g.rules) {
    const hit = /^(N_[ai]|Vi|Vt|Vs)_(Sg|Pl)$/.exec(r.lhs);
    if (hit && r.rhs.length === 1) m.set(r.rhs[0], hit[2] as "Sg" | "Pl");
  }
  return m;
}

/** The other-number form of a verb (same index in the parallel lexical rule list). */
function flipVerb(g: Grammar, word: string): string {
  for (const cls of ["Vi", "Vt", "Vs"]) {
    const sg = g.rules.filter((r) => r.lhs === `${cls}_Sg`).map((r) => r.rhs[0]);
    const pl = g.rules.filter((r) => r.lhs === `${cls}_Pl`).map((r) => r.rhs[0]);
    if (sg.includes(word)) return pl[sg.indexOf(word)];
    if (pl.includes(word)) return sg[pl.indexOf(word)];
  }
  throw new Error(`not a verb: ${word}`);
}

test("the recognizer accepts and rejects hand-written sentences", () => {
  const g = defaultGrammar();
  assert.ok(recognizes(g, "the dog sleeps".split(" ")));
  assert.ok(recognizes(g, "the dogs near the cat sleep".split(" ")));
  assert.ok(recognizes(g, "the dog that the cats see knows that a girl sings".split(" ")));
  assert.ok(!recognizes(g, "the dogs near the cat sleeps".split(" ")));
  assert.ok(!recognizes(g, "a dogs sleep".split(" ")));
  assert.ok(!recognizes(g, "the dog sees".split(" "))); // transitive verb needs an object
  assert.ok(!recognizes(g, "the book sleeps".split(" "))); // subjects are animate
});

test("the grammar is small, and every sampled word is in it", () => {
  const g = defaultGrammar();
  const vocab = grammarVocabulary(g);
  assert.ok(vocab.length >= 100 && vocab.length <= 300, `${vocab.length} words`);
  const c = samplePcfgCorpus(new Rng("v"), { documents: 20, sentencesPerDoc: 10, maxDepth: 3 });
  const allowed = new Set([...vocab, "."]);
  for (const d of [...c.train, ...c.valid]) for (const w of d.tokens) assert.ok(allowed.has(w), w);
});

test("sampled sentences parse, and agreement holds: flipping the main verb's number breaks the parse", () => {
  const g = defaultGrammar();
  const num = numberOf(g);
  const rng = new Rng("parse");
  let embedded = 0;
  for (let i = 0; i < 150; i++) {
    const tree = sampleTree(rng, g, 3);
    const words = treeYield(tree);
    assert.ok(recognizes(g, words), words.join(" "));
    // S -> NPa_n VP_n: the head noun (last word of Nbar under the subject NP) and the verb agree
    const [np, vp] = tree.children!;
    const nbar = np.children!.find((c) => c.symbol.startsWith("Nbar"))!;
    const noun = treeYield(nbar).at(-1)!;
    const verb = treeYield(vp.children![0])[0];
    assert.equal(num.get(noun), num.get(verb), `${noun} / ${verb} in: ${words.join(" ")}`);
    const verbPos = treeYield(np).length;
    assert.equal(words[verbPos], verb);
    const broken = [...words];
    broken[verbPos] = flipVerb(g, verb);
    assert.ok(!recognizes(g, broken), `accepted agreement violation: ${broken.join(" ")}`);
    if (words.some((w) => w === "who" || w === "that")) embedded++;
  }
  assert.ok(embedded > 20, `only ${embedded} sentences with a clause`);
});

test("maxDepth bounds embedding: depth 0 gives simple clauses, depth 2 reaches 2 and no more", () => {
  const g = defaultGrammar();
  const embedWords = new Set(["who", "that", ...g.rules.filter((r) => r.lhs === "P").map((r) => r.rhs[0])]);
  const r0 = new Rng("d0");
  for (let i = 0; i < 200; i++) {
    const s = sampleSentence(r0, g, 0);
    assert.equal(s.at(-1), ".");
    assert.ok(!s.some((w) => embedWords.has(w)), s.join(" "));
  }
  const depthOf = (t: ParseTree): number => {
    if (!t.children) return 0;
    const d = Math.max(...t.children.map(depthOf));
    return ["PP", "RCs_Sg", "RCs_Pl", "RCo", "SBAR"].includes(t.symbol) ? d + 1 : d;
  };
  let max = 0;
  const r3 = new Rng("d3");
  for (let i = 0; i < 400; i++) {
    const d = depthOf(sampleTree(r3, g, 2));
    assert.ok(d <= 2);
    max = Math.max(max, d);
  }
  assert.equal(max, 2);
  assert.throws(() => sampleTree(r3, g, -1), /maxDepth/);
});

test("samplePcfgCorpus is deterministic for a seed, splits like Brown, and feeds the tokenizer", () => {
  const opts = { documents: 30, sentencesPerDoc: 8, maxDepth: 3 };
  const a = samplePcfgCorpus(new Rng("seed-1"), opts);
  const b = samplePcfgCorpus(new Rng("seed-1"), opts);
  const c = samplePcfgCorpus(new Rng("seed-2"), opts);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.train[0].tokens, c.train[0].tokens);
  assert.equal(a.name, "pcfg");
  assert.equal(a.train.length, 27);
  assert.equal(a.valid.length, 3);
  assert.equal(a.valid[0].id, "pcfg09");
  assert.equal(a.train[0].tokens.filter((w) => w === ".").length, 8);
  // a document does not depend on how many are asked for
  const more = samplePcfgCorpus(new Rng("seed-1"), { ...opts, documents: 60 });
  assert.deepEqual(more.train[5].tokens, a.train[5].tokens);
  const st = corpusStats(a);
  assert.equal(st.train.documents, 27);
  assert.ok(st.train.tokens > 27 * 8 * 4);
  const tok = WordTokenizer.build(a.train, 1000);
  assert.ok(tok.vocabSize <= 4 + grammarVocabulary().length + 1);
  assert.ok(tok.oovRate(a.valid) < 0.05);
});
