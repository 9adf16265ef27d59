"""numpy references for the congruence tests, written from DESIGN.md ("Math"), not from the
server's code: the penalised Bradley–Terry fit, the Laplace posterior, and the scores of
the Fisher-based selection strategies. Everything is float64 on small explicit inputs, so
each reference is exact up to float64 rounding.

Conventions (DESIGN.md): LINEAR head, phi(x) = x. For a pair k = (a, b): z_k = x_a - x_b,
p_k = sigma(w^T z_k), v_k = p_k (1 - p_k). F(S) = sum_{k in S} v_k z_k z_k^T. Labeled
comparisons enter F(labeled) with their loss weight (weight_k v_k z_k z_k^T: the Hessian of
the weighted objective, which is also the Laplace posterior precision); pending pairs
(chosen, not yet labeled) enter with weight 1.
"""
from __future__ import annotations

import numpy as np

OUTCOME_TARGET = {"a": 1.0, "b": 0.0, "tie": 0.5}


def sigmoid(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    return np.where(s >= 0, 1.0 / (1.0 + np.exp(-np.abs(s))), np.exp(-np.abs(s)) / (1.0 + np.exp(-np.abs(s))))


def bt_loss(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """BCE(sigma(s), y) = -y log sigma(s) - (1 - y) log sigma(-s), stable for large |s|."""
    log_sig = -np.logaddexp(0.0, -s)
    log_sig_neg = -np.logaddexp(0.0, s)
    return -y * log_sig - (1.0 - y) * log_sig_neg


def fit_linear_bt(z: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float,
                  tol: float = 1e-12, max_iter: int = 100) -> np.ndarray:
    """argmin_w sum_k weight_k BCE(sigma(w^T z_k), y_k) + (l2 / 2) ||w||^2 by damped Newton."""
    w = np.zeros(z.shape[1])

    def objective(w):
        return float(np.sum(weight * bt_loss(z @ w, y)) + 0.5 * l2 * w @ w)

    for _ in range(max_iter):
        s = z @ w
        p = sigmoid(s)
        g = z.T @ (weight * (p - y)) + l2 * w
        if np.max(np.abs(g)) < tol:
            return w
        h = (z * (weight * p * (1 - p))[:, None]).T @ z + l2 * np.eye(z.shape[1])
        d = -np.linalg.solve(h, g)
        t, f0 = 1.0, objective(w)
        while objective(w + t * d) > f0 + 1e-4 * t * (g @ d) and t > 1e-12:
            t *= 0.5
        if objective(w + t * d) >= f0 and np.max(np.abs(g)) < 1e-9:
            # At the optimum to float64 rounding: the predicted decrease (~|g|^2) is below the
            # objective's rounding, so no step lowers it any more; w is within |g| / l2 of w*.
            return w
        w = w + t * d
    raise AssertionError(f"reference Newton did not converge in {max_iter} iterations")


def fisher(z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """sum_k v_k z_k z_k^T."""
    return (z * v[:, None]).T @ z


def bernoulli_variance(w: np.ndarray, z: np.ndarray) -> np.ndarray:
    p = sigmoid(z @ w)
    return p * (1 - p)


def posterior_precision(w: np.ndarray, z_labeled: np.ndarray, weight: np.ndarray, l2: float) -> np.ndarray:
    """lambda I + F(labeled), labeled comparisons weighted by their loss weight."""
    return l2 * np.eye(len(w)) + fisher(z_labeled, weight * bernoulli_variance(w, z_labeled))


def quad_forms(m: np.ndarray, z: np.ndarray) -> np.ndarray:
    """z_k^T M^-1 z_k for every row of z."""
    return np.einsum("kh,kh->k", z, np.linalg.solve(m, z.T).T)


def design_scores(strategy: str, w: np.ndarray | None, z_cand: np.ndarray,
                  m_labeled_without_ridge: np.ndarray | None = None, ridge: float | None = None) -> np.ndarray:
    """Per-candidate scores of OLS_DOPT, DOPT and PAST_AWARE_DOPT (DESIGN.md table):

    OLS_DOPT         z_k^T (eps I + sum_cand z z^T)^-1 z_k
    DOPT             v_k z_k^T (eps I + F(cand))^-1 z_k
    PAST_AWARE_DOPT  v_k z_k^T (eps I + F(cand) + F(labeled))^-1 z_k

    eps defaults to 1e-6 * trace / h of the matrix it is added to (DESIGN.md: "default
    1e-6 * trace / h"). m_labeled_without_ridge is F(labeled) (no lambda) for PAST_AWARE_DOPT.
    """
    h = z_cand.shape[1]
    v = np.ones(len(z_cand)) if strategy == "ols_dopt" else bernoulli_variance(w, z_cand)
    m = fisher(z_cand, v)
    if strategy == "past_aware_dopt":
        m = m + m_labeled_without_ridge
    eps = 1e-6 * np.trace(m) / h if ridge is None else ridge
    return v * quad_forms(m + eps * np.eye(h), z_cand)


def greedy_dopt(w: np.ndarray, z_cand: np.ndarray, m_labeled: np.ndarray, batch: int):
    """GREEDY_DOPT from its definition: B times, take argmax_k v_k z_k^T M^-1 z_k over the
    candidates not yet taken, then M += v_k z_k z_k^T (M starts at lambda I + F(labeled)).
    Each step solves with the updated M directly (no rank-one tricks). Returns (indices,
    scores, gaps): gaps[i] is (best - runner-up) / best at step i, to show the choice is
    not a near-tie."""
    v = bernoulli_variance(w, z_cand)
    m = m_labeled.copy()
    taken: list[int] = []
    scores: list[float] = []
    gaps: list[float] = []
    for _ in range(batch):
        gain = v * quad_forms(m, z_cand)
        gain[taken] = -np.inf
        order = np.argsort(-gain, kind="stable")
        k = int(order[0])
        runner_up = gain[order[1]] if len(order) > 1 and np.isfinite(gain[order[1]]) else 0.0
        taken.append(k)
        scores.append(float(gain[k]))
        gaps.append(float((gain[k] - runner_up) / gain[k]))
        m = m + v[k] * np.outer(z_cand[k], z_cand[k])
    return taken, np.array(scores), np.array(gaps)


def top_b(scores: np.ndarray, batch: int):
    """Indices of the B best scores, best first, and the relative gap between the B-th and
    the (B+1)-th best and between consecutive chosen ones (to rule out near-ties)."""
    order = np.argsort(-scores, kind="stable")
    chosen = order[:batch]
    ranked = scores[order[:batch + 1]]
    scale = np.max(np.abs(ranked))
    gaps = np.diff(-ranked) / scale
    return [int(i) for i in chosen], gaps


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation for values without ties."""
    rx = np.argsort(np.argsort(x)).astype(np.float64)
    ry = np.argsort(np.argsort(y)).astype(np.float64)
    rx -= rx.mean()
    ry -= ry.mean()
    return float(rx @ ry / np.sqrt((rx @ rx) * (ry @ ry)))
