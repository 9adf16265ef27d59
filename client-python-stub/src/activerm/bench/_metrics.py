"""Held-out metrics in plain numpy (no scipy): Spearman, pairwise accuracy, best-of-N."""
from __future__ import annotations

import numpy as np

BEST_OF = (5, 10, 50, 100)


def rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a 1-D array, ties sharing their average rank (scipy's 'average')."""
    a = np.asarray(a)
    sorter = np.argsort(a, kind="mergesort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size)
    s = a[sorter]
    obs = np.r_[True, s[1:] != s[:-1]]
    dense = np.cumsum(obs)[inv]
    count = np.r_[np.nonzero(obs)[0], len(obs)]
    return 0.5 * (count[dense] + count[dense - 1] + 1)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (Pearson correlation of average ranks); 0 when either side is constant."""
    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    den = np.sqrt(np.dot(rx, rx) * np.dot(ry, ry))
    return float(np.dot(rx, ry) / den) if den > 0 else 0.0


def mean_spearman(pred: np.ndarray, gold: np.ndarray) -> float:
    """Mean over prompts (rows) of the per-prompt Spearman correlation."""
    return float(np.mean([spearman(p, g) for p, g in zip(pred, gold)]))


def pairwise_accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    """Over every pair of responses to the same held-out prompt whose golden rewards differ:
    the fraction the model orders like the golden reward (a predicted tie counts 1/2)."""
    m = pred.shape[1]
    iu, ju = np.triu_indices(m, 1)
    dg = np.sign(gold[:, iu] - gold[:, ju])
    dp = np.sign(pred[:, iu] - pred[:, ju])
    valid = dg != 0
    agree = np.where(dp == 0, 0.5, (dp == dg).astype(np.float64))
    return float(agree[valid].mean())


def best_of_n_subsets(num_prompts: int, m: int, draws: int, seed: int) -> dict[int, np.ndarray]:
    """For each N <= m: (num_prompts, draws, N) response indices, drawn once per world so every
    strategy is judged on the same subsets."""
    rng = np.random.default_rng([seed, 0xB0F])
    out = {}
    for n in BEST_OF:
        if n <= m:
            k = 1 if n == m else draws
            out[n] = np.stack([np.stack([rng.choice(m, size=n, replace=False) for _ in range(k)])
                               for _ in range(num_prompts)])
    return out


def best_of_n(pred: np.ndarray, gold: np.ndarray, subsets: dict[int, np.ndarray]) -> dict[int, float]:
    """Mean golden reward of the response the model ranks first among N (per prompt, per draw)."""
    out = {}
    rows = np.arange(pred.shape[0])[:, None, None]
    for n, idx in subsets.items():
        p = pred[rows, idx]  # (P, draws, N)
        best = np.argmax(p, axis=2)[..., None]
        out[n] = float(np.take_along_axis(gold[rows, idx], best, axis=2).mean())
    return out


# Two-sided 95% Student t quantiles t_{0.975, df} for df = 1..30 (standard tables); beyond
# 30 the normal 1.96 is within 2% of the t quantile.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def t975(df: int) -> float:
    if df < 1:
        raise ValueError(f"df is {df}; need >= 1")
    return _T975[df - 1] if df <= len(_T975) else 1.96


def paired_interval(d: np.ndarray) -> tuple[float, float, float, float]:
    """Per-seed paired differences -> (mean, sample std, 95% t-interval low, high); the
    interval is nan with fewer than 2 seeds."""
    d = np.asarray(d, dtype=np.float64)
    if d.size == 0:
        return (float("nan"),) * 4
    mean = float(d.mean())
    if d.size < 2:
        return mean, 0.0, float("nan"), float("nan")
    sd = float(d.std(ddof=1))
    half = t975(d.size - 1) * sd / np.sqrt(d.size)
    return mean, sd, mean - half, mean + half
