"""numpy (OpenBLAS) implementation of the same SelectBatch math on the data SelectBench wrote.

Usage: python select_bench.py DIR R P D B SMALL_P
"""
import sys, time
import numpy as np
import scipy.sparse as sp
import scipy.linalg as sla

d_, R, P, D, B, SP = sys.argv[1], *map(int, sys.argv[2:7])
X = np.fromfile(f"{d_}/x.f32", dtype="<f4").reshape(R, D)
c = np.fromfile(f"{d_}/cand.i32", dtype="<i4"); a, b = c[:P], c[P:]
l = np.fromfile(f"{d_}/lab.i32", dtype="<i4"); la, lb = l[: l.size // 2], l[l.size // 2 :]
w = np.fromfile(f"{d_}/w.f64", dtype="<f8").astype(np.float32)
lam = 1.0

def prep(a, b):
    rows, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    ia, ib = inv[: a.size], inv[a.size :]
    phi = X[rows]
    phi = phi - phi.mean(0)
    return phi, ia, ib

def var(phi, ia, ib):
    r = phi @ w
    p = 1 / (1 + np.exp(-(r[ia] - r[ib]).astype(np.float64)))
    return p * (1 - p)

def lap_fisher(phi, ia, ib, v):
    T = phi.shape[0]
    A = sp.coo_matrix((v.astype(np.float32), (ia, ib)), shape=(T, T)).tocsr()
    A = A + A.T
    deg = np.asarray(A.sum(1)).ravel().astype(np.float32)
    Y = deg[:, None] * phi - A @ phi
    F = (phi.T @ Y).astype(np.float64)
    return 0.5 * (F + F.T)

def pair_quad(psi, ia, ib, chunk=100_000):
    q = np.empty(ia.size)
    for s in range(0, ia.size, chunk):
        z = psi[ia[s : s + chunk]] - psi[ib[s : s + chunk]]
        q[s : s + chunk] = np.einsum("ij,ij->i", z, z)
    return q

def whiten(phi, M):
    L = np.linalg.cholesky(M).astype(np.float32)
    return sla.solve_triangular(L, phi.T, lower=True, check_finite=False).T.copy()

def labeled_info():
    phi, ia, ib = prep(la, lb)
    return lap_fisher(phi, ia, ib, var(phi, ia, ib)) + lam * np.eye(D)

def topb(s, k):
    idx = np.argpartition(-s, k)[:k]
    return idx[np.lexsort((idx, -s[idx]))]

def dopt(a, b, past):
    phi, ia, ib = prep(a, b)
    v = var(phi, ia, ib)
    F = lap_fisher(phi, ia, ib, v)
    if past:
        F = F + labeled_info() - lam * np.eye(D)
    F += 1e-6 * np.trace(F) / D * np.eye(D)
    psi = whiten(phi, F)
    return topb(v * pair_quad(psi, ia, ib), B)

def greedy(a, b):
    M0 = labeled_info()
    phi, ia, ib = prep(a, b)
    v = var(phi, ia, ib)
    psi = whiten(phi, M0)
    quad = pair_quad(psi, ia, ib)
    gain = v * quad
    chosen, gs, cs = [], [], []
    for step in range(B):
        k = int(np.argmax(gain))
        chosen.append(k)
        if step == B - 1:
            break
        u = (psi[ia[k]] - psi[ib[k]]).astype(np.float64)
        g = u.copy()
        for gi, ci in zip(gs, cs):
            g -= ci * (gi @ u) * gi
        cc = v[k] / (1 + v[k] * (u @ g))
        gs.append(g); cs.append(cc)
        t = psi @ g.astype(np.float32)
        dd = t[ia] - t[ib]
        quad = np.maximum(0, quad - cc * dd * dd)
        gain = v * quad
        gain[chosen] = -np.inf
    return np.array(chosen)

def paper(a, b):
    """The paper's formulation: explicit z, a P x h x h tensor, top-k of the log-det gradient."""
    Xa = X[a] - X[b]
    r = Xa @ w
    p = 1 / (1 + np.exp(-r.astype(np.float64)))
    v = (p * (1 - p)).astype(np.float32)
    T = np.einsum("pi,pj->pij", Xa * v[:, None], Xa)
    F = T.sum(0).astype(np.float64)
    F += 1e-6 * np.trace(F) / D * np.eye(D)
    Minv = np.linalg.inv(F).astype(np.float32)
    grad = np.einsum("ij,pij->p", Minv, T)
    return topb(grad.astype(np.float64), B)

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
res, _ = timed("DOPT", lambda: dopt(a, b, False)); same("DOPT", res)
res, _ = timed("PAST_AWARE_DOPT", lambda: dopt(a, b, True)); same("PAST_AWARE_DOPT", res)
res, _ = timed("GREEDY_DOPT", lambda: greedy(a, b)); same("GREEDY_DOPT", res)
sa, sb = a[:SP], b[:SP]
res, tp = timed(f"paper P={SP}", lambda: paper(sa, sb), reps=1); same("DOPT_small", res)
res, tn = timed(f"DOPT P={SP}", lambda: dopt(sa, sb, False), reps=3); same("DOPT_small", res)
