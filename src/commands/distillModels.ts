/**
 * The models of `curriculum-distill distill`: a saved TensorFlow.js layers model read from disk and
 * checked, and a student of the teacher's architecture at another width.
 *
 * Distillation matches logits. A Keras-style classifier ends in softmax (a layer with
 * `activation: "softmax"`, or an Activation/Softmax layer): `fromLayersModel` detects it and trains
 * on its pre-activation, so the model is used as saved, and a student built from the teacher's
 * architecture keeps the softmax when it is written back. Any other output activation (sigmoid,
 * relu, ...) is refused here: those outputs are not class logits.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../config";
import { softmaxOutput } from "../models/layers";
import { fileHandler } from "../models/layersIo";

/** A layer entry of a model's Keras-format topology (the fields read and edited here). */
interface LayerJson {
  class_name: string;
  config: { name?: string; units?: number; [k: string]: unknown };
  [k: string]: unknown;
}

interface TopologyJson {
  class_name: string;
  config: { name?: string; layers: LayerJson[]; [k: string]: unknown };
  [k: string]: unknown;
}

/** The model.json of a path that names the file or its folder. */
export function modelJsonPath(file: string): string {
  return fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, "model.json") : file;
}

/**
 * Load a layers model from disk and check its output: one input and one output, logits or softmax.
 * A missing, unreadable or unsupported model is a ConfigError naming `flag` and the file.
 */
export async function loadModel(flag: string, file: string): Promise<tf.LayersModel> {
  const json = modelJsonPath(file);
  if (!fs.existsSync(json)) throw new ConfigError(flag, file, `no such model (${json} does not exist)`);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(fileHandler(`file://${json}`));
  } catch (e) {
    throw new ConfigError(flag, file, `not a TensorFlow.js layers model: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
  }
  const refuse = (why: string): never => {
    model.dispose();
    throw new ConfigError(flag, file, why);
  };
  if (model.inputs.length !== 1 || model.outputs.length !== 1) refuse(`has ${model.inputs.length} inputs and ${model.outputs.length} outputs (one of each is supported)`);
  const last = model.outputs[0].sourceLayer;
  const act = (last.getConfig() as { activation?: unknown }).activation;
  if (softmaxOutput(model) === null && act !== undefined && act !== "linear") {
    refuse(`its output layer "${last.name}" applies ${JSON.stringify(act)}: distillation needs class logits (a linear or softmax output)`);
  }
  return model;
}

/** Whether the model's output applies softmax (reported in summary.json). */
export function hasSoftmax(model: tf.LayersModel): boolean {
  return softmaxOutput(model) !== null;
}

/**
 * A student of the teacher's architecture with every hidden Dense layer `width` units wide (the last
 * Dense layer, which makes the logits, keeps its width; a softmax stays), freshly initialised. A
 * teacher without hidden Dense layers is refused.
 */
export async function studentOfWidth(teacher: tf.LayersModel, width: number, file: string): Promise<tf.LayersModel> {
  const topology = JSON.parse(teacher.toJSON(null, true) as string) as TopologyJson;
  const dense = topology.config.layers.flatMap((l, i) => (l.class_name === "Dense" ? [i] : []));
  const hidden = new Set(dense.slice(0, -1));
  if (hidden.size === 0) throw new ConfigError("--student-width", width, `the teacher ${file} has no hidden Dense layer to resize (give a --student model instead)`);
  const layers = topology.config.layers.map((l, i) => (hidden.has(i) ? { ...l, config: { ...l.config, units: width } } : l));
  const student: TopologyJson = { ...topology, config: { ...topology.config, name: `${topology.config.name ?? "model"}_student`, layers } };
  return tf.models.modelFromJSON({ modelTopology: student } as unknown as tf.io.ModelJSON);
}

/** Save a model to `dir` as a layers model (model.json + weights.bin). */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fileHandler(`file://${dir}`));
}
