/**
 * `curriculum-distill build-native`: builds the optional native kernel library (native/kernels.cc,
 * with node-gyp and OpenBLAS) inside the installed package: `npx curriculum-distill build-native`
 * from an app. The package's install script tries the same build, but installs that run no
 * dependency scripts (ignore-scripts, pnpm, npm's allowScripts) skip it, and a build that failed for
 * want of OpenBLAS's headers is retried here once they are installed. Exit code: the build script's.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

/** The package's build script (scripts/build-native.js, shipped in the tarball). */
export const BUILD_SCRIPT = path.join(__dirname, "..", "..", "scripts", "build-native.js");

export async function buildNativeCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(
      "usage: curriculum-distill build-native\n\nBuilds the native kernels (needs g++, make, python3 and OpenBLAS's headers: apt-get install -y g++ make python3 libopenblas-dev).\nFrom an app: npx curriculum-distill build-native\n",
    );
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`curriculum-distill: invalid argument: ${JSON.stringify(argv[0])} (build-native takes no options)\n`);
    return 2;
  }
  const r = spawnSync(process.execPath, [BUILD_SCRIPT], { stdio: "inherit" });
  return r.status ?? 1;
}
