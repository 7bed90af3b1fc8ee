/**
 * Kernels per training step, by kind and by kernel name, as tf.profile counts them (the same
 * profiles as the bench's kernelsPerStep, src/bench/steps.ts), on one backend:
 *
 *   npx tsx scripts/kernel-counts.ts <backend> <section> [--small]     e.g. webgpu transformer, wasm mlm
 *
 * `--small` profiles the masked-LM section at a toy size with the same layers (within 0.3% of the full
 * size's kernels per step on the cpu composite; src/bench/steps.ts): what SwiftShader can count in minutes.
 *
 * `CD_NATIVE=0` with wasm gives the composite ops (the same kernels as the cpu backend, faster).
 */
import { initBackend } from "../src/backend";
import { SECTIONS, Section, profileSection } from "../src/bench/steps";

async function main(): Promise<void> {
  const [backend, section] = process.argv.slice(2).filter((a) => a !== "--small");
  const small = process.argv.includes("--small");
  if (!SECTIONS.includes(section as Section)) throw new Error(`section must be one of ${SECTIONS.join(", ")}, got "${section}"`);
  await initBackend(backend);
  await profileSection(
    section as Section,
    1000,
    true,
    (p) => {
      console.log(`${p.step}: ${p.kernels}${p.dispatches !== undefined ? ` (${p.dispatches} dispatches)` : ""}`);
      console.log(`   ${p.top.map((k) => `${k.kernel}:${k.calls}`).sort().join(" ")}`);
    },
    small,
  );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
