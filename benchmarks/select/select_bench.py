"""numpy (OpenBLAS) implementation of the same SelectBatch math on the data SelectBench wrote.

Usage: python select_bench.py DIR R P D B SMALL_P
"""
import sys
import time

import numpy as np

import numpy_select as ns

d_, R, P, D, B, SP = sys.argv[1], *map(int, sys.argv[2:7])
X = np.fromfile(f"{d_}/x.f32", dtype="<f4").reshape(R, D)
c = np.fromfile(f"{d_}/cand.i32", dtype="<i4"); a, b = c[:P], c[P:]
l = np.fromfile(f"{d_}/lab.i32", dtype="<i4"); la, lb = l[: l.size // 2], l[l.size // 2:]
w = np.fromfile(f"{d_}/w.f64", dtype="<f8").astype(np.float32)
r = X @ w
lam = 1.0


def past():
    return ns.labeled_fisher(X, r, la, lb, np.ones(la.size))


def timed(name, f, reps=2):
    best = 1e99
    for _ in range(reps):
        t = time.perf_counter(); res = f(); best = min(best, time.perf_counter() - t)
    print(f"numpy {name:16s} {best*1000:8.0f} ms (best of {reps})")
    return res, best


def same(name, got):
    ref = np.fromfile(f"{d_}/java_{name}.i32", dtype="<i4")
    print(f"  chosen set equal to java {name}: {set(ref.tolist()) == set(got.tolist())} "
          f"(order equal: {ref.tolist() == got.tolist()})")


print(f"numpy {np.__version__}: R={R} P={P} D={D} B={B}")
res, _ = timed("DOPT", lambda: ns.dopt(X, r, a, b, B)); same("DOPT", res)
res, _ = timed("PAST_AWARE_DOPT", lambda: ns.dopt(X, r, a, b, B, past=past())); same("PAST_AWARE_DOPT", res)
res, _ = timed("GREEDY_DOPT", lambda: ns.greedy(X, r, a, b, B, past() + lam * np.eye(D))); same("GREEDY_DOPT", res)
sa, sb = a[:SP], b[:SP]
res, tp = timed(f"paper P={SP}", lambda: ns.paper(X, r, sa, sb, B), reps=1); same("DOPT_small", res)
res, tn = timed(f"DOPT P={SP}", lambda: ns.dopt(X, r, sa, sb, B), reps=3); same("DOPT_small", res)
