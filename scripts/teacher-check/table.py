"""Markdown table of teacher samples-to-target per seed, ours against the peer's, from the JSON lines
that rate.ts (ours) and the peer scripts (--teacher-only / --cap 1) print. Lines that are not JSON
(the peer's --verbose progress) are skipped; a seed still running shows "running".

  python3 scripts/teacher-check/table.py --cap 800000 --ours a.jsonl [b.jsonl] --peer c.jsonl [d.jsonl] [--seeds 0-7]
"""
import argparse, json, statistics


def read(files, ours):
    out = {}
    for f in files:
        for line in open(f):
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if ours and "samplesToTarget" in r:
                out[r["seed"]] = r["samplesToTarget"]
            elif not ours and "teacher" in r:
                out[r["seed"]] = r["teacher"]["samples_to_99"]
    return out


def fmt(v, cap):
    return "running" if v == "running" else ("missed" if v is None else f"{v / 1000:.0f}k")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", nargs="+", required=True)
    ap.add_argument("--peer", nargs="+", required=True)
    ap.add_argument("--cap", type=float, required=True)
    ap.add_argument("--seeds", default="0-7")
    a = ap.parse_args()
    lo, hi = map(int, a.seeds.split("-"))
    seeds = list(range(lo, hi + 1))
    rows = {"ours": read(a.ours, True), "peer": read(a.peer, False)}
    print("| impl | " + " | ".join(f"seed {s}" for s in seeds) + " | reached | median (missed = cap) |")
    print("| --- " * (len(seeds) + 3) + "|")
    for name, r in rows.items():
        done = [r[s] for s in seeds if s in r]
        hit = [v for v in done if v is not None]
        med = statistics.median([a.cap if v is None else v for v in done]) if done else None
        medtxt = "" if med is None else (f"{med / 1000:.0f}k" if med < a.cap else "cap")
        cells = [fmt(r.get(s, "running"), a.cap) for s in seeds]
        print(f"| {name} | " + " | ".join(cells) + f" | {len(hit)}/{len(done)} | {medtxt} |")


if __name__ == "__main__":
    main()
