import { test } from "node:test";
import assert from "node:assert/strict";
import { WordTokenizer, PAD_ID, UNK_ID, MASK_ID, CLS_ID, SPECIAL_TOKENS, isSpecialId } from "../src/data/tokenizer";
import { loadBrown } from "../src/data/corpus";

const docs = [
  ["the", "cat", "sat", "on", "the", "mat", "."],
  ["The", "dog", "sat", "."],
  ["a", "bird", "."],
];

test("special ids are fixed: [PAD]=0 [UNK]=1 [MASK]=2 [CLS]=3", () => {
  assert.deepEqual([PAD_ID, UNK_ID, MASK_ID, CLS_ID], [0, 1, 2, 3]);
  const tok = WordTokenizer.build(docs, 10);
  assert.deepEqual(tok.decode([0, 1, 2, 3]), [...SPECIAL_TOKENS]);
  assert.equal(tok.tokenToId("[MASK]"), UNK_ID); // specials cannot be typed in as words (lower-cased)
  assert.ok(isSpecialId(3) && !isSpecialId(4));
});

test("vocabulary: most frequent first, ties alphabetical, lower-cased, truncated to vocabSize", () => {
  const tok = WordTokenizer.build(docs, 10);
  assert.equal(tok.vocabSize, 10);
  // counts: the 3, . 3, sat 2, then a bird cat dog mat on (1 each, alphabetical)
  assert.deepEqual(tok.decode([4, 5, 6, 7, 8, 9]), [".", "the", "sat", "a", "bird", "cat"]);
  assert.equal(tok.tokenToId("dog"), UNK_ID); // cut off
  const full = WordTokenizer.build(docs, 100);
  assert.equal(full.vocabSize, 4 + 9); // fewer distinct words than asked
});

test("encode / decode round trip; OOV -> [UNK]; case-insensitive", () => {
  const tok = WordTokenizer.build(docs, 100);
  const ids = tok.encode(["The", "cat", "sat", "on", "the", "zebra", "."]);
  assert.ok(ids instanceof Int32Array);
  assert.equal(ids[5], UNK_ID);
  assert.equal(ids[0], ids[4]);
  assert.deepEqual(tok.decode(ids), ["the", "cat", "sat", "on", "the", "[UNK]", "."]);
  assert.deepEqual([...tok.encode("the cat  sat")], [...tok.encode(["the", "cat", "sat"])]);
  const inVocab = ["a", "bird", "dog", "mat", "."];
  assert.deepEqual(tok.decode(tok.encode(inVocab)), inVocab);
  assert.deepEqual(tok.decode([5, 0, 0], { skipPad: true }), [tok.idToToken(5)]);
  assert.throws(() => tok.idToToken(999), /out of range/);
});

test("toJSON / fromJSON gives identical ids on Brown (vocabulary 8000)", () => {
  const c = loadBrown();
  const tok = WordTokenizer.build(c.train, 8000);
  assert.equal(tok.vocabSize, 8000);
  assert.deepEqual(tok.decode([4, 5, 6, 7]), ["the", ",", ".", "of"]);
  const back = WordTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  const back2 = WordTokenizer.fromJSON(JSON.stringify(tok));
  assert.deepEqual(back.toJSON(), tok.toJSON());
  for (const d of c.valid.slice(0, 10)) {
    const a = tok.encode(d.tokens);
    assert.deepEqual(back.encode(d.tokens), a);
    assert.deepEqual(back2.encode(d.tokens), a);
  }
  // building again gives the same ids (deterministic tie-breaking)
  assert.deepEqual(WordTokenizer.build(c.train, 8000).toJSON().vocab, tok.toJSON().vocab);
  assert.throws(() => WordTokenizer.fromJSON({ type: "word", version: 1, lowercase: true, vocab: ["[UNK]", "[PAD]", "[MASK]", "[CLS]"] }), /id 0/);
});

test("build rejects a vocabulary too small for the specials", () => {
  assert.throws(() => WordTokenizer.build(docs, 4), /vocabSize/);
});
