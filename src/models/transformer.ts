/**
 * A small pre-LayerNorm transformer encoder (GPT-2/BERT shapes, bidirectional attention) written with
 * plain tfjs ops, meeting `TappedModel`.
 *
 *   x [batch, seq] int32 -> token + position embedding            (tap "embed")
 *   for l = 1..L: h += Attn(LN1(h)); h += MLP(LN2(h))            (tap "block<l>", the residual stream)
 *   head "classify": Linear(LN_f(h[:, last]))  -> [batch, numClasses]
 *   head "lm":       Linear(LN_f(h))           -> [batch, seq, vocab]  (optionally tied to the embedding)
 *
 * The building blocks (embedding, linear, LayerNorm, GELU, attention) come from src/ops: fused native
 * kernels on wasm when the native library is built, plain tfjs ops on every other backend. The
 * residual stream is kept 2-D [batch*seq, dModel] so every Linear is one large product; attention
 * works on the [batch*seq, dModel] projections directly (heads are column slices).
 *
 * `forwardTaps` stops at the deepest requested tap: a curriculum-extraction phase that matches
 * block l computes neither the blocks after l nor the output head, for the teacher or the student.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng";
import { embeddingLookup, geluTanh, layerNorm, linear as linearOp, residual, selfAttention } from "../ops";
import { FlopShape, ForwardOptions, ForwardResult, NamedTensors, TappedModel, loadInto, snapshotOf, uniquePrefix } from "./types";

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
  forwardTaps(x: tf.Tensor, taps: readonly string[], opts?: Omit<TransformerForwardOptions, "taps">): NamedTensors;
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
  return linearOp(x, mat(l.w), vec(l.b));
}

const proj = (l: Linear) => ({ w: mat(l.w), b: vec(l.b) });

function activate(x: tf.Tensor, kind: TransformerActivation): tf.Tensor {
  if (kind === "relu") return tf.relu(x);
  if (kind === "gelu") return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  return geluTanh(x);
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

  /** Checks the input and options; returns [batch, seq]. */
  function check(x: tf.Tensor, opts: TransformerForwardOptions, taps: readonly string[]): [number, number] {
    if (x.rank !== 2 || x.dtype !== "int32") throw new Error(`transformer.forward: x must be int32 [batch, seq], got ${x.dtype} [${x.shape}]`);
    const [batch, seq] = x.shape;
    if (seq > c.seqLen) throw new Error(`transformer.forward: sequence length ${seq} exceeds seqLen ${c.seqLen}`);
    taps.forEach(tapIndex);
    if (opts.logitPositions && (c.head !== "lm" || opts.logitPositions.rank !== 1 || opts.logitPositions.dtype !== "int32")) {
      throw new Error(`transformer.forward: logitPositions must be int32 [P] with head "lm", got ${opts.logitPositions.dtype} [${opts.logitPositions.shape}] with head "${c.head}"`);
    }
    if (opts.padMask && opts.padMask.shape.join(",") !== `${batch},${seq}`) {
      throw new Error(`transformer.forward: padMask must be [${batch}, ${seq}], got [${opts.padMask.shape}]`);
    }
    return [batch, seq];
  }

  /**
   * The embedding and blocks 1..depth (0 = the embedding only), recording the wanted taps;
   * returns the residual stream [batch*seq, d] after the last block run.
   */
  function trunk(x: tf.Tensor, opts: TransformerForwardOptions, want: readonly string[], depth: number, taps: NamedTensors): tf.Tensor2D {
    const [batch, seq] = x.shape;
    const n = batch * seq;
    const rate = opts.training ? c.dropout : 0;
    const drop = (t: tf.Tensor): tf.Tensor => (rate > 0 ? tf.dropout(t, rate, undefined, dropRng.uint32()) : t);
    const tap = (name: string, h: tf.Tensor) => {
      if (want.includes(name)) taps[name] = h.reshape([batch, seq, d]);
    };
    const tok = embeddingLookup(mat(tokEmb), x.reshape([n]) as tf.Tensor1D); // [N, d]
    const pos = tf.slice(posEmb, [0, 0], [seq, d]); // [T, d]
    let h = drop(tf.add(tok.reshape([batch, seq, d]), pos).reshape([n, d])) as tf.Tensor2D; // [N, d]
    tap("embed", h);
    const padMask = opts.padMask ? (tf.cast(opts.padMask, "float32") as tf.Tensor2D) : null; // [B, T], 1 = real key
    blocks.slice(0, depth).forEach((b, i) => {
      const a = layerNorm(h, vec(b.ln1g), vec(b.ln1b), c.layerNormEps);
      const ctx = selfAttention(a, proj(b.q), proj(b.k), proj(b.v), batch, seq, c.nHeads, padMask, rate > 0 ? drop : undefined);
      h = residual(h, drop(linear(ctx, b.o))) as tf.Tensor2D;
      const m = layerNorm(h, vec(b.ln2g), vec(b.ln2b), c.layerNormEps);
      h = residual(h, drop(linear(activate(linear(m, b.fc1), c.activation) as tf.Tensor2D, b.fc2))) as tf.Tensor2D;
      tap(`block${i + 1}`, h);
    });
    return h;
  }

  function forward(x: tf.Tensor, opts: TransformerForwardOptions = {}): ForwardResult {
    const want = opts.taps ?? [];
    const [batch, seq] = check(x, opts, want);
    return tf.tidy(() => {
      const taps: NamedTensors = {};
      const h = trunk(x, opts, want, blocks.length, taps);
      let logits: tf.Tensor;
      if (c.head === "classify") {
        const last = tf.slice(h.reshape([batch, seq, d]), [0, seq - 1, 0], [batch, 1, d]).reshape([batch, d]) as tf.Tensor2D;
        logits = linear(layerNorm(last, vec(lnFg), vec(lnFb), c.layerNormEps), head!);
      } else {
        const at = opts.logitPositions;
        const hs = at ? embeddingLookup(h, at as tf.Tensor1D) : h; // [P or N, d]
        const f = layerNorm(hs, vec(lnFg), vec(lnFb), c.layerNormEps);
        const flat = head ? linear(f, head) : linearOp(f, mat(tokEmb), vec(headBias!), true); // [P or N, vocab]
        logits = at ? flat : flat.reshape([batch, seq, c.vocabSize]);
      }
      return { logits, taps };
    });
  }

  function forwardTaps(x: tf.Tensor, taps: readonly string[], opts: Omit<TransformerForwardOptions, "taps"> = {}): NamedTensors {
    check(x, opts, taps);
    const depth = Math.max(0, ...taps.map(tapIndex)); // 0 = embed, l = block l
    return tf.tidy(() => {
      const out: NamedTensors = {};
      trunk(x, opts, taps, depth, out);
      return out;
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
    forwardTaps,
    forwardFlops({ batch, seq = c.seqLen, upTo, logitRows }: FlopShape): number {
      const n = batch * seq;
      const depth = upTo === undefined ? blocks.length : tapIndex(upTo);
      // Per block: q, k, v, o (4 d x d), the MLP (d x hidden twice), attention scores and context.
      const block = 2 * n * d * d * 4 + 2 * n * d * hidden * 2 + 2 * 2 * batch * seq * seq * d;
      if (upTo !== undefined) return depth * block;
      const rows = c.head === "classify" ? batch : logitRows ?? n;
      return depth * block + 2 * rows * d * (c.head === "classify" ? c.numClasses : c.vocabSize);
    },
    snapshot: () => snapshotOf(variables),
    load: (weights: NamedTensors) => loadInto(variables, weights, "transformer"),
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}

/** Number of trainable scalars in a model. */
export function parameterCount(model: TappedModel): number {
  return model.variables.reduce((s, v) => s + v.size, 0);
}
