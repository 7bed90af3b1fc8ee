/**
 * Any TensorFlow.js layers model (`tf.sequential`, `tf.model`) as a `TappedModel`, so that every
 * distillation method runs on it: taps are layers, picked by name (torchdistill taps PyTorch modules
 * by path the same way).
 *
 *   const teacher = fromLayersModel(myTeacher);                      // taps: every hidden layer
 *   const student = fromLayersModel(myStudent, { taps: ["hidden"] });
 *
 * - A tap is a layer's output: any float output of rank 2 or more ([batch, features], [batch, seq,
 *   features], [batch, height, width, channels]). The projection of curriculum extraction acts on
 *   the last axis; the axes between batch and features are positions (a sequence's tokens, an
 *   image's pixels). Default taps: every such layer, in topological order, except the input layer
 *   and the layers that compute the output.
 * - The output is used as logits. A last layer that applies softmax (most Keras classifiers: a
 *   Dense or Conv layer with `activation: "softmax"`, or an `Activation("softmax")`/`Softmax`
 *   layer) is detected and its pre-activation is used instead, exactly (`output: "auto"`, the
 *   default). `output: "probabilities"` declares probabilities that cannot be detected (their log
 *   is used as logits); `output: "logits"` declares logits, an error when the last layer applies
 *   softmax. Probabilities are never treated as logits.
 * - `forward(x, { taps })` runs the model once and returns its output as `logits` and the tapped
 *   layers' outputs; `forwardTaps` builds a model that ends at the requested layers, so nothing past
 *   the deepest one is computed.
 * - `variablesUpTo(tap)` is every trainable weight of the layers the tap depends on (graph ancestry:
 *   branches and shared layers are right).
 * - The adapter trains the layers model's own weights in place: after distillation the student is
 *   still a `tf.LayersModel` that `save` and `tf.loadLayersModel` handle as usual.
 *
 * Not supported, with an error naming the layer: tapping a layer inside a nested model (tap the
 * nested model itself), a layer applied more than once (a shared layer has no single output), a
 * layer whose output is not float; models with more than one input or output.
 */
import * as tf from "@tensorflow/tfjs";
import { FlopShape, ForwardOptions, ForwardResult, NamedTensors, TappedModel, loadInto, setShortName, snapshotOf } from "./types";

export interface FromLayersOptions {
  /** Layer names to expose as taps, in forward order. Default: every hidden layer with a float output of rank >= 2. */
  taps?: readonly string[];
  /**
   * What the model's output is: "auto" (default) logits, unless the last layer applies softmax
   * (detected; its pre-activation is used); "probabilities" (the log of the output, floored at
   * 1e-12, when no softmax can be undone exactly); "logits" (an error if the last layer applies softmax).
   */
  output?: "auto" | "logits" | "probabilities";
}

/**
 * How the model's last layer applies softmax: "layer" (an Activation("softmax") or Softmax layer over
 * the last axis: its input is the logits), "activation" (a layer with `activation: "softmax"`, e.g.
 * Dense or Conv2D: run it with a linear activation), or null (none found).
 */
export function softmaxOutput(model: tf.LayersModel): "layer" | "activation" | null {
  const last = model.outputs[0]?.sourceLayer;
  if (last === undefined) return null;
  const config = last.getConfig() as { activation?: unknown; axis?: unknown };
  const cls = last.getClassName();
  const rank = (last.outputShape as unknown[]).length;
  if (cls === "Softmax") return config.axis === -1 || config.axis === rank - 1 || config.axis === undefined ? "layer" : null;
  if (config.activation !== "softmax") return null;
  if (cls === "Activation") return "layer";
  return "activation" in last ? "activation" : null;
}

/** A linear activation object, to stand in for a layer's softmax while its pre-activation is computed. */
let linearActivation: unknown = null;
function linear(): unknown {
  if (linearActivation === null) linearActivation = (tf.layers.activation({ activation: "linear" }) as unknown as { activation: unknown }).activation;
  return linearActivation;
}

type Layer = tf.layers.Layer;

function layerError(model: tf.LayersModel, message: string): Error {
  return new Error(`fromLayersModel(${model.name}): ${message}`);
}

/** The layers `layer` depends on (itself included), following inbound nodes back to the inputs. */
function ancestors(layer: Layer): Set<Layer> {
  const seen = new Set<Layer>();
  const stack: Layer[] = [layer];
  while (stack.length) {
    const l = stack.pop()!;
    if (seen.has(l)) continue;
    seen.add(l);
    for (const node of l.inboundNodes) stack.push(...node.inboundLayers);
  }
  return seen;
}

/** A layer's weight as the tf.Variable it wraps (LayerVariable.read() returns the variable itself). */
function variableOf(model: tf.LayersModel, lv: tf.LayerVariable): tf.Variable {
  const v = lv.read();
  if (!(v instanceof tf.Variable)) throw layerError(model, `weight "${lv.name}" is not backed by a variable`);
  return v;
}

export function fromLayersModel(model: tf.LayersModel, opts: FromLayersOptions = {}): TappedModel {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw layerError(model, `models with one input and one output are supported, this one has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const outputLayer = model.outputs[0].sourceLayer;
  const mode = opts.output ?? "auto";
  if (!["auto", "logits", "probabilities"].includes(mode)) throw layerError(model, `output must be "auto", "logits" or "probabilities", got ${JSON.stringify(mode)}`);
  const softmax = softmaxOutput(model);
  if (mode === "logits" && softmax !== null) {
    throw layerError(model, `output: "logits" but the last layer "${outputLayer.name}" applies softmax (its output is probabilities); leave output "auto" to use its pre-activation`);
  }
  // The tensor read as the output: the softmax layer's input, or the model's output.
  const logitsTensor = softmax === "layer" ? outputLayer.inboundNodes[0].inputTensors[0] : model.outputs[0];
  const logitsLayer = logitsTensor.sourceLayer;
  const logOfProbs = mode === "probabilities" && softmax === null;
  const byName = new Map(model.layers.map((l) => [l.name, l] as const));
  const isFloatTap = (l: Layer) => {
    const shape: unknown[] = l.outputShape;
    const single = !shape.some((d) => Array.isArray(d)); // a multi-output layer has a list of shapes
    const dtype = l.inboundNodes[0]?.outputTensors[0]?.dtype ?? "float32";
    return single && shape.length >= 2 && dtype.startsWith("float");
  };
  const checkTap = (name: string): Layer => {
    const l = byName.get(name);
    if (l === undefined) {
      const nested = model.layers.find((m) => m instanceof tf.LayersModel && m.layers.some((inner) => inner.name === name));
      if (nested) throw layerError(model, `layer "${name}" is inside the nested model "${nested.name}": tap "${nested.name}" itself, or build the model without nesting`);
      throw layerError(model, `no layer named "${name}" (layers: ${model.layers.map((m) => m.name).join(", ")})`);
    }
    if (l.inboundNodes.length !== 1) throw layerError(model, `layer "${name}" is applied ${l.inboundNodes.length} times; a shared layer has no single output to tap`);
    if (!isFloatTap(l)) throw layerError(model, `layer "${name}" has output shape ${JSON.stringify(l.outputShape)} of ${l.inboundNodes[0]?.outputTensors[0]?.dtype}; a tap needs a float output of rank 2 or more`);
    return l;
  };
  const tapNames = opts.taps
    ? [...opts.taps]
    : model.layers.filter((l) => l !== outputLayer && l !== logitsLayer && l.getClassName() !== "InputLayer" && l.inboundNodes.length === 1 && isFloatTap(l)).map((l) => l.name);
  tapNames.forEach(checkTap);
  if (new Set(tapNames).size !== tapNames.length) throw layerError(model, `taps repeat a layer: ${tapNames.join(", ")}`);

  // Variables: every trainable weight, named "<layer>/<weight>" within the model.
  const owner = new Map<tf.Variable, Layer>();
  const variables: tf.Variable[] = [];
  for (const l of model.layers) {
    for (const lv of l.trainableWeights) {
      const v = variableOf(model, lv);
      if (owner.has(v)) continue;
      owner.set(v, l);
      setShortName(v, `${l.name}/${lv.originalName.split("/").pop()}`);
      variables.push(v);
    }
  }

  // One model per set of requested outputs, cached: the layers (and weights) are the original ones.
  const heads = new Map<string, tf.LayersModel>();
  const headFor = (names: readonly string[], withOutput: boolean): tf.LayersModel => {
    const key = `${names.join("\u0000")}\u0001${withOutput}`;
    let m = heads.get(key);
    if (m === undefined) {
      const outputs = names.map((n) => checkTap(n).output as tf.SymbolicTensor);
      if (withOutput) outputs.push(logitsTensor);
      m = tf.model({ inputs: model.inputs, outputs });
      heads.set(key, m);
    }
    return m;
  };
  // FLOPs: Dense products only; layers without weights (activations, reshapes, concatenations) and
  // embeddings (lookups) cost none; a model with any other weighted layer does not count.
  const countable = model.layers.every((l) => ["Dense", "Embedding", "InputLayer"].includes(l.getClassName()) || l.trainableWeights.length === 0);
  const denseFlops = (l: Layer, batch: number): number => {
    if (l.getClassName() !== "Dense") return 0;
    const inShape = l.inboundNodes[0].inputTensors[0].shape; // [null, ..., in]
    const rows = batch * inShape.slice(1, -1).reduce((p: number, d) => p * (d ?? 1), 1);
    const out = (l.outputShape as number[])[(l.outputShape as number[]).length - 1];
    return 2 * rows * (inShape[inShape.length - 1] ?? 0) * out;
  };
  const run = (m: tf.LayersModel, x: tf.Tensor, training: boolean): tf.Tensor[] => {
    const out = m.apply(x, { training });
    return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
  };
  // The output as logits: a fused softmax is swapped for a linear activation while the head runs
  // (synchronously; restored before anything else can see the layer).
  const runWithOutput = (m: tf.LayersModel, x: tf.Tensor, training: boolean): tf.Tensor[] => {
    if (softmax === "activation") {
      const layer = outputLayer as unknown as { activation: unknown };
      const saved = layer.activation;
      layer.activation = linear();
      try {
        return run(m, x, training);
      } finally {
        layer.activation = saved;
      }
    }
    const outs = run(m, x, training);
    if (logOfProbs) outs[outs.length - 1] = tf.log(tf.clipByValue(outs[outs.length - 1], 1e-12, 1));
    return outs;
  };

  return {
    kind: "layers",
    variables,
    tapNames,
    tapDim(tap: string): number {
      const shape = checkTap(tap).outputShape as number[];
      return shape[shape.length - 1];
    },
    tapShape(tap: string): (number | null)[] {
      return (checkTap(tap).outputShape as (number | null)[]).slice(1);
    },
    variablesUpTo(tap: string): tf.Variable[] {
      const needed = ancestors(checkTap(tap));
      return variables.filter((v) => needed.has(owner.get(v)!));
    },
    forward(x: tf.Tensor, o: ForwardOptions = {}): ForwardResult {
      const want = o.taps ?? [];
      return tf.tidy(() => {
        const outs = runWithOutput(headFor(want, true), x, o.training ?? false);
        const taps: NamedTensors = {};
        want.forEach((t, i) => (taps[t] = outs[i]));
        return { logits: outs[outs.length - 1], taps };
      });
    },
    forwardTaps(x: tf.Tensor, taps: readonly string[], o: Omit<ForwardOptions, "taps"> = {}): NamedTensors {
      return tf.tidy(() => {
        const outs = run(headFor(taps, false), x, o.training ?? false);
        const res: NamedTensors = {};
        taps.forEach((t, i) => (res[t] = outs[i]));
        return res;
      });
    },
    forwardFlops: countable
      ? ({ batch, upTo }: FlopShape) => {
          const layers = upTo === undefined ? model.layers : [...ancestors(checkTap(upTo))];
          return layers.reduce((s, l) => s + denseFlops(l, batch), 0);
        }
      : undefined,
    snapshot: () => snapshotOf(variables),
    load: (weights: NamedTensors) => loadInto(variables, weights, `layers model ${model.name}`),
    /** The adapter owns nothing: dispose the layers model itself when done with it. */
    dispose: () => heads.clear(),
  };
}
