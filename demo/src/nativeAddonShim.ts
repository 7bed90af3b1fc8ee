/**
 * The browser's stand-in for src/kernels/addon.ts, put in its place by demo/build.ts (an esbuild
 * alias). The native kernel library is an N-API addon that only Node can load (and the real module
 * reads the file system to find it), so in a page it is "not available": the library then takes its
 * pure TensorFlow.js paths, exactly as in Node when the addon is not built.
 */
import type { NativeAddon } from "../../src/kernels/addon";

export type { NativeAddon };

export const ADDON_PATH = "";

export function nativeAddon(): NativeAddon | null {
  return null;
}

export function nativeUnavailableReason(): string {
  return "not available in a browser";
}
