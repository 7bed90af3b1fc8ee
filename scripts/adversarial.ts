/**
 * Issue 14's adversarial run: every attack of test/attacks.ts, with the counts tried / handled per
 * category (a skipped attack, e.g. no tmpfs allowed, is listed and not counted).
 *
 *   npx tsx scripts/adversarial.ts [--only SUBSTRING]
 */
import { allAttacks } from "../test/attacks";

async function main(): Promise<void> {
  const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : "";
  const counts = new Map<string, { tried: number; handled: number; skipped: number }>();
  const t0 = Date.now();
  for (const a of allAttacks().filter((x) => x.name.includes(only) || x.category === only)) {
    const c = counts.get(a.category) ?? { tried: 0, handled: 0, skipped: 0 };
    counts.set(a.category, c);
    const r = await a.run();
    if (r?.startsWith("skip")) {
      c.skipped++;
      console.log(`skip  ${a.category}: ${a.name}${r.length > 4 ? ` (${r})` : ""}`);
      continue;
    }
    c.tried++;
    if (r === null) c.handled++;
    console.log(`${r === null ? "ok   " : "FAIL "} ${a.category}: ${a.name}${r ? `: ${r}` : ""}`);
  }
  console.log("\ncategory      tried  handled  skipped");
  for (const [k, c] of counts) console.log(`${k.padEnd(12)} ${String(c.tried).padStart(6)} ${String(c.handled).padStart(8)} ${String(c.skipped).padStart(8)}`);
  console.log(`(${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
