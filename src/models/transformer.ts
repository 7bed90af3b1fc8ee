/**
 * A small pre-LayerNorm transformer encoder (GPT-2/BERT shapes, bidirectional attention) written with
 * plain tfjs ops, meeting `TappedModel`.
 *
 *   x [batch, seq] int32 -> token + position embedding            (tap "embed")
 *   for l = 1..L: h += Attn(LN1(h)); h += MLP(LN2(h))            (tap "block<l>", the residual stream)
 *   head "classify": Linear(LN_f(h[:, last]))  -> [batch, numClasses]
 *   head "lm":       Linear(LN_f(h))           -> [batch, seq, vocab]  (optionally tied to the embedding)
 *
 * Speed notes (wasm): the residual stream is kept 2-D [batch*seq, dModel] so every Linear is one large
 * 2-D product; heads are folded into the batch axis so attention is two batched products of
 * [batch*heads, seq, dHead]; transposes the forward needs (K^T, a tied embedding^T) are materialised
 * so no product has a transposed operand in the forward pass. Embedding lookup, LayerNorm and GELU
 * carry hand-written gradients (fewer kernels; wasm has no UnsortedSegmentSum for gather's gradient).
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng";
import { ForwardOptions, ForwardResult, NamedTensors, TappedModel, loadInto, snapshotOf, uniquePrefix } from "./types";

export type TransformerHead = "classify" | "lm";
export type TransformerActivation = "gelu_tanh" | "gelu" | "relu";

export interface TransformerConfig {
  /** Token vocabulary size (token ids are 0..vocabSize-1). Required. */
  vocabSize: number;
  /** Maximum sequence length (rows of the position embedding); inputs may be shorter. Required. */
  seqLen: number;
  /** Width of the residual stream. Required; must be divisible by nHeads. */
  dModel: number;
  /** Attention heads per block. Required. */
  nHeads: number;
  /** Number of transformer blocks. Required. */
  nLayers: number;
  /** MLP hidden width = mlpRatio * dModel. Default 4 (GPT-2, BERT). */
  mlpRatio?: number;
  /**
   * MLP activation. Default "gelu_tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), GPT-2's
   * approximation (PyTorch `GELU(approximate="tanh")`). "gelu" is the exact erf form (PyTorch's default
   * `nn.GELU()`), "relu" is `nn.TransformerEncoderLayer`'s default.
   */
  activation?: TransformerActivation;
  /**
   * Dropout rate, applied only when `training` (GPT-2 placement: after the embedding sum, on the attention
   * probabilities, and on each residual branch before it is added). Default 0. Masks are seeded: each
   * call draws a fresh seed from the model's "dropout" Rng stream.
   */
  dropout?: number;
  /** Output head. Required: "classify" (reads the LAST position) or "lm" (every position). */
  head: TransformerHead;
  /** Classes for the "classify" head. Required there; ignored (resolved to 0) for "lm". */
  numClasses?: number;
  /**
   * "lm" only: logits = LN_f(h) @ tokenEmbedding^T + bias (bias initialised to zero, as BERT/HF do).
   * Default false: a separate Linear(dModel, vocab) with PyTorch-default init.
   */
  tiedEmbeddings?: boolean;
  /** LayerNorm epsilon. Default 1e-5 (PyTorch). */
  layerNormEps?: number;
}

/** The config with every default filled in (saved beside checkpoints). */
export type ResolvedTransformerConfig = Required<TransformerConfig>;

export const TRANSFORMER_DEFAULTS = {
  mlpRatio: 4,
  activation: "gelu_tanh",
  dropout: 0,
  tiedEmbeddings: false,
  layerNormEps: 1e-5,
} as const;

export interface TransformerForwardOptions extends ForwardOptions {
  /**
   * "lm" head only: int32 [P] flat positions (b * seq + t) at which to compute logits, which are then
   * [P, vocab]. With a large vocabulary the head dominates a step; a masked-LM loss needs only the masked
   * positions. Default: every position, logits [batch, seq, vocab].
   */
  logitPositions?: tf.Tensor;
}

/** `forward(x, {taps, training, padMask, logitPositions})`; padMask [batch, seq], 1 = real token, 0 = [PAD]. */
export type TransformerModel = TappedModel & {
  readonly config: ResolvedTransformerConfig;
  forward(x: tf.Tensor, opts?: TransformerForwardOptions): ForwardResult;
};

const KNOWN_KEYS = new Set<string>([
  "vocabSize", "seqLen", "dModel", "nHeads", "nLayers", "mlpRatio", "activation", "dropout", "head",
  "numClasses", "tiedEmbeddings", "layerNormEps",
]);

export function resolveTransformerConfig(cfg: TransformerConfig): ResolvedTransformerConfig {
  for (const k of Object.keys(cfg)) if (!KNOWN_KEYS.has(k)) throw new Error(`transformer: unknown config key "${k}"`);
  const r: ResolvedTransformerConfig = {
    ...TRANSFORMER_DEFAULTS,
    numClasses: 0,
    ...cfg,
  } as ResolvedTransformerConfig;
  const posInt = (name: keyof TransformerConfig) => {
    const v = r[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`transformer: ${name} must be a positive integer, got ${String(v)}`);
  };
  (["vocabSize", "seqLen", "dModel", "nHeads", "nLayers"] as const).forEach(posInt);
  if (r.dModel % r.nHeads !== 0) throw new Error(`transformer: dModel ${r.dModel} is not divisible by nHeads ${r.nHeads}`);
  if (!(r.mlpRatio > 0) || !Number.isInteger(r.mlpRatio * r.dModel)) throw new Error(`transformer: mlpRatio ${r.mlpRatio} must give an integer MLP width`);
  if (!(r.dropout >= 0 && r.dropout < 1)) throw new Error(`transformer: dropout must be in [0, 1), got ${r.dropout}`);
  if (!(r.layerNormEps > 0)) throw new Error(`transformer: layerNormEps must be > 0, got ${r.layerNormEps}`);
  if (!["gelu_tanh", "gelu", "relu"].includes(r.activation)) throw new Error(`transformer: unknown activation "${r.activation}"`);
  if (r.head === "classify") {
    posInt("numClasses");
    if (r.tiedEmbeddings) throw new Error(`transformer: tiedEmbeddings needs head "lm", got head "classify"`);
  } else if (r.head === "lm") {
    r.numClasses = 0;
  } else {
    throw new Error(`transformer: head must be "classify" or "lm", got "${String(r.head)}"`);
  }
  return r;
}

// ---------------------------------------------------------------- building blocks (exported for tests)

type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
/** tf.customGrad with typed positional inputs: `f([a, b], save)`. */
function custom(f: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: GradFn }) {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return f(args.slice(0, -1) as tf.Tensor[], save);
  });
}

/** Vocabularies up to this size embed by a one-hot product (wasm's Gather is slow: ~50 ns per element). */
export const ONE_HOT_MAX_VOCAB = 64;

/**
 * table[ids]: [n] int32 -> [n, d]. Gather (or a one-hot product for small tables) forward; the gradient
 * is a scatter-add (wasm has no UnsortedSegmentSum, which gather's stock gradient needs).
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const rows = table.shape[0];
  const f = custom(([t, i], save) => {
    if (rows <= ONE_HOT_MAX_VOCAB) {
      // int32 then cast: wasm's OneHot ignores a float32 dtype and writes int bits (reads as ~0).
      const oh = tf.cast(tf.oneHot(i as tf.Tensor1D, rows), "float32"); // [n, rows]
      const ohT = tf.transpose(oh); // [rows, n], materialised so the gradient product is untransposed
      save([ohT]);
      return { value: tf.matMul(oh, t as tf.Tensor2D), gradFunc: (dy, saved) => [tf.matMul(saved[0] as tf.Tensor2D, dy as tf.Tensor2D), tf.zerosLike(i)] };
    }
    save([i]);
    return {
      value: tf.gather(t, i as tf.Tensor1D),
      gradFunc: (dy, saved) => [tf.scatterND(saved[0].reshape([-1, 1]), dy, t.shape), tf.zerosLike(saved[0])],
    };
  });
  return f(table, ids) as tf.Tensor2D;
}

/** Sum over the rows of a 2-D [n, d] tensor -> [d], as ones[1, n] @ dy (3-6x faster than Sum over axis 0 on wasm). */
export function columnSum(dy: tf.Tensor): tf.Tensor1D {
  const [n, d] = dy.shape as [number, number];
  return tf.matMul(tf.ones([1, n]), dy as tf.Tensor2D).reshape([d]) as tf.Tensor1D;
}

/** x @ w + b for x [n, in], w [in, out], b [out]; the bias gradient by `columnSum`. */
export function linear2d(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const f = custom(([xi, wi, bi], save) => {
    save([xi, wi]);
    return {
      value: tf.add(tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D), bi),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy as tf.Tensor2D, ws, false, true), tf.matMul(xs, dy as tf.Tensor2D, true, false), columnSum(dy)];
      },
    };
  });
  return f(x, w, b) as tf.Tensor2D;
}

/** LayerNorm over the last axis of a 2-D [n, d] input, with a closed-form gradient. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  const f = custom(([xi, g, b], save) => {
    const xc = tf.sub(xi, tf.mean(xi, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps)); // [n, 1]
    const xhat = tf.mul(xc, rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gm] = saved;
        const gy = tf.mul(dy, gm);
        // dx = rstd * (gy - mean(gy) - xhat * mean(gy * xhat))
        const dx = tf.mul(rs, tf.sub(tf.sub(gy, tf.mean(gy, -1, true)), tf.mul(xh, tf.mean(tf.mul(gy, xh), -1, true))));
        return [dx, columnSum(tf.mul(dy, xh)), columnSum(dy)];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor2D;
}

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation: 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = c (x + 0.044715 x^3), c = sqrt(2/pi).
 * Written with sigmoid (wasm's tanh is ~7x slower) and a closed-form gradient:
 * d/dx = s + 2 x s (1 - s) c (1 + 3 * 0.044715 x^2), s = sigmoid(2u).
 */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const f = custom(([xi], save) => {
    const x2 = tf.square(xi);
    const s = tf.sigmoid(tf.mul(xi, tf.add(tf.mul(x2, 2 * 0.044715 * GELU_C), 2 * GELU_C)));
    save([xi, s]);
    return {
      value: tf.mul(xi, s),
      gradFunc: (dy, saved) => {
        const [xs, ss] = saved;
        const du = tf.add(tf.mul(tf.square(xs), 2 * 3 * 0.044715 * GELU_C), 2 * GELU_C); // d(2u)/dx
        const d = tf.add(ss, tf.mul(tf.mul(xs, tf.mul(ss, tf.sub(1, ss))), du));
        return tf.mul(dy, d);
      },
    };
  });
  return f(x);
}

function activate(x: tf.Tensor, kind: TransformerActivation): tf.Tensor {
  if (kind === "relu") return tf.relu(x);
  if (kind === "gelu") return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  return geluTanh(x);
}

/**
 * Scaled dot-product attention over already-projected q, k, v, each [batch*seq, dModel] (heads are
 * contiguous slices of dModel). `maskBias` is [batch, 1, 1, seq] (0 or a large negative) or null.
 * Heads are folded into the batch: two products of [batch*heads, seq, dHead]. Returns [batch*seq, dModel].
 */
export function attention(
  q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D,
  batch: number, seq: number, nHeads: number,
  maskBias: tf.Tensor | null = null,
  dropProbs: (p: tf.Tensor) => tf.Tensor = (p) => p,
): tf.Tensor2D {
  const d = q.shape[1];
  const dh = d / nHeads;
  const bh = batch * nHeads;
  const split = (t: tf.Tensor, perm: number[], shape: number[]) =>
    nHeads === 1 && perm[1] === 2 && perm[2] === 1 ? t.reshape(shape) : tf.transpose(t.reshape([batch, seq, nHeads, dh]), perm).reshape(shape);
  const qh = split(tf.mul(q, 1 / Math.sqrt(dh)), [0, 2, 1, 3], [bh, seq, dh]) as tf.Tensor3D; // [B*H, T, dh]
  const kt = tf.transpose(k.reshape([batch, seq, nHeads, dh]), [0, 2, 3, 1]).reshape([bh, dh, seq]) as tf.Tensor3D; // [B*H, dh, T]
  const vh = split(v, [0, 2, 1, 3], [bh, seq, dh]) as tf.Tensor3D; // [B*H, T, dh]
  let scores: tf.Tensor = tf.matMul(qh, kt); // [B*H, T, T]
  if (maskBias) scores = tf.add(scores.reshape([batch, nHeads, seq, seq]), maskBias).reshape([bh, seq, seq]);
  const probs = dropProbs(tf.softmax(scores)) as tf.Tensor3D;
  const ctx = tf.matMul(probs, vh); // [B*H, T, dh]
  const merged = nHeads === 1 ? ctx : tf.transpose(ctx.reshape([batch, nHeads, seq, dh]), [0, 2, 1, 3]);
  return merged.reshape([batch * seq, d]) as tf.Tensor2D;
}

// ---------------------------------------------------------------- the model

interface Linear { w: tf.Variable; b: tf.Variable }
interface Block {
  ln1g: tf.Variable; ln1b: tf.Variable; q: Linear; k: Linear; v: Linear; o: Linear;
  ln2g: tf.Variable; ln2b: tf.Variable; fc1: Linear; fc2: Linear;
  vars: tf.Variable[];
}

const vec = (v: tf.Variable) => v as tf.Tensor as tf.Tensor1D;
const mat = (v: tf.Variable) => v as tf.Tensor as tf.Tensor2D;

function linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
  return linear2d(x, mat(l.w), vec(l.b));
}

/**
 * Build a transformer. Init (PyTorch / GPT-2 style): token and position embeddings N(0, 0.02^2); every
 * Linear weight [in, out] and bias U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's nn.Linear default); LayerNorm
 * gamma 1, beta 0; a tied LM head's bias 0. All draws come from `rng.derive("init")`; dropout masks
 * from `rng.derive("dropout")`.
 */
export function createTransformer(cfg: TransformerConfig, rng: Rng): TransformerModel {
  const c = resolveTransformerConfig(cfg);
  const prefix = uniquePrefix("transformer");
  const init = rng.derive("init");
  const dropRng = rng.derive("dropout");
  const d = c.dModel;
  const hidden = c.mlpRatio * d;

  const make = (name: string, shape: number[], values: Float32Array): tf.Variable => {
    const t = tf.tensor(values, shape, "float32");
    const v = tf.variable(t, true, `${prefix}/${name}`);
    t.dispose();
    return v;
  };
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const normal = (name: string, shape: number[]) => make(name, shape, init.normalArray(size(shape), 0.02));
  const fill = (name: string, shape: number[], value: number) => make(name, shape, new Float32Array(size(shape)).fill(value));
  const lin = (name: string, fanIn: number, fanOut: number): Linear => {
    const bound = 1 / Math.sqrt(fanIn);
    return {
      w: make(`${name}/w`, [fanIn, fanOut], init.uniformArray(fanIn * fanOut, -bound, bound)),
      b: make(`${name}/b`, [fanOut], init.uniformArray(fanOut, -bound, bound)),
    };
  };

  const tokEmb = normal("tokEmb", [c.vocabSize, d]);
  const posEmb = normal("posEmb", [c.seqLen, d]);
  const blocks: Block[] = [];
  for (let l = 1; l <= c.nLayers; l++) {
    const p = `block${l}`;
    const b = {
      ln1g: fill(`${p}/ln1/gamma`, [d], 1), ln1b: fill(`${p}/ln1/beta`, [d], 0),
      q: lin(`${p}/attn/q`, d, d), k: lin(`${p}/attn/k`, d, d), v: lin(`${p}/attn/v`, d, d), o: lin(`${p}/attn/o`, d, d),
      ln2g: fill(`${p}/ln2/gamma`, [d], 1), ln2b: fill(`${p}/ln2/beta`, [d], 0),
      fc1: lin(`${p}/mlp/fc1`, d, hidden), fc2: lin(`${p}/mlp/fc2`, hidden, d),
    };
    const vars = [b.ln1g, b.ln1b, b.q.w, b.q.b, b.k.w, b.k.b, b.v.w, b.v.b, b.o.w, b.o.b, b.ln2g, b.ln2b, b.fc1.w, b.fc1.b, b.fc2.w, b.fc2.b];
    blocks.push({ ...b, vars });
  }
  const lnFg = fill("lnF/gamma", [d], 1);
  const lnFb = fill("lnF/beta", [d], 0);
  let head: Linear | null = null;
  let headBias: tf.Variable | null = null;
  if (c.head === "classify") head = lin("head", d, c.numClasses);
  else if (!c.tiedEmbeddings) head = lin("head", d, c.vocabSize);
  else headBias = fill("head/b", [c.vocabSize], 0);

  const variables: tf.Variable[] = [tokEmb, posEmb, ...blocks.flatMap((b) => b.vars), lnFg, lnFb];
  if (head) variables.push(head.w, head.b);
  if (headBias) variables.push(headBias);
  const tapNames = ["embed", ...blocks.map((_, i) => `block${i + 1}`)];

  const tapIndex = (tap: string): number => {
    const i = tapNames.indexOf(tap);
    if (i < 0) throw new Error(`transformer: unknown tap "${tap}" (taps: ${tapNames.join(", ")})`);
    return i;
  };

  function forward(x: tf.Tensor, opts: TransformerForwardOptions = {}): ForwardResult {
    if (x.rank !== 2 || x.dtype !== "int32") throw new Error(`transformer.forward: x must be int32 [batch, seq], got ${x.dtype} [${x.shape}]`);
    const [batch, seq] = x.shape;
    if (seq > c.seqLen) throw new Error(`transformer.forward: sequence length ${seq} exceeds seqLen ${c.seqLen}`);
    const want = opts.taps ?? [];
    want.forEach(tapIndex);
    const training = opts.training ?? false;
    const rate = training ? c.dropout : 0;
    const drop = (t: tf.Tensor): tf.Tensor => (rate > 0 ? tf.dropout(t, rate, undefined, dropRng.uint32()) : t);
    const padMask = opts.padMask;
    if (opts.logitPositions && (c.head !== "lm" || opts.logitPositions.rank !== 1 || opts.logitPositions.dtype !== "int32")) {
      throw new Error(`transformer.forward: logitPositions must be int32 [P] with head "lm", got ${opts.logitPositions.dtype} [${opts.logitPositions.shape}] with head "${c.head}"`);
    }
    if (padMask && padMask.shape.join(",") !== `${batch},${seq}`) {
      throw new Error(`transformer.forward: padMask must be [${batch}, ${seq}], got [${padMask.shape}]`);
    }
    const n = batch * seq;

    return tf.tidy(() => {
      const taps: NamedTensors = {};
      const tap = (name: string, h: tf.Tensor) => {
        if (want.includes(name)) taps[name] = h.reshape([batch, seq, d]);
      };
      const tok = embeddingLookup(mat(tokEmb), x.reshape([n]) as tf.Tensor1D); // [N, d]
      const pos = tf.slice(posEmb, [0, 0], [seq, d]); // [T, d]
      let h = drop(tf.add(tok.reshape([batch, seq, d]), pos).reshape([n, d])) as tf.Tensor2D; // [N, d]
      tap("embed", h);
      // [B, 1, 1, T]: 0 for real keys, -1e9 for [PAD] keys.
      const maskBias = padMask ? tf.mul(tf.sub(1, tf.cast(padMask, "float32")), -1e9).reshape([batch, 1, 1, seq]) : null;
      blocks.forEach((b, i) => {
        const a = layerNorm(h, vec(b.ln1g), vec(b.ln1b), c.layerNormEps);
        const ctx = attention(linear(a, b.q), linear(a, b.k), linear(a, b.v), batch, seq, c.nHeads, maskBias, drop);
        h = tf.add(h, drop(linear(ctx, b.o))) as tf.Tensor2D;
        const m = layerNorm(h, vec(b.ln2g), vec(b.ln2b), c.layerNormEps);
        h = tf.add(h, drop(linear(activate(linear(m, b.fc1), c.activation) as tf.Tensor2D, b.fc2))) as tf.Tensor2D;
        tap(`block${i + 1}`, h);
      });
      let logits: tf.Tensor;
      if (c.head === "classify") {
        const last = tf.slice(h.reshape([batch, seq, d]), [0, seq - 1, 0], [batch, 1, d]).reshape([batch, d]) as tf.Tensor2D;
        logits = linear(layerNorm(last, vec(lnFg), vec(lnFb), c.layerNormEps), head!);
      } else {
        const at = opts.logitPositions;
        const hs = at ? embeddingLookup(h, at as tf.Tensor1D) : h; // [P or N, d]
        const f = layerNorm(hs, vec(lnFg), vec(lnFb), c.layerNormEps);
        const flat = head ? linear(f, head) : linear2d(f, tf.transpose(tokEmb) as tf.Tensor2D, vec(headBias!)); // [P or N, vocab]
        logits = at ? flat : flat.reshape([batch, seq, c.vocabSize]);
      }
      return { logits, taps };
    });
  }

  return {
    kind: "transformer",
    config: Object.freeze({ ...c }),
    variables,
    tapNames,
    tapDim(tap: string): number {
      tapIndex(tap);
      return d;
    },
    variablesUpTo(tap: string): tf.Variable[] {
      const upTo = tapIndex(tap); // 0 = embed, l = block l
      return [tokEmb, posEmb, ...blocks.slice(0, upTo).flatMap((b) => b.vars)];
    },
    forward,
    snapshot: () => snapshotOf(variables),
    load: (weights: NamedTensors) => loadInto(variables, weights, "transformer"),
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}

/** Number of trainable scalars in a model. */
export function parameterCount(model: TappedModel): number {
  return model.variables.reduce((s, v) => s + v.size, 0);
}
