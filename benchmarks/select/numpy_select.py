"""numpy (OpenBLAS) reference implementation of activerm's Fisher-design SelectBatch math.

Shared by select_bench.py (data written by the in-process Java bench) and client_bench.py
(data uploaded to a running server). LINEAR head: phi = x, rewards r = x . w.
"""
import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp


def topb(s, k):
    """The k largest scores, best first, ties by index (as the server breaks them)."""
    idx = np.argpartition(-s, k)[:k]
    return idx[np.lexsort((idx, -s[idx]))]


def prep(X, a, b):
    """Touched rows (centred features) and each pair's local endpoints."""
    rows, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    ia, ib = inv[: a.size], inv[a.size:]
    phi = X[rows]
    phi = phi - phi.mean(0)
    return rows, phi, ia, ib


def bt_var(r, a, b):
    """v = sigma(r_a - r_b)(1 - sigma(r_a - r_b)), float64."""
    p = 1 / (1 + np.exp(-(r[a] - r[b]).astype(np.float64)))
    return p * (1 - p)


def lap_fisher(phi, ia, ib, v, dtype=np.float32):
    """sum_k v_k (phi_a - phi_b)(phi_a - phi_b)^T as phi^T L phi, L the weighted graph Laplacian.
    dtype float32 is the fast form activerm ran before issue 12 (its rounding can make F
    indefinite at h = 512); float64 is the math activerm runs now (F accumulated in double)."""
    t = phi.shape[0]
    A = sp.coo_matrix((v.astype(dtype), (ia, ib)), shape=(t, t)).tocsr()
    A = A + A.T
    deg = np.asarray(A.sum(1)).ravel().astype(dtype)
    phi = phi.astype(dtype, copy=False)
    Y = deg[:, None] * phi - A @ phi
    F = (phi.T @ Y).astype(np.float64)
    return 0.5 * (F + F.T)


def pair_quad(psi, ia, ib, chunk=100_000):
    """||psi_a - psi_b||^2 per pair, chunked so no P x h array exists."""
    q = np.empty(ia.size)
    for s in range(0, ia.size, chunk):
        z = psi[ia[s: s + chunk]] - psi[ib[s: s + chunk]]
        q[s: s + chunk] = np.einsum("ij,ij->i", z, z)
    return q


def whiten(phi, M):
    """psi = L^-1 phi (rows), M = L L^T."""
    L = np.linalg.cholesky(M).astype(np.float32)
    return sla.solve_triangular(L, phi.T, lower=True, check_finite=False).T.copy()


def labeled_fisher(X, r, la, lb, lw):
    """F(labeled) = sum_j w_j v_j z_j z_j^T (comparison weights included)."""
    _, phi, ia, ib = prep(X, la, lb)
    return lap_fisher(phi, ia, ib, lw * bt_var(r, la, lb))


def _ridge(F):
    D = F.shape[0]
    return F + 1e-6 * np.trace(F) / D * np.eye(D)


def dopt(X, r, a, b, B, past=None, f_dtype=np.float32):
    """DOPT (past=None) or PAST_AWARE_DOPT (past = F(labeled)): top-B of v_k z_k^T M^-1 z_k."""
    _, phi, ia, ib = prep(X, a, b)
    v = bt_var(r, a, b)
    F = lap_fisher(phi, ia, ib, v, f_dtype)
    if past is not None:
        F = F + past
    psi = whiten(phi, _ridge(F))
    return topb(v * pair_quad(psi, ia, ib), B)


def greedy(X, r, a, b, B, M0):
    """GREEDY_DOPT from M0 = l2 I + F(labeled): B Sherman-Morrison steps, one GEMV each."""
    _, phi, ia, ib = prep(X, a, b)
    v = bt_var(r, a, b)
    psi = whiten(phi, M0)
    return _greedy_picks(psi, ia, ib, v, pair_quad(psi, ia, ib), B, lambda z: z.copy())


def _greedy_picks(rows, ia, ib, v, quad, B, m0_inv):
    """The Sherman-Morrison picks both greedy forms share: rows are the candidates' endpoint
    features (psi whitened, or raw phi), quad z^T M0^-1 z per candidate, m0_inv z -> M0^-1 z."""
    gain = v * quad
    chosen, gs, cs = [], [], []
    for step in range(B):
        k = int(np.argmax(gain))
        chosen.append(k)
        if step == B - 1:
            break
        z = (rows[ia[k]] - rows[ib[k]]).astype(np.float64)
        g = m0_inv(z)
        for gi, ci in zip(gs, cs):
            g -= ci * (gi @ z) * gi
        cc = v[k] / (1 + v[k] * (z @ g))
        gs.append(g)
        cs.append(cc)
        t = rows @ g.astype(np.float32)
        dd = t[ia] - t[ib]
        quad = np.maximum(0, quad - cc * dd * dd)
        gain = v * quad
        gain[chosen] = -np.inf
    return np.array(chosen)


def paper(X, r, a, b, B, past=None):
    """The paper's formulation: explicit z_k, a P x h x h tensor of v_k z_k z_k^T, top-B of the
    log-det gradient trace(M^-1 v_k z_k z_k^T). Needs P * h * h * 4 bytes."""
    Z = X[a] - X[b]
    v = bt_var(r, a, b).astype(np.float32)
    T = np.einsum("pi,pj->pij", Z * v[:, None], Z)
    F = T.sum(0).astype(np.float64)
    if past is not None:
        F = F + past
    Minv = np.linalg.inv(_ridge(F)).astype(np.float32)
    grad = np.einsum("ij,pij->p", Minv, T)
    return topb(grad.astype(np.float64), B)


def greedy_woodbury(X, r, a, b, B, la, lb, lw, lam):
    """GREEDY_DOPT as activerm runs it when few pairs are labeled: M0 = lam I + Y^T Y by
    Woodbury (Y rows sqrt(w v) z_j, n x h), no h x h matrix; Sherman-Morrison steps in raw
    coordinates, one GEMV each. Same math as greedy(X, r, a, b, B, lam I + F(labeled))."""
    _, phl, ila, ilb = prep(X, la, lb)
    Y = (phl[ila] - phl[ilb]).astype(np.float64) * np.sqrt(lw * bt_var(r, la, lb))[:, None]
    n = Y.shape[0]
    C = np.linalg.cholesky(lam * np.eye(n) + Y @ Y.T)
    Q = sla.solve_triangular(C, Y, lower=True, check_finite=False)  # n x h
    _, phi, ia, ib = prep(X, a, b)
    v = bt_var(r, a, b)
    W = phi.astype(np.float64) @ Q.T
    quad = np.maximum(0, pair_quad(phi, ia, ib) - pair_quad(W, ia, ib)) / lam
    return _greedy_picks(phi, ia, ib, v, quad, B, lambda z: (z - Q.T @ (Q @ z)) / lam)
