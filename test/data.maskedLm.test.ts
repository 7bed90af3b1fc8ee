import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/rng";
import { packSequences, maskBatch, MlmSampler, validationBatches, toTensors, IGNORE_INDEX, type MlmBatch } from "../src/data/maskedLm";
import { PAD_ID, UNK_ID, MASK_ID, CLS_ID } from "../src/data/tokenizer";
import { samplePcfgCorpus } from "../src/data/pcfg";
import { WordTokenizer } from "../src/data/tokenizer";

const VOCAB = 500;

/** Documents of random ids in [4, VOCAB) with some [UNK]s. */
function randomDocs(rng: Rng, n: number, minLen: number, maxLen: number): Int32Array[] {
  return Array.from({ length: n }, () => {
    const len = minLen + rng.int(maxLen - minLen + 1);
    const d = new Int32Array(len);
    for (let i = 0; i < len; i++) d[i] = rng.next() < 0.05 ? UNK_ID : 4 + rng.int(VOCAB - 4);
    return d;
  });
}

test("packSequences: [CLS] + consecutive chunks of one document, tail padded, no crossing", () => {
  const doc = Int32Array.from({ length: 130 }, (_, i) => 10 + i);
  const doc2 = Int32Array.from([7, 8, 9]);
  const seqs = packSequences([doc, doc2], 64);
  assert.equal(seqs.length, 4); // 63 + 63 + 4 tokens, then the second document alone
  assert.ok(seqs.every((s) => s.length === 64 && s[0] === CLS_ID));
  assert.deepEqual([...seqs[0].slice(1)], [...doc.slice(0, 63)]);
  assert.deepEqual([...seqs[1].slice(1)], [...doc.slice(63, 126)]);
  assert.deepEqual([...seqs[2].slice(1, 5)], [136, 137, 138, 139]);
  assert.ok(seqs[2].slice(5).every((v) => v === PAD_ID));
  assert.deepEqual([...seqs[3].slice(0, 5)], [CLS_ID, 7, 8, 9, PAD_ID]);
});

test("masking proportions: 15% of non-special positions, split 80/10/10; specials and [PAD] never chosen", () => {
  const rng = new Rng("mask-stats");
  // long documents plus short ones, so that windows carry [PAD] tails
  const docs = [...randomDocs(rng, 30, 200, 400), ...randomDocs(rng, 300, 5, 40)];
  const sampler = new MlmSampler(docs, { seqLen: 64, batchSize: 32, vocabSize: VOCAB }, rng.derive("sampler"));
  let eligible = 0, chosen = 0, toMask = 0, toRandom = 0, same = 0, pads = 0;
  for (let step = 0; step < 150; step++) {
    const b = sampler.nextBatch();
    assert.equal(b.inputIds.length, 32 * 64);
    let nm = 0;
    for (let k = 0; k < b.inputIds.length; k++) {
      const orig = b.targets[k];
      if (orig === PAD_ID) pads++;
      const isChosen = b.maskWeights[k] === 1;
      if (orig < 4) {
        assert.ok(!isChosen, `special ${orig} chosen`);
        assert.equal(b.labels[k], IGNORE_INDEX);
        assert.equal(b.inputIds[k], orig);
        continue;
      }
      eligible++;
      if (!isChosen) {
        assert.equal(b.labels[k], IGNORE_INDEX);
        assert.equal(b.inputIds[k], orig);
        continue;
      }
      nm++;
      chosen++;
      assert.equal(b.labels[k], orig);
      const x = b.inputIds[k];
      if (x === MASK_ID) toMask++;
      else if (x === orig) same++;
      else {
        assert.ok(x >= 4 && x < VOCAB, `random replacement ${x}`);
        toRandom++;
      }
    }
    assert.equal(b.numMasked, nm);
    for (let r = 0; r < 32; r++) assert.equal(b.targets[r * 64], CLS_ID);
  }
  assert.ok(pads > 100, `only ${pads} pads seen`);
  const p = chosen / eligible;
  assert.ok(Math.abs(p - 0.15) < 0.005, `chosen fraction ${p}`);
  const pm = toMask / chosen, pr = toRandom / chosen, ps = same / chosen;
  assert.ok(Math.abs(pm - 0.8) < 0.01, `[MASK] ${pm}`);
  // a random replacement equals the original with probability 1/496, counted as "same"
  assert.ok(Math.abs(pr - 0.1) < 0.01, `random ${pr}`);
  assert.ok(Math.abs(ps - 0.1) < 0.01, `unchanged ${ps}`);
});

test("config fields change the proportions", () => {
  const rows = packSequences(randomDocs(new Rng("r"), 50, 1000, 1000), 32);
  const b = maskBatch(rows, { seqLen: 32, batchSize: rows.length, vocabSize: VOCAB, maskProb: 0.4, maskTokenProb: 1, randomTokenProb: 0 }, new Rng("m"));
  let eligible = 0;
  for (let k = 0; k < b.targets.length; k++) if (b.targets[k] >= 4) eligible++;
  assert.ok(Math.abs(b.numMasked / eligible - 0.4) < 0.02, `${b.numMasked / eligible}`);
  for (let k = 0; k < b.targets.length; k++) if (b.maskWeights[k] === 1) assert.equal(b.inputIds[k], MASK_ID);
  assert.throws(() => maskBatch(rows, { seqLen: 32, batchSize: 1, vocabSize: VOCAB, maskTokenProb: 0.9, randomTokenProb: 0.2 }, new Rng("m")), /<= 1/);
});

test("the online sampler draws contiguous windows of one document", () => {
  // document d holds ids 1000*d + 4 .. : consecutive ids, so a window is contiguous iff ids step by 1
  const docs = [0, 1, 2].map((d) => Int32Array.from({ length: 100 + 50 * d }, (_, i) => 1000 * d + 4 + i));
  const sampler = new MlmSampler(docs, { seqLen: 16, batchSize: 8, vocabSize: 4000 }, new Rng("w"));
  const starts = new Set<number>();
  for (let i = 0; i < 6000; i++) {
    const s = sampler.sampleSequence();
    assert.equal(s[0], CLS_ID);
    for (let t = 2; t < 16; t++) assert.equal(s[t], s[t - 1] + 1, `not contiguous: ${[...s]}`);
    starts.add(s[1]);
  }
  // every window start of every document is reached, and no window runs past a document's end
  const expected = new Set<number>();
  docs.forEach((d) => {
    for (let i = 0; i + 15 <= d.length; i++) expected.add(d[i]);
  });
  assert.equal(expected.size, 86 + 136 + 186);
  assert.deepEqual([...starts].sort((a, b) => a - b), [...expected].sort((a, b) => a - b));
});

function sameBatches(a: MlmBatch[], b: MlmBatch[]): boolean {
  return a.length === b.length && a.every((x, i) => {
    const y = b[i];
    return x.numMasked === y.numMasked && x.inputIds.every((v, k) => v === y.inputIds[k]) && x.labels.every((v, k) => v === y.labels[k]);
  });
}

test("determinism: same seed, same training and validation batches; another seed differs", () => {
  const corpus = samplePcfgCorpus(new Rng("corpus"), { documents: 40, sentencesPerDoc: 15, maxDepth: 2 });
  const tok = WordTokenizer.build(corpus.train, 300);
  const train = tok.encodeDocuments(corpus.train);
  const valid = tok.encodeDocuments(corpus.valid);
  const cfg = { seqLen: 32, batchSize: 8, vocabSize: tok.vocabSize };
  const run = (seed: string) => {
    const s = new MlmSampler(train, cfg, new Rng(seed));
    return Array.from({ length: 5 }, () => s.nextBatch());
  };
  assert.ok(sameBatches(run("a"), run("a")));
  assert.ok(!sameBatches(run("a"), run("b")));
  const v1 = validationBatches(valid, cfg, new Rng("val"));
  const v2 = validationBatches(valid, cfg, new Rng("val"));
  const v3 = validationBatches(valid, cfg, new Rng("val2"));
  assert.ok(sameBatches(v1, v2));
  assert.ok(!sameBatches(v1, v3));
  // all packed validation sequences, in batches of 8 (the last may be smaller)
  const nSeq = packSequences(valid, 32).length;
  assert.equal(v1.reduce((s, b) => s + b.batchSize, 0), nSeq);
  assert.ok(v1.slice(0, -1).every((b) => b.batchSize === 8));
  assert.ok(validationBatches(valid, cfg, new Rng("val"), { dropLast: true }).every((b) => b.batchSize === 8));
  const sub = validationBatches(valid, cfg, new Rng("val"), { maxBatches: 2 });
  assert.equal(sub.length, 2);
  assert.ok(sub.every((b) => b.batchSize === 8));
});

test("toTensors gives int32 ids and float32 weights of shape [batch, seqLen]", () => {
  const rows = packSequences(randomDocs(new Rng("t"), 3, 50, 50), 20);
  const b = maskBatch(rows, { seqLen: 20, batchSize: rows.length, vocabSize: VOCAB }, new Rng("t2"));
  const t = toTensors(b);
  try {
    assert.deepEqual(t.inputIds.shape, [rows.length, 20]);
    assert.equal(t.inputIds.dtype, "int32");
    assert.equal(t.targets.dtype, "int32");
    assert.equal(t.maskWeights.dtype, "float32");
    assert.deepEqual([...t.inputIds.dataSync()], [...b.inputIds]);
    assert.equal(t.maskWeights.sum().dataSync()[0], b.numMasked);
  } finally {
    t.inputIds.dispose();
    t.targets.dispose();
    t.maskWeights.dispose();
  }
});
