/**
 * Numbers for people: sample counts ("88k", "2.49M") and durations ("2m29s"). Browser-safe (the
 * live page and the plots use them); progress.ts re-exports them.
 */
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
