/**
 * The WGSL kernels' version (src/kernels/webgpu/index.ts, WGSL_VERSION) is part of the webgpu backend's
 * identity: cached teachers and resumed runs are keyed by it. This pins it to a hash of the shader sources,
 * so that a change to them cannot keep the old version by accident.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { WGSL_VERSION } from "../src/kernels/webgpu";

// version -> sha256 of src/kernels/webgpu/*.ts (sorted by name, each "name\n" + text).
const PINNED: Record<number, string> = {
  1: "936bbc6d74fab32075d1bf07967a2a91029eeda30d924c0734be39c148ab2325",
};

test("WGSL_VERSION matches the shader sources (after changing a shader, bump WGSL_VERSION and pin the new hash here)", () => {
  const dir = path.join(__dirname, "..", "src", "kernels", "webgpu");
  const hash = createHash("sha256");
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".ts")).sort()) {
    let text = fs.readFileSync(path.join(dir, f), "utf8");
    // The version line itself is not part of what it versions.
    text = text.replace(/export const WGSL_VERSION = \d+;/, "");
    hash.update(`${f}\n${text}`);
  }
  const now = hash.digest("hex");
  assert.equal(
    PINNED[WGSL_VERSION],
    now,
    `src/kernels/webgpu changed (sha256 ${now}) but WGSL_VERSION is still ${WGSL_VERSION}: if what a shader computes changed, bump WGSL_VERSION and add the hash under the new version here; if not (a comment, a rename), put the new hash under ${WGSL_VERSION}`,
  );
});
