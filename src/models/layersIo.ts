/**
 * `model.save("file://dir")` and `tf.loadLayersModel("file://dir/model.json")` in Node without
 * @tensorflow/tfjs-node (whose install downloads libtensorflow and fails here; it is what normally
 * provides file://). The files are the ones tfjs-node writes and every tfjs loader reads:
 * `model.json` (topology + weights manifest) and `weights.bin`, so a student saved here loads in a
 * browser page (served over http) or under tfjs-node unchanged.
 *
 * Hand-written because TensorFlow.js ships no Node file handler outside tfjs-node; it is only the
 * two small functions tf.io asks for, on top of tf.io's own artifact helpers.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic, writeJsonAtomic } from "../io";

const SCHEME = "file://";

/** The directory of a file:// URL ("file:///a/b" or "file://a/b/model.json" -> "/a/b", "a/b"). */
function dirOf(url: string): { dir: string; json: string } {
  let p = url.slice(SCHEME.length);
  if (p === "") throw new Error(`file:// handler: no path in "${url}"`);
  if (p.endsWith(".json")) return { dir: path.dirname(p), json: p };
  p = p.replace(/\/+$/, "");
  return { dir: p, json: path.join(p, "model.json") };
}

/** An IOHandler that saves to and loads from a folder. */
export function fileHandler(url: string): tf.io.IOHandler {
  const { dir, json } = dirOf(url);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error("file:// handler: binary topologies are not supported");
      fs.mkdirSync(dir, { recursive: true });
      const weightsFile = "weights.bin";
      const data = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      writeFileAtomic(path.join(dir, weightsFile), new Uint8Array(data));
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology!,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
      writeJsonAtomic(json, modelJson);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      if (!fs.existsSync(json)) throw new Error(`file:// handler: ${json} does not exist`);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(fs.readFileSync(json, "utf8")) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`file:// handler: ${json} is not valid JSON (${(e as Error).message})`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = manifest.flatMap((g) => g.weights);
        const buffers = manifest.flatMap((g) => g.paths.map((p) => {
          const b = fs.readFileSync(path.join(path.dirname(json), p));
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
        }));
        const expected = specs.reduce((s, w) => s + w.shape.reduce((a, d) => a * d, 1) * (w.dtype === "float32" || w.dtype === "int32" ? 4 : 1), 0);
        const data = tf.io.CompositeArrayBuffer.join(buffers);
        if (data.byteLength !== expected) throw new Error(`file:// handler: the weights of ${json} hold ${data.byteLength} bytes, the manifest says ${expected}`);
        return [specs, data];
      });
    },
  };
}

let registered = false;

/** Register the file:// handler with tf.io, unless one exists (tfjs-node registers its own). Idempotent. */
export function registerFileIo(): void {
  if (registered || tf.io.getSaveHandlers(`${SCHEME}probe`).length > 0) return;
  // A router answers null for URLs it does not handle (tf.io's own do too; IORouter's type omits it).
  const route = (url: string | string[]): tf.io.IOHandler => (typeof url === "string" && url.startsWith(SCHEME) ? fileHandler(url) : (null as never));
  tf.io.registerSaveRouter(route);
  tf.io.registerLoadRouter(route);
  registered = true;
}
