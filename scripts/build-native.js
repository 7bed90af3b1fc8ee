#!/usr/bin/env node
/**
 * Builds the native kernel library (native/kernels.cc -> native/build/Release/cd_native.node) with
 * node-gyp against Debian's OpenBLAS. `npm ci` runs it through the `install` script with --optional:
 * a failed build prints why and what to install, and the project then runs on pure wasm kernels.
 * `npm run build:native` runs it without --optional (a failure is an error); so does
 * `npx curriculum-distill build-native` in an app that installed the package: the build for apps
 * whose install ran no dependency scripts (ignore-scripts, pnpm, npm's allowScripts; npm 11.19 still
 * runs this one, with a warning that allowScripts does not cover it).
 *
 * node-gyp is the one npm ships (npm puts it on PATH for scripts and names it in
 * npm_config_node_gyp); Node's headers come from npm's `nodedir` setting or the node-gyp cache.
 */
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const optional = process.argv.includes("--optional");
const root = path.join(__dirname, "..");
const dir = path.join(root, "native");

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  return candidates.find((p) => p && fs.existsSync(p)) ?? null;
}

function fail(why) {
  const hint = "the native kernels need g++, make, python3 and OpenBLAS's headers: apt-get install -y g++ make python3 libopenblas-dev";
  if (optional) {
    process.stderr.write(`curriculum-distill: native kernels not built (${why}); running on pure wasm kernels. To build them: ${hint}, then npx curriculum-distill build-native (npm run build:native in its repository)\n`);
    process.exit(0);
  }
  process.stderr.write(`build-native: ${why}\n${hint}\n`);
  process.exit(1);
}

if (process.env.CD_NATIVE === "0") {
  process.stderr.write("curriculum-distill: CD_NATIVE=0, native kernels not built\n");
  process.exit(0);
}
const gyp = nodeGyp();
if (gyp === null) fail("node-gyp not found");
if (!fs.existsSync("/usr/include/x86_64-linux-gnu/cblas.h") && !fs.existsSync("/usr/include/cblas.h") && !fs.existsSync("/usr/include/openblas/cblas.h")) {
  fail("OpenBLAS headers (cblas.h) not found");
}
const args = [gyp, "rebuild", "--directory", dir];
if (!process.env.npm_config_nodedir && fs.existsSync("/usr/include/node/node_api.h")) args.push("--nodedir=/usr");
const t0 = Date.now();
const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
if (r.status !== 0) {
  const tail = `${r.stdout}\n${r.stderr}`.trim().split("\n").filter((l) => !/^gyp info/.test(l)).slice(-8).join("\n");
  fail(`node-gyp exited ${r.status}:\n${tail}`);
}
process.stderr.write(`curriculum-distill: native kernels built in ${((Date.now() - t0) / 1000).toFixed(1)} s (${path.relative(root, path.join(dir, "build", "Release", "cd_native.node"))})\n`);
