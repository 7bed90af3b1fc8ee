#!/usr/bin/env node
// Entry point of the CLI: runs the compiled library (npm ci runs `prepare`, which builds dist/).
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const cli = path.join(__dirname, "..", "dist", "cli.js");
if (!fs.existsSync(cli)) {
  process.stderr.write("curriculum-distill: dist/ is missing; run `npm run build` (npm ci does it) first\n");
  process.exit(2);
}
require(cli).main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`curriculum-distill: ${err?.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
