"""Writes docs/results/teacher-success.json (the README's teacher success table, rendered by
src/report/references.ts "teacher-success") from the JSON lines in docs/notes/teachers-data/ that rate.ts
(ours) and the peer (--teacher-only) printed; the commands are in docs/notes/teachers.md.

  python3 scripts/teacher-check/collect.py
"""
import glob, json, os, sys

sys.path.insert(0, os.path.dirname(__file__))
from table import read  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DATA = os.path.join(ROOT, "docs", "notes", "teachers-data")
OURS = "npx tsx scripts/teacher-check/rate.ts parity-transformer --preset {preset}{extra} --seeds S --teacher-extra-ckpts 0"
PEER = ("/usr/bin/python3 ../shared/peer/torch_transformer_parity.py --dt 64 --ht 8 --layers 2 --batch 64 --teacher-lr 1e-3 "
        "--teacher-extra 0 --ckpt-every 4096 --teacher-only --retrain --n {n} --k 3 --teacher-cap {cap} --n-test {test} --seeds S")
CONFIGS = [
    {"name": "main", "n": 20, "k": 3, "cap": 800000, "heldOut": 1024, "preset": "main", "extra": "", "files": "main"},
    {"name": "n12", "n": 12, "k": 3, "cap": 600000, "heldOut": 2048, "preset": "smoke", "extra": "", "files": "n12"},
    {"name": "n8", "n": 8, "k": 3, "cap": 300000, "heldOut": 2048, "preset": "smoke", "extra": " --n 8 --k 3 --teacher-max-samples 300000", "files": "n8"},
]
SEEDS = list(range(8))


def main():
    out = []
    for c in CONFIGS:
        ours = read(sorted(glob.glob(os.path.join(DATA, f"{c['files']}-ours*.jsonl"))), True)
        peer = read(sorted(glob.glob(os.path.join(DATA, f"{c['files']}-peer*.jsonl"))), False)
        out.append({
            "name": c["name"], "n": c["n"], "k": c["k"], "cap": c["cap"], "heldOut": c["heldOut"],
            "ours": [ours.get(s, "not run") for s in SEEDS],
            "peer": [peer.get(s, "not run") for s in SEEDS],
            "oursCommand": OURS.format(**c),
            "peerCommand": PEER.format(n=c["n"], cap=c["cap"], test=c["heldOut"]),
        })
    doc = {
        "command": "python3 scripts/teacher-check/collect.py (per-seed commands in each configuration; S = the seed)",
        "source": "JSON lines",
        "sourceNote": "docs/notes/teachers-data/*.jsonl, one initialisation per seed, samples to 99% held-out accuracy (null: missed within the cap)",
        "teacher": "2 x 64 / 8 heads, batch 64, Adam 1e-3",
        "seeds": SEEDS,
        "configurations": out,
    }
    path = os.path.join(ROOT, "docs", "results", "teacher-success.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
