/**
 * Builds the live page into demo/dist/ (or --out DIR): index.html, app.js (esbuild: demo/src/main.ts
 * and the library's src/ modules it imports, Plotly and TensorFlow.js, one classic script so that the
 * page also opens from file://) and wasm/ (the wasm backend's binaries, fetched at run time, and
 * inline.js, the same as base64 for a page opened from file://).
 *
 *   tsx demo/build.ts [--out DIR] [--no-minify]
 *
 * Node-only code must not reach the bundle. One library module the page needs mixes it in:
 * src/kernels/addon.ts (the N-API addon, found on the file system) sits under every op through
 * src/kernels/native.ts, so it is aliased to demo/src/nativeAddonShim.ts (the addon is "not
 * available", as in Node when it is not built). Any other import of a Node built-in from src/ or
 * demo/ fails the build, and so does any bundled module on the list below.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";

const ROOT = path.resolve(__dirname, "..");
const NODE_BUILTIN = /^(node:.*|fs|path|os|child_process|worker_threads|crypto|url|util|stream|events|http|https|net|zlib|readline|module)$/;
/** Library modules that are Node-only (files, threads, terminals): never in the page. */
const NODE_ONLY = ["src/backend.ts", "src/io.ts", "src/progress.ts", "src/kernels/addon.ts", "src/experiments/engine.ts", "src/experiments/teachers.ts", "src/train/run.ts", "src/train/state.ts", "src/train/checkpoints.ts", "src/experiments/results.ts"];

function parseArgs(argv: string[]): { out: string; minify: boolean } {
  let out = path.join(ROOT, "demo", "dist");
  let minify = true;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") out = path.resolve(argv[++i] ?? "");
    else if (argv[i] === "--no-minify") minify = false;
    else throw new Error(`demo/build.ts: unknown argument "${argv[i]}" (expected --out DIR, --no-minify)`);
  }
  return { out, minify };
}

const browserOnly: esbuild.Plugin = {
  name: "browser-only",
  setup(build) {
    const shim = path.join(ROOT, "demo", "src", "nativeAddonShim.ts");
    build.onResolve({ filter: /\/kernels\/addon$|^\.\/addon$/ }, (a) =>
      a.importer.startsWith(path.join(ROOT, "src")) && path.resolve(a.resolveDir, a.path) === path.join(ROOT, "src", "kernels", "addon") ? { path: shim } : undefined,
    );
    build.onResolve({ filter: NODE_BUILTIN }, (a) => {
      const ours = a.importer.startsWith(path.join(ROOT, "src")) || a.importer.startsWith(path.join(ROOT, "demo"));
      return ours ? { errors: [{ text: `${path.relative(ROOT, a.importer)} imports the Node built-in "${a.path}": the page must import only browser-safe modules` }] } : undefined;
    });
  },
};

export async function buildDemo(out: string, minify = true): Promise<{ bytes: number; inputs: string[] }> {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, "wasm"), { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(ROOT, "demo", "src", "main.ts")],
    outfile: path.join(out, "app.js"),
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2020",
    minify,
    sourcemap: "linked",
    metafile: true,
    legalComments: "external",
    define: { "process.env.NODE_ENV": '"production"' },
    plugins: [browserOnly],
    logLevel: "warning",
  });
  const inputs = Object.keys(result.metafile.inputs);
  const leaked = inputs.filter((f) => NODE_ONLY.includes(f) || /node_modules\/(log-update|csv-stringify|webgpu|@tensorflow\/tfjs-node)/.test(f));
  if (leaked.length) throw new Error(`demo/build.ts: Node-only modules reached the bundle: ${leaked.join(", ")}`);
  fs.copyFileSync(path.join(ROOT, "demo", "index.html"), path.join(out, "index.html"));
  const wasmDir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith(".wasm"))) fs.copyFileSync(path.join(wasmDir, f), path.join(out, "wasm", f));
  // From file:// a browser fetches nothing, so the page reads the binaries from a classic script
  // (demo/src/backend.ts); the threaded build needs cross-origin isolation, never given to file://.
  const inline = Object.fromEntries(["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm"].map((f) => [f, fs.readFileSync(path.join(wasmDir, f)).toString("base64")]));
  fs.writeFileSync(path.join(out, "wasm", "inline.js"), `window.cdWasmInline = ${JSON.stringify(inline)};\n`);
  return { bytes: fs.statSync(path.join(out, "app.js")).size, inputs };
}

if (require.main === module) {
  const { out, minify } = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  buildDemo(out, minify).then(
    ({ bytes, inputs }) => {
      const lib = inputs.filter((f) => f.startsWith("src/")).length;
      console.log(`demo: built ${path.relative(process.cwd(), out) || "."}/ (app.js ${(bytes / 2 ** 20).toFixed(1)} MiB, ${lib} library modules from src/) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    },
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
