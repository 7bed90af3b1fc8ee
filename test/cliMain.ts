/** The CLI from the source (no dist/ build): `node --import tsx test/cliMain.ts <args>`, for tests. */
import { main } from "../src/cli";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`curriculum-distill: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
