/**
 * Issue 14 end to end: every attack of test/attacks.ts (bad input; corruption of every file kind in a
 * finished run, an interrupted run and a shared cache; kills at exact points between two writes;
 * two processes on one folder; a full disk and read-only mounts) ends in the uninterrupted run's
 * results or in one line naming the file or path with exit 2. An attack that cannot be set up here
 * (no tmpfs allowed) is skipped with its reason printed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { allAttacks } from "./attacks";

test("every adversarial attack is handled (tried / handled per category printed)", { timeout: 1_200_000 }, async () => {
  const counts = new Map<string, [number, number]>();
  const failures: string[] = [];
  for (const a of allAttacks()) {
    const r = await a.run();
    if (r?.startsWith("skip")) {
      if (r.length > 4) process.stdout.write(`# skipped ${a.category}: ${a.name} (${r})\n`);
      continue;
    }
    const c = counts.get(a.category) ?? [0, 0];
    c[0]++;
    if (r === null) c[1]++;
    else failures.push(`${a.category}: ${a.name}: ${r}`);
    counts.set(a.category, c);
  }
  for (const [k, [tried, handled]] of counts) process.stdout.write(`# ${k}: ${handled} of ${tried} handled\n`);
  assert.deepEqual(failures, []);
  assert.ok((counts.get("corruption")?.[0] ?? 0) >= 60, "the corruption matrix ran");
});
