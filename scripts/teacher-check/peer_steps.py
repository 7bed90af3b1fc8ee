"""Replay our teacher's first steps in the PyTorch peer (scripts/teacher-check/dump.ts writes the input).

Loads our initial weights into the peer's TF model (../shared/peer/torch_transformer_parity.py), trains it
on exactly our batches with the peer's optimiser (AdamW, wd 0), and prints both losses per step.
--gelu tanh swaps the peer's exact GELU for the tanh form our model uses, so the two compute the same
function and any divergence is a difference in the code, not the activation.

  /usr/bin/python3 scripts/teacher-check/peer_steps.py /tmp/tcheck.json [--gelu tanh|exact] [--every 10]
"""
import argparse, importlib.util, json, os, sys
import torch
import torch.nn.functional as F

PEER = os.environ.get("PEER", "/work/shared/peer/torch_transformer_parity.py")


def load_peer():
    spec = importlib.util.spec_from_file_location("peer", PEER)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--gelu", default="tanh", choices=["tanh", "exact"])
    ap.add_argument("--every", type=int, default=10)
    a = ap.parse_args()
    d = json.load(open(a.file))
    c = d["config"]
    peer = load_peer()
    if a.gelu == "tanh":
        exact = F.gelu
        peer.F.gelu = lambda x: exact(x, approximate="tanh")
    torch.set_num_threads(1)
    model = peer.TF(c["n"], c["d"], c["h"], c["L"], c["ratio"], False, "last")
    sd = model.state_dict()
    missing = set(sd) - set(d["init"])
    if missing:
        sys.exit(f"missing weights: {sorted(missing)}")
    model.load_state_dict({k: torch.tensor(v["data"], dtype=torch.float32).view(v["shape"]) for k, v in d["init"].items()})
    opt = torch.optim.AdamW(model.parameters(), lr=c["lr"], weight_decay=0.0)
    B, n = c["batch"], c["n"]
    worst, peer_losses = 0.0, []
    for s, b in enumerate(d["batches"]):
        x = torch.tensor(b["tok"], dtype=torch.long).view(B, n)
        y = torch.tensor(b["y"], dtype=torch.long)
        loss = F.cross_entropy(model.logits(x), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        ours = d["losses"][s]
        peer_losses.append(round(loss.item(), 7))
        worst = max(worst, abs(ours - loss.item()))
        if s % a.every == 0 or s == len(d["batches"]) - 1:
            print(f"step {s:5d}  peer {loss.item():.6f}  ours {ours:.6f}  diff {ours - loss.item():+.2e}")
    print(json.dumps({"steps": len(d["batches"]), "max_abs_loss_diff": worst, "peer_losses": peer_losses}))


if __name__ == "__main__":
    main()
