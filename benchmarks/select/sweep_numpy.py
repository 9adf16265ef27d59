"""One strategy of the sweep in numpy on the data SelectBench wrote (one process per strategy,
so /usr/bin/time gives its peak RSS). Usage: python sweep_numpy.py DIR R P D B STRATEGY [REPS]
STRATEGY: DOPT, PAST_AWARE_DOPT (F in float32, as activerm before issue 12), DOPT_F64,
PAST_AWARE_DOPT_F64 (F accumulated in float64, the math activerm runs now), GREEDY_DOPT (whitened, numpy_select.greedy) or
GREEDY_DOPT_WOODBURY (numpy_select.greedy_woodbury). Prints one line: name ms same-set."""
import sys
import time

import numpy as np

import numpy_select as ns

d_, R, P, D, B, name = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6]
X = np.fromfile(f"{d_}/x.f32", dtype="<f4").reshape(R, D)
c = np.fromfile(f"{d_}/cand.i32", dtype="<i4"); a, b = c[:P], c[P:]
l = np.fromfile(f"{d_}/lab.i32", dtype="<i4"); la, lb = l[: l.size // 2], l[l.size // 2:]
w = np.fromfile(f"{d_}/w.f64", dtype="<f8").astype(np.float32)
lw = np.ones(la.size)
lam = 1.0


def run():
    r = X @ w
    if name == "DOPT":
        return ns.dopt(X, r, a, b, B)
    if name == "PAST_AWARE_DOPT":
        return ns.dopt(X, r, a, b, B, past=ns.labeled_fisher(X, r, la, lb, lw))
    if name == "DOPT_F64":
        return ns.dopt(X, r, a, b, B, f_dtype=np.float64)
    if name == "PAST_AWARE_DOPT_F64":
        return ns.dopt(X, r, a, b, B, past=ns.labeled_fisher(X, r, la, lb, lw), f_dtype=np.float64)
    if name == "GREEDY_DOPT":
        return ns.greedy(X, r, a, b, B, ns.labeled_fisher(X, r, la, lb, lw) + lam * np.eye(D))
    if name == "GREEDY_DOPT_WOODBURY":
        return ns.greedy_woodbury(X, r, a, b, B, la, lb, lw, lam)
    sys.exit(f"unknown strategy {name}")


ms = float("inf")
for _ in range(int(sys.argv[7]) if len(sys.argv) > 7 else 1):
    t0 = time.perf_counter()
    res = run()
    ms = min(ms, (time.perf_counter() - t0) * 1000)
java = np.fromfile(f"{d_}/java_{name.replace('_WOODBURY', '').replace('_F64', '')}.i32", dtype="<i4")
print(f"numpy {name} {ms:.0f} ms same_set={set(java.tolist()) == set(res.tolist())}")
