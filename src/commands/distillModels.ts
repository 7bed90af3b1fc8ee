/**
 * The models of `curriculum-distill distill`: a saved TensorFlow.js layers model read from disk, its
 * output made logits, a student of the teacher's architecture at another width, and the trained
 * student written back as a layers model with the teacher's output activation.
 *
 * Distillation matches logits. A Keras-style classifier ends in softmax (a Dense layer with
 * `activation: "softmax"`, or a trailing Softmax/Activation layer in a Sequential model): the command
 * trains on a copy whose output is linear (the same weights: its outputs are the logits the softmax
 * normalises) and saves the student with the softmax put back, so it predicts as the teacher does.
 * Any other output activation (sigmoid, relu, ...) is refused: those outputs are not class logits.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../config";
import { fileHandler } from "../models/layersIo";

/** A layer entry of a model's Keras-format topology (the fields read and edited here). */
interface LayerJson {
  class_name: string;
  name?: string;
  config: { name?: string; units?: number; activation?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface TopologyJson {
  class_name: string;
  config: { name?: string; layers: LayerJson[]; output_layers?: unknown[]; [k: string]: unknown };
  [k: string]: unknown;
}

/** A model prepared for distillation: `model` outputs logits; `softmax` says whether the saved model applied softmax. */
export interface LogitsModel {
  model: tf.LayersModel;
  /** The topology of `model` (linear output), for building students of the same architecture. */
  topology: TopologyJson;
  /** The original output applied softmax (put back when saving a student). */
  softmax: boolean;
}

/** The model.json of a path that names the file or its folder. */
export function modelJsonPath(file: string): string {
  return fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, "model.json") : file;
}

/** Load a layers model from disk; a missing or unreadable model is a ConfigError naming `flag` and the file. */
export async function loadModel(flag: string, file: string): Promise<tf.LayersModel> {
  const json = modelJsonPath(file);
  if (!fs.existsSync(json)) throw new ConfigError(flag, file, `no such model (${json} does not exist)`);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(fileHandler(`file://${json}`));
  } catch (e) {
    throw new ConfigError(flag, file, `not a TensorFlow.js layers model: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    model.dispose();
    throw new ConfigError(flag, file, `has ${model.inputs.length} inputs and ${model.outputs.length} outputs (one of each is supported)`);
  }
  return model;
}

function topologyOf(model: tf.LayersModel): TopologyJson {
  return JSON.parse(model.toJSON(null, true) as string) as TopologyJson;
}

function layerName(l: LayerJson): string | undefined {
  return l.config.name ?? l.name;
}

/** Build a fresh model from a topology (new initial weights), optionally taking `weights`. */
async function build(topology: TopologyJson, weights?: tf.Tensor[]): Promise<tf.LayersModel> {
  const m = await tf.models.modelFromJSON({ modelTopology: topology } as unknown as tf.io.ModelJSON);
  if (weights) m.setWeights(weights);
  return m;
}

/**
 * The model with its output as logits: unchanged when the output is linear; a copy without the
 * final softmax otherwise (the input model is then disposed). `flag`/`file` name it in errors.
 */
export async function asLogits(flag: string, file: string, model: tf.LayersModel): Promise<LogitsModel> {
  const topology = topologyOf(model);
  const layers = topology.config.layers;
  const outName = model.outputs[0].sourceLayer.name;
  const i = layers.findIndex((l) => layerName(l) === outName);
  const out = layers[i];
  if (out === undefined) throw new ConfigError(flag, file, `output layer "${outName}" not found in its topology`);
  const act = out.config.activation;
  const trailingSoftmax = out.class_name === "Softmax" || (out.class_name === "Activation" && act === "softmax");
  if (trailingSoftmax) {
    if (topology.class_name !== "Sequential" || i !== layers.length - 1 || i === 0) {
      throw new ConfigError(
        flag,
        file,
        `ends in a separate softmax layer ("${outName}"): supported in Sequential models only; put the softmax into the last Dense layer or remove it`,
      );
    }
    const linear: TopologyJson = { ...topology, config: { ...topology.config, layers: layers.slice(0, -1) } };
    const copy = await build(linear, model.getWeights());
    model.dispose();
    return { model: copy, topology: linear, softmax: true };
  }
  if (act === undefined || act === "linear") return { model, topology, softmax: false };
  if (act !== "softmax") throw new ConfigError(flag, file, `its output layer "${outName}" applies "${act}": distillation needs class logits (a linear or softmax output)`);
  const linear = editLayer(topology, i, { activation: "linear" });
  const copy = await build(linear, model.getWeights());
  model.dispose();
  return { model: copy, topology: linear, softmax: true };
}

function editLayer(topology: TopologyJson, index: number, config: Record<string, unknown>): TopologyJson {
  const layers = topology.config.layers.map((l, j) => (j === index ? { ...l, config: { ...l.config, ...config } } : l));
  return { ...topology, config: { ...topology.config, layers } };
}

/**
 * A student of the teacher's architecture with every hidden Dense layer `width` units wide (the
 * output layer keeps its width), freshly initialised. A teacher without hidden Dense layers is refused.
 */
export async function studentOfWidth(teacher: LogitsModel, width: number, file: string): Promise<tf.LayersModel> {
  const outName = teacher.model.outputs[0].sourceLayer.name;
  let t = teacher.topology;
  let changed = 0;
  t.config.layers.forEach((l, i) => {
    if (l.class_name === "Dense" && layerName(l) !== outName) {
      t = editLayer(t, i, { units: width });
      changed++;
    }
  });
  if (changed === 0) throw new ConfigError("--student-width", width, `the teacher ${file} has no hidden Dense layer to resize (give a --student model instead)`);
  return build({ ...t, config: { ...t.config, name: `${t.config.name ?? "model"}_student` } });
}

/** Save `student` (logits) to `dir` as a layers model, with the softmax put back when `softmax`. */
export async function saveStudent(student: tf.LayersModel, softmax: boolean, dir: string): Promise<void> {
  if (!softmax) {
    await student.save(fileHandler(`file://${dir}`));
    return;
  }
  const topology = topologyOf(student);
  const outName = student.outputs[0].sourceLayer.name;
  const i = topology.config.layers.findIndex((l) => layerName(l) === outName);
  const withSoftmax = editLayer(topology, i, { activation: "softmax" });
  const copy = await build(withSoftmax, student.getWeights());
  try {
    await copy.save(fileHandler(`file://${dir}`));
  } finally {
    copy.dispose();
  }
}
