/**
 * The contract every model in this project meets, so that distillation methods never need to know
 * whether they drive an MLP or a transformer.
 *
 * A model owns its `tf.Variable`s, runs a forward pass that can also return named intermediate
 * activations ("taps"), and says which of its variables influence a given tap (for layer-wise
 * curriculum-extraction phases, which train the student only up to the tapped layer).
 */
import * as tf from "@tensorflow/tfjs";

export type NamedTensors = Record<string, tf.Tensor>;

export interface ForwardOptions {
  /** Names of taps to return, from `tapNames`. Default: none. */
  taps?: readonly string[];
  /** Training mode (dropout on). Default: false. */
  training?: boolean;
  /**
   * Sequence models only: [batch, seq], 1 = real token, 0 = [PAD]; no position attends to a [PAD] key.
   * Default: attend to every position. Models without attention ignore it.
   */
  padMask?: tf.Tensor;
}

/** The input a FLOP count is for. */
export interface FlopShape {
  /** Rows of the input (sequences for sequence models). */
  batch: number;
  /** Tokens per sequence (sequence models; default their maximum length). */
  seq?: number;
  /** Stop at this tap (default: the whole forward pass with the output head). */
  upTo?: string;
  /** Language-model heads: positions at which logits are computed (default every position). */
  logitRows?: number;
}

export interface ForwardResult {
  /** Output logits: [batch, classes] for classifiers, [batch, seq, vocab] for language models. */
  logits: tf.Tensor;
  /** The requested taps, by name; shape [..., tapDim(name)]. */
  taps: NamedTensors;
}

export interface TappedModel {
  /** Human-readable kind, e.g. "mlp" or "transformer". */
  readonly kind: string;
  /** Every trainable variable, in a fixed order; variable names are unique within the model. */
  readonly variables: readonly tf.Variable[];
  /** Tap names in forward order, e.g. ["hidden"] or ["embed", "block1", "block2"]. */
  readonly tapNames: readonly string[];
  /** Width of the last axis of a tap. */
  tapDim(tap: string): number;
  /**
   * A tap's shape without the batch axis, when the model knows it ([H, W, C] for a conv layer; null
   * for a size that varies): curriculum extraction checks that paired taps have the same positions.
   */
  tapShape?(tap: string): (number | null)[];
  /** Variables on which `tap` depends (what a phase matching that tap trains). */
  variablesUpTo(tap: string): tf.Variable[];
  /** Forward pass. Call inside `tf.tidy` (or dispose the results). */
  forward(x: tf.Tensor, opts?: ForwardOptions): ForwardResult;
  /**
   * Only the named taps: computes nothing past the deepest one (no later layer, no output head), so
   * a phase that matches an early layer costs only that far. Equal to `forward(x, {taps}).taps`.
   */
  forwardTaps(x: tf.Tensor, taps: readonly string[], opts?: Omit<ForwardOptions, "taps">): NamedTensors;
  /** Copies of the current weights, keyed by variable name (caller disposes). */
  snapshot(): NamedTensors;
  /** Assign weights (same names and shapes as `snapshot`); throws naming any mismatch. */
  load(weights: NamedTensors): void;
  /** Free the variables. */
  dispose(): void;
  /**
   * Optional fast path: the value and gradients (keyed by variable name) of
   * softCrossEntropy(forward(x).logits, target), derived by hand. Must equal autodiff of that loss
   * (test/models.mlp.test.ts checks it); the loop uses it instead of tf.variableGrads when present.
   */
  outputGrads?(x: tf.Tensor, target: tf.Tensor): { value: tf.Scalar; grads: Record<string, tf.Tensor> };
  /**
   * Optional fast path: value and gradients, w.r.t. variablesUpTo(tap), of
   * projectedMse(tap(x)[..., :dim], target).
   */
  tapGrads?(x: tf.Tensor, tap: string, target: tf.Tensor, dim: number): { value: tf.Scalar; grads: Record<string, tf.Tensor> };
  /**
   * Optional fast path: one plain-SGD step (p -= lr g) in place, as one fused kernel, of the loss
   * `outputGrads` differentiates (no `tap`; with `labels`, `target` is int32 class ids [batch]
   * instead of distributions) or of `tapGrads`' loss on `tap` (its first `dim` features); returns the loss before the step, or null where the backend has no such kernel (the
   * caller then takes the gradients and the optimiser). Equal to that path (test/kernels.mlp.test.ts).
   */
  sgdStep?(x: tf.Tensor, target: tf.Tensor, lr: number, what?: { tap?: string; dim?: number; labels?: boolean }): tf.Scalar | null;
  /**
   * Apply any update the model holds back (a fused step's first-layer rows, applied lazily on the
   * next read). Every method that reads the weights does this first; the training loop also calls
   * it before each event it yields, so the model is whole whenever a consumer looks at it.
   */
  settle?(): void;
  /**
   * Optional fast path: `tap(x) @ Pt` (a projection [tapDim, m]) without materialising the tap, or
   * null where the backend has no fused kernel for it.
   */
  projectTap?(x: tf.Tensor, tap: string, Pt: tf.Tensor2D): tf.Tensor | null;
  /**
   * Optional, for a frozen model queried ahead: the logits (`forward` without taps) or `projectTap`
   * of many rows at once, each row exactly what a batch of `batchRows` rows would get, because the
   * kernels that run such batches compute every row on its own. The weights are read once for all
   * rows: a training loop asks for several upcoming batches' targets in one call (src/train/ahead.ts).
   * Null where this backend, or a batch of `batchRows`, has no such kernel.
   */
  rowsAhead?: {
    logits(x: tf.Tensor, batchRows: number): tf.Tensor | null;
    projectTap(x: tf.Tensor, tap: string, Pt: tf.Tensor2D, batchRows: number): tf.Tensor | null;
  };
  /**
   * Floating-point operations of one forward pass (2 per multiply-add of every matrix product;
   * element-wise work is not counted), up to `upTo` (a tap: nothing past it, as `forwardTaps`) or
   * through the output head. See src/cost.ts for what a training step costs.
   */
  forwardFlops?(shape: FlopShape): number;
}

/** Names given to variables that tfjs named itself (fromLayersModel: "<layer>/<weight>"). */
const givenNames = new WeakMap<tf.Variable, string>();

/** Name `v` within its model (for variables whose tfjs name is not "<instance prefix>/<name>"). */
export function setShortName(v: tf.Variable, name: string): void {
  givenNames.set(v, name);
}

/**
 * The name of a variable within its model: the part after the instance prefix ("mlp3/W1" -> "W1"),
 * or the name given with `setShortName`. Snapshots, checkpoints and optimiser states are keyed by
 * it, so weights load into any instance of the same shape.
 */
export function shortName(v: tf.Variable): string {
  const given = givenNames.get(v);
  if (given !== undefined) return given;
  const i = v.name.indexOf("/");
  return i < 0 ? v.name : v.name.slice(i + 1);
}

/** Shared `load` implementation: assigns by short name with shape checks. */
export function loadInto(vars: readonly tf.Variable[], weights: NamedTensors, modelKind: string): void {
  for (const v of vars) {
    const w = weights[shortName(v)];
    if (!w) throw new Error(`${modelKind}.load: weight "${shortName(v)}" is missing`);
    if (w.shape.join(",") !== v.shape.join(",")) {
      throw new Error(`${modelKind}.load: weight "${shortName(v)}" has shape [${w.shape}], expected [${v.shape}]`);
    }
    v.assign(w);
  }
}

/** Shared `snapshot` implementation, keyed by short name. */
export function snapshotOf(vars: readonly tf.Variable[]): NamedTensors {
  const out: NamedTensors = {};
  for (const v of vars) out[shortName(v)] = v.clone();
  return out;
}

/** Variable names must be unique across the whole tfjs engine; this gives each model instance a
 * prefix. Name variables `${prefix}/${shortName}` (shortName may contain further slashes). */
let instanceCounter = 0;
export function uniquePrefix(kind: string): string {
  instanceCounter += 1;
  return `${kind}${instanceCounter}`;
}
