/**
 * The page's presets, built on the CLI's parity presets (imported, never copied): "main" is the
 * CLI's main preset (the README's headline), "quick" the CLI's smoke preset (the browser test runs
 * it). `overrides` would hold any change the page needs to a CLI preset, with its reason: none so far.
 */
import { PARITY_PRESETS, ParityConfig } from "../../src/experiments/parityExperiment";

export type PagePresetName = "quick" | "main";

export interface PagePreset {
  /** The CLI preset the values start from (recorded as the config's `preset`). */
  base: string;
  /** Changes to it, each with its reason. */
  overrides: Partial<ParityConfig>;
  /** One line for the page. */
  about: string;
}

export const PAGE_PRESETS: Record<PagePresetName, PagePreset> = {
  quick: {
    base: "smoke",
    overrides: {},
    about: "the CLI's smoke preset (n = 50, k = 4): about a minute on a CPU",
  },
  main: { base: "main", overrides: {}, about: "the CLI's main preset (the README's headline: n = 50, k = 5): about two minutes on a CPU" },
};

/** The values the page's controls show for a preset (the CLI preset's own, then the page's changes). */
export function presetValues(name: PagePresetName): Partial<ParityConfig> {
  const p = PAGE_PRESETS[name];
  return { ...PARITY_PRESETS[p.base], ...p.overrides };
}
