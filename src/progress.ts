/**
 * Progress output for long runs: one live line on a terminal (method, seed, samples, accuracy,
 * rate, ETA), plain lines when not a TTY. Written to stderr so stdout stays machine-readable.
 */
export class Progress {
  private readonly tty: boolean;
  private lastPlain = 0;
  private lastLen = 0;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainEverySeconds = 15,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** A transient status line (overwritten on a terminal, rate-limited otherwise). */
  update(text: string): void {
    if (this.quiet) return;
    if (this.tty) {
      const pad = Math.max(0, this.lastLen - text.length);
      this.stream.write(`\r${text}${" ".repeat(pad)}`);
      this.lastLen = text.length;
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain >= this.plainEverySeconds * 1000) {
      this.lastPlain = now;
      this.stream.write(`${text}\n`);
    }
  }

  /** A permanent line. */
  line(text: string): void {
    if (this.quiet) return;
    if (this.tty && this.lastLen > 0) {
      this.stream.write(`\r${" ".repeat(this.lastLen)}\r`);
      this.lastLen = 0;
    }
    this.stream.write(`${text}\n`);
  }
}

export function fmtSamples(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return "-";
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 1 : 2)}M`;
  if (x >= 1e3) return `${Math.round(x / 1e3)}k`;
  return String(Math.round(x));
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, "0")}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
