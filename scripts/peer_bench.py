#!/usr/bin/python3
"""PyTorch side of `npm run bench`: per-step milliseconds of the same training steps the project
benchmarks, computed with the PyTorch peers' own models and losses (../shared/peer/*.py, imported,
not copied), one thread.

  /usr/bin/python3 scripts/peer_bench.py --peer ../shared/peer [--sections mlp,transformer,mlm,paper] [--effort 1]

Prints one JSON object: {"torch": version, "threads": 1, "mlp": {...}, "transformer": {...}, "mlm": {...}}
with, per section, teacherStepMs, oneshotStepMs (teacher forward included), scratchStepMs and
tapStepMs (one per tap phase: the teacher's forward up to the tapped block, then the student's
forward up to its block, backward and optimiser step), the keys the project's bench uses.

Shapes (as the project's bench): mlp = parity main (n 50, teacher 1000, student 20, batch 32, SGD);
paper = the papers' scale (n 100, teacher 50,000, student 100, batch 1, SGD 0.005; students also at batch 32;
  the batch-1 one-shot and tap steps with the teacher's targets computed 32 batches at a time, as our loop
  does, and under "alone" one batch at a time);
transformer = parity-transformer main (n 20, teacher 2 x 64 / 8 heads, student 2 x 16 / 2 heads,
batch 64, Adam); mlm = the reference (vocabulary 8000, sequences of 64, batch 64, teacher 4 x 128 / 4
heads, student 4 x 32 / 2 heads, AdamW with gradient clipping, layer-normalised tap targets).
"""
import argparse
import importlib.util
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F


def load(peer, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(peer, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def trunk_mlm(model, x, l):
    """torch_mlm.MLM's forward up to block l (its `upto` runs the head too when l is the last block)."""
    h = model.tok(x) + model.pos[:x.shape[1]]
    for b in model.blocks[:l]:
        h = b(h)
    return h


def trunk_parity(model, x, l):
    """torch_transformer_parity.TF's forward up to block l, without the head."""
    h = model.tok(x) + model.pos
    for b in model.blocks[:l]:
        h, _ = b(h)
    return h


def timed(step, effort, min_s=1.0, warmup=3, max_iters=20000):
    for _ in range(warmup):
        step()
    n, t0 = 0, time.perf_counter()
    while n < 5 or (time.perf_counter() - t0 < min_s * effort and n < max_iters):
        step()
        n += 1
    return round(1000 * (time.perf_counter() - t0) / n, 4)


def bench_mlp(peer, effort, n=50, k=5, W=1000, w=20, B=32, lr=0.1, student_batches=(), ahead=1):
    P = load(peer, "torch_parity")
    gen = torch.Generator().manual_seed(0)
    teacher = P.req(P.init_mlp(gen, n, W, "cpu"))
    student = P.req(P.init_mlp(gen, n, w, "cpu"))
    frozen = {kk: v.detach() for kk, v in teacher.items()}
    proj = torch.randn((w, W), generator=gen) / math.sqrt(W)

    def teacher_step():
        x, y = P.batch(gen, B, n, k, "cpu")
        P.sgd(teacher, F.cross_entropy(P.logits(teacher, x), y), lr, list(teacher))

    def scratch_step(b=B):
        x, y = P.batch(gen, b, n, k, "cpu")
        P.sgd(student, F.cross_entropy(P.logits(student, x), y), lr, list(student))

    def oneshot_step(b=B):
        x, _ = P.batch(gen, b, n, k, "cpu")
        with torch.no_grad():
            target = torch.softmax(P.logits(frozen, x), 1)
        loss = -(target * torch.log_softmax(P.logits(student, x), 1)).sum(1).mean()
        P.sgd(student, loss, lr, list(student))

    def tap_step(b=B):
        x, _ = P.batch(gen, b, n, k, "cpu")
        with torch.no_grad():
            z = P.hidden(frozen, x) @ proj.T
        P.sgd(student, ((P.hidden(student, x) - z) ** 2).sum(1).mean(), lr / 2, ["W1", "b1"])

    def targets_ahead(target_of, train, b=B):
        """Steps as our loop takes them (src/train/ahead.ts): the frozen teacher's targets for `ahead`
        batches in one call, then one student step per batch."""
        queue = []

        def step():
            if not queue:
                xs = [P.batch(gen, b, n, k, "cpu")[0] for _ in range(ahead)]
                with torch.no_grad():
                    ts = target_of(torch.cat(xs)).split(b)
                queue.extend(zip(xs, ts))
            x, t = queue.pop(0)
            train(x, t)
        return step

    def oneshot_train(x, target):
        loss = -(target * torch.log_softmax(P.logits(student, x), 1)).sum(1).mean()
        P.sgd(student, loss, lr, list(student))

    def tap_train(x, z):
        P.sgd(student, ((P.hidden(student, x) - z) ** 2).sum(1).mean(), lr / 2, ["W1", "b1"])

    if ahead > 1:
        out = {"teacherStepMs": timed(teacher_step, effort),
               "oneshotStepMs": timed(targets_ahead(lambda x: torch.softmax(P.logits(frozen, x), 1), oneshot_train), effort),
               "scratchStepMs": timed(scratch_step, effort),
               "tapStepMs": [timed(targets_ahead(lambda x: P.hidden(frozen, x) @ proj.T, tap_train), effort)],
               "alone": {"oneshotStepMs": timed(oneshot_step, effort), "tapStepMs": [timed(tap_step, effort)]}}
    else:
        out = {"teacherStepMs": timed(teacher_step, effort), "oneshotStepMs": timed(oneshot_step, effort),
               "scratchStepMs": timed(scratch_step, effort), "tapStepMs": [timed(tap_step, effort)]}
    for sb in student_batches:
        out[f"batch{sb}"] = {"oneshotStepMs": timed(lambda: oneshot_step(sb), effort), "scratchStepMs": timed(lambda: scratch_step(sb), effort),
                             "tapStepMs": [timed(lambda: tap_step(sb), effort)]}
    return out


def bench_paper(peer, effort):
    """The papers' scale (the `paper` preset): n 100, k 6, teacher 50,000, student 100, batch 1, SGD 0.005;
    the students' steps also at the preset's student batch (32)."""
    return bench_mlp(peer, effort, n=100, k=6, W=50000, w=100, B=1, lr=0.005, student_batches=(32,), ahead=32)


def bench_transformer(peer, effort):
    P = load(peer, "torch_transformer_parity")
    a = argparse.Namespace(n=20, k=3, dt=64, ht=8, ds=16, hs=2, layers=2, ratio=4, causal=False, pool="last")
    B = 64
    gen = torch.Generator().manual_seed(1)
    teacher, student = P.make(a, "teacher", 0), P.make(a, "student", 1)
    frozen = P.make(a, "teacher", 0).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    t_opt = torch.optim.Adam(teacher.parameters(), lr=1e-3)
    s_opt = torch.optim.Adam(student.parameters(), lr=1e-3)

    def teacher_step():
        x, y = P.batch(gen, B, a.n, a.k)
        loss = F.cross_entropy(teacher.logits(x), y)
        t_opt.zero_grad(set_to_none=True); loss.backward(); t_opt.step()

    def scratch_step():
        x, y = P.batch(gen, B, a.n, a.k)
        loss = F.cross_entropy(student.logits(x), y)
        s_opt.zero_grad(set_to_none=True); loss.backward(); s_opt.step()

    def oneshot_step():
        x, _ = P.batch(gen, B, a.n, a.k)
        with torch.no_grad():
            tl = frozen.logits(x)
        loss = P.kd_loss(student.logits(x), tl)
        s_opt.zero_grad(set_to_none=True); loss.backward(); s_opt.step()

    def tap_step_for(l):
        proj = torch.randn(a.ds, a.dt, generator=gen) / math.sqrt(a.dt)
        params = [student.tok.weight, student.pos] + [p for b in student.blocks[:l] for p in b.parameters()]
        opt = torch.optim.Adam(params, lr=1e-3)

        def step():
            x, _ = P.batch(gen, B, a.n, a.k)
            with torch.no_grad():
                z = trunk_parity(frozen, x, l) @ proj.T
            loss = ((trunk_parity(student, x, l) - z) ** 2).sum(-1).mean()
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        return step

    return {"teacherStepMs": timed(teacher_step, effort), "oneshotStepMs": timed(oneshot_step, effort),
            "scratchStepMs": timed(scratch_step, effort), "tapStepMs": [timed(tap_step_for(l), effort) for l in (1, 2)]}


def bench_mlm(peer, effort):
    P = load(peer, "torch_mlm")
    V, T, B = 8000, 64, 64
    gen = torch.Generator().manual_seed(2)
    torch.manual_seed(0)
    teacher, student = P.MLM(V, T, 128, 4, 4), P.MLM(V, T, 32, 4, 2)
    frozen = P.MLM(V, T, 128, 4, 4).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    t_opt, s_opt = P.make_opt(teacher, 2e-3, 0.01), P.make_opt(student, 3e-3, 0.01)
    data = torch.randint(len(P.SPECIALS), V, (512, T), generator=gen)
    data[:, 0] = P.CLS
    stream = P.batch_stream(data, B, V, seed=3)

    def train(model, opt, loss):
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    def teacher_step():
        x, sel, y = next(stream)
        P.set_lr(t_opt, 1e-3)
        logits, _ = teacher(x, sel)
        train(teacher, t_opt, F.cross_entropy(logits, y))

    def scratch_step():
        x, sel, y = next(stream)
        P.set_lr(s_opt, 1e-3)
        logits, _ = student(x, sel)
        train(student, s_opt, F.cross_entropy(logits, y))

    def oneshot_step():
        x, sel, _ = next(stream)
        with torch.no_grad():
            p_t = F.softmax(frozen(x, sel)[0], -1)
        P.set_lr(s_opt, 1e-3)
        logits, _ = student(x, sel)
        train(student, s_opt, P.soft_ce(logits, p_t))

    def tap_step_for(l):
        proj = torch.randn(32, 128, generator=gen) / math.sqrt(128)

        def step():
            x, _, _ = next(stream)
            with torch.no_grad():
                hT = trunk_mlm(frozen, x, l)
                target = F.layer_norm(hT, hT.shape[-1:]) @ proj.t()
            P.set_lr(s_opt, 1e-3)
            train(student, s_opt, (trunk_mlm(student, x, l) - target).pow(2).sum(-1).mean())
        return step

    mlm_effort = 2 * effort
    return {"teacherStepMs": timed(teacher_step, mlm_effort, warmup=2), "oneshotStepMs": timed(oneshot_step, mlm_effort, warmup=2),
            "scratchStepMs": timed(scratch_step, mlm_effort, warmup=2),
            "tapStepMs": [timed(tap_step_for(l), mlm_effort, warmup=2) for l in (1, 2, 3, 4)]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "peer"))
    ap.add_argument("--sections", default="mlp,transformer,mlm")
    ap.add_argument("--effort", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = {"torch": torch.__version__, "threads": a.threads}
    fns = {"mlp": bench_mlp, "transformer": bench_transformer, "mlm": bench_mlm, "paper": bench_paper}
    for s in a.sections.split(","):
        out[s] = fns[s](a.peer, a.effort)
        print(f"peer_bench: {s} {json.dumps(out[s])}", file=sys.stderr, flush=True)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
