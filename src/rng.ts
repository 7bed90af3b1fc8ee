/**
 * Seeded random streams. Every random draw in the project (data, held-out sets, initialisation,
 * projections, masking) comes from a `Rng` derived from the run's seed and a purpose label, so two
 * purposes never share numbers and adding a new draw somewhere never shifts another stream.
 */
import seedrandom from "seedrandom";

/** A stream's exact position: alea's internal state plus Box-Muller's cached twin. */
export interface RngState {
  seed: string;
  alea: { c: number; s0: number; s1: number; s2: number };
  spare: number | null;
}

export class Rng {
  private gen: seedrandom.StatefulPRNG<seedrandom.State.Alea>;
  constructor(readonly seed: string) {
    this.gen = seedrandom.alea(seed, { state: true });
  }

  /** The stream's position (plain JSON; numbers round-trip exactly through JSON). */
  state(): RngState {
    const alea = this.gen.state() as RngState["alea"];
    return { seed: this.seed, alea: { c: alea.c, s0: alea.s0, s1: alea.s1, s2: alea.s2 }, spare: this.spare };
  }

  /** Move this stream to a saved position of the same stream (same seed label). */
  restore(s: RngState): void {
    if (!s || s.seed !== this.seed) throw new Error(`rng: state of stream ${JSON.stringify(s?.seed)} given to stream ${JSON.stringify(this.seed)}`);
    const a = s.alea;
    if (!a || ![a.c, a.s0, a.s1, a.s2].every((x) => typeof x === "number" && Number.isFinite(x))) throw new Error(`rng: malformed state for stream ${JSON.stringify(this.seed)}`);
    if (s.spare !== null && typeof s.spare !== "number") throw new Error(`rng: malformed spare for stream ${JSON.stringify(this.seed)}`);
    this.gen = seedrandom.alea("", { state: { ...a } as seedrandom.State.Alea });
    this.spare = s.spare;
  }

  /** A child stream, independent of this one's position: `derive("init")`, `derive("data", 3)`. */
  derive(...labels: Array<string | number>): Rng {
    return new Rng(`${this.seed}/${labels.join("/")}`);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.gen();
  }

  /** 32 random bits as an unsigned integer. */
  uint32(): number {
    return this.gen.int32() >>> 0;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.gen() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.gen();
  }

  /** Standard normal by Box-Muller (one value per call; the pair's twin is cached). */
  private spare: number | null = null;
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.gen();
    const v = this.gen();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fill a new Float32Array with U[lo, hi). */
  uniformArray(size: number, lo: number, hi: number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = lo + (hi - lo) * this.gen();
    return out;
  }

  /** Fill a new Float32Array with N(0, std^2). */
  normalArray(size: number, std: number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = std * this.normal();
    return out;
  }

  /** A uniformly random subset of {0..n-1} of size k, sorted. */
  subset(n: number, k: number): number[] {
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, k).sort((a, b) => a - b);
  }
}

/** The root stream of a run. */
export function rootRng(seed: number): Rng {
  return new Rng(`curriculum-distill:${seed}`);
}
