/**
 * Packages the core library does not need: loaded at their point of use, never when the library
 * itself loads. `require("curriculum-distill")` loads TensorFlow.js and small dependencies only
 * (test/pack.test.ts checks it); tables (danfojs), HTML figures (plotly), the Brown corpus, WebGPU
 * (webgpu + @tensorflow/tfjs-backend-webgpu) and native TensorFlow are optional peer dependencies of
 * the package, and using one that is absent is one line naming the package to install.
 */

/** An optional package is not installed. The message is one line naming it and the install command. */
export class MissingPackageError extends Error {
  constructor(
    readonly packageName: string,
    readonly purpose: string,
  ) {
    super(`${purpose} needs the npm package "${packageName}", which is not installed: npm install ${packageName}`);
    this.name = "MissingPackageError";
  }
}

/** Whether `name` (a package or a file inside one) resolves from this library. */
export function hasPackage(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** `require.resolve(name)`, or a MissingPackageError naming `pkg` when it is not installed. */
export function resolveOptional(name: string, pkg: string, purpose: string): string {
  try {
    return require.resolve(name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") throw new MissingPackageError(pkg, purpose);
    throw e;
  }
}

/** `require(name)`, or a MissingPackageError when the package is not installed (other load errors pass through). */
export function requireOptional<T>(name: string, purpose: string, pkg = name): T {
  resolveOptional(name, pkg, purpose);
  return require(name) as T;
}
