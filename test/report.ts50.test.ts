/**
 * Notebooks compile with tslab's own TypeScript 5.0.4, against the library's .d.ts: the report and
 * notebook helpers they import must stay within TS 5.0 (checked here in seconds, before any notebook runs).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

test("src/report/* type-checks with tslab's TypeScript 5.0.4", () => {
  const root = path.join(__dirname, "..");
  const tsc = path.join(root, "node_modules", "@tslab", "typescript-for-tslab", "lib", "tsc.js");
  const files = fs.readdirSync(path.join(root, "src", "report")).filter((f) => f.endsWith(".ts")).map((f) => path.join("src", "report", f));
  const r = spawnSync(
    process.execPath,
    [tsc, "--noEmit", "--strict", "--target", "es2020", "--module", "commonjs", "--moduleResolution", "node", "--esModuleInterop", "--skipLibCheck", "--types", "node", ...files, "src/types/jstat.d.ts"],
    { cwd: root, encoding: "utf8" },
  );
  assert.match(spawnSync(process.execPath, [tsc, "--version"], { encoding: "utf8" }).stdout, /Version 5\.0\.4/);
  assert.equal(r.status, 0, `tsc 5.0.4:\n${r.stdout}${r.stderr}`);
});
