"""Congruence tests (qdrant-client style): the server's Fit, Score and Fisher-based
selections equal a numpy reference computed here (reference.py) from DESIGN.md's formulas,
on small explicit data so the reference is exact.

Tolerances:
- the LINEAR fit: both sides converge to the same strictly convex optimum; the server stops
  at gradient infinity norm <= 1e-8, so w agrees to 1e-5 relative (in the 2-norm);
- rewards, probabilities, stddevs: the server works in float64 on float32 embeddings (exact
  in float64), so 1e-9 relative given the recovered w, 1e-6 against the reference w;
- selection scores: the server keeps features and the whitened rows in float32, so 1e-4
  relative; the chosen pairs must be exactly the reference's, and the reference asserts its
  own choices are not near-ties (relative gap > 1e-3) so float32 cannot flip them.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import unique_id
from reference import (
    OUTCOME_TARGET,
    bernoulli_variance,
    bt_loss,
    design_scores,
    fisher,
    fit_linear_bt,
    greedy_dopt,
    posterior_precision,
    quad_forms,
    sigmoid,
    top_b,
)

SCORE_RTOL = 1e-4
GAP = 1e-3


class Data:
    """Responses (float32 embeddings) and weighted comparisons with ties."""

    def __init__(self, n: int, dim: int, m: int, seed: int, scale: float = 1.0) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.x = (scale * rng.standard_normal((n, dim))).astype(np.float32)
        self.ids = [f"r{i}" for i in range(n)]
        self.prompts = [f"p{i // 3}" for i in range(n)]
        teacher = rng.standard_normal(dim)
        self.a = rng.integers(0, n, m)
        self.b = (self.a + rng.integers(1, n, m)) % n
        p = sigmoid(self.z(self.a, self.b) @ teacher)
        self.outcomes = np.where(rng.random(m) < p, "a", "b").astype(object)
        self.outcomes[rng.random(m) < 0.15] = "tie"
        self.weights = rng.choice([1.0, 0.25, 3.0], m)
        self.y = np.array([OUTCOME_TARGET[o] for o in self.outcomes])

    def z(self, a, b) -> np.ndarray:
        x = self.x.astype(np.float64)
        return x[np.asarray(a)] - x[np.asarray(b)]

    def idx(self, rid: str) -> int:
        return int(rid[1:])

    def upload(self, client, l2: float):
        project = client.create_project(unique_id("cong"), embedding_dim=self.dim, l2=l2)
        project.add_responses(self.ids, self.prompts, self.x)
        project.add_comparisons([self.ids[i] for i in self.a], [self.ids[i] for i in self.b], list(self.outcomes),
                                weights=self.weights)
        return project


def recover_w(project, dim: int) -> np.ndarray:
    """The LINEAR head's w: the reward of the unit vector e_j is w_j (r = w^T x, no bias)."""
    return project.score(embeddings=np.eye(dim, dtype=np.float32))


@pytest.fixture
def projects(client):
    made = []
    yield made
    for p in made:
        p.delete()


@pytest.mark.parametrize(("l2", "seed"), [(1.0, 0), (0.05, 1), (10.0, 2)])
def test_linear_fit_equals_numpy_newton(client, projects, l2, seed):
    data = Data(n=20, dim=5, m=80, seed=seed)
    project = data.upload(client, l2)
    projects.append(project)
    report = project.fit()
    w_server = recover_w(project, data.dim)
    w_ref = fit_linear_bt(data.z(data.a, data.b), data.y, data.weights, l2)
    assert report.converged
    assert np.linalg.norm(w_server - w_ref) <= 1e-5 * np.linalg.norm(w_ref)
    # The reported loss is the mean weighted BT loss at the optimum (without the penalty).
    s = data.z(data.a, data.b) @ w_ref
    ref_loss = np.sum(data.weights * bt_loss(s, data.y)) / np.sum(data.weights)
    assert report.loss == pytest.approx(ref_loss, rel=1e-6)


def test_identity_probe_recovers_the_reward_function(client, projects):
    """The identity-matrix probe is only valid if r is linear without a bias: check it on
    random new embeddings."""
    data = Data(n=20, dim=7, m=50, seed=3)
    project = data.upload(client, 1.0)
    projects.append(project)
    project.fit()
    w = recover_w(project, data.dim)
    probe = np.random.default_rng(9).standard_normal((15, data.dim)).astype(np.float32)
    np.testing.assert_allclose(project.score(embeddings=probe), probe.astype(np.float64) @ w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(project.score(data.ids), data.x.astype(np.float64) @ w, rtol=1e-9, atol=1e-12)


def test_score_pairs_equal_the_laplace_reference(client, projects):
    data = Data(n=16, dim=4, m=40, seed=4)
    l2 = 0.5
    project = data.upload(client, l2)
    projects.append(project)
    project.fit()
    w = recover_w(project, data.dim)
    w_ref = fit_linear_bt(data.z(data.a, data.b), data.y, data.weights, l2)
    rng = np.random.default_rng(5)
    pa = rng.integers(0, 16, 30)
    pb = (pa + rng.integers(1, 16, 30)) % 16
    pairs = [(data.ids[i], data.ids[j]) for i, j in zip(pa, pb)]
    scored = project.score_pairs(pairs)

    z = data.z(pa, pb)
    m = posterior_precision(w_ref, data.z(data.a, data.b), data.weights, l2)
    np.testing.assert_allclose(scored.probabilities, sigmoid(z @ w_ref), rtol=1e-6)
    np.testing.assert_allclose(scored.reward_diff_stddevs, np.sqrt(quad_forms(m, z)), rtol=1e-6)
    # Given the server's own w the only difference left is rounding.
    m_w = posterior_precision(w, data.z(data.a, data.b), data.weights, l2)
    np.testing.assert_allclose(scored.probabilities, sigmoid(z @ w), rtol=1e-9)
    np.testing.assert_allclose(scored.reward_diff_stddevs, np.sqrt(quad_forms(m_w, z)), rtol=1e-9)


def test_score_uses_the_posterior_of_the_version_asked_for(client, projects):
    data = Data(n=12, dim=3, m=20, seed=6)
    project = data.upload(client, 1.0)
    projects.append(project)
    project.fit()
    w1 = recover_w(project, data.dim)
    project.add_comparisons(["r0", "r1", "r2"], ["r3", "r4", "r5"], ["a", "a", "b"])
    project.fit()
    scored = project.score_pairs([("r0", "r6"), ("r2", "r9")], model_version=1)
    z = data.z([0, 2], [6, 9])
    m1 = posterior_precision(w1, data.z(data.a, data.b), data.weights, 1.0)  # version 1 saw 20 comparisons
    np.testing.assert_allclose(scored.reward_diff_stddevs, np.sqrt(quad_forms(m1, z)), rtol=1e-9)
    np.testing.assert_allclose(scored.probabilities, sigmoid(z @ w1), rtol=1e-9)


# ---------------------------------------------------------------- selections

def labeled_pairs(data: Data) -> set[frozenset]:
    return {frozenset((int(i), int(j))) for i, j in zip(data.a, data.b)}


def explicit_candidates(data: Data, count: int, seed: int, avoid: set[frozenset]) -> list[tuple[int, int]]:
    """count distinct unordered pairs (random orientation) that are in no set of `avoid`."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, int]] = []
    seen = set(avoid)
    n = len(data.ids)
    while len(out) < count:
        i, j = (int(v) for v in rng.choice(n, 2, replace=False))
        if frozenset((i, j)) not in seen:
            seen.add(frozenset((i, j)))
            out.append((i, j))
    return out


def fitted(client, projects, data: Data, l2: float):
    project = data.upload(client, l2)
    projects.append(project)
    project.fit()
    return project, recover_w(project, data.dim)


def assert_same_choice(sel, data: Data, cand: list[tuple[int, int]], ref_idx, ref_scores, ref_gaps, what: str):
    assert np.all(ref_gaps > GAP), f"{what}: the reference has a near-tie ({ref_gaps}); pick other test data"
    got = [(data.idx(p.a_id), data.idx(p.b_id)) for p in sel.pairs]
    assert got == [cand[k] for k in ref_idx], what
    np.testing.assert_allclose(sel.scores, ref_scores, rtol=SCORE_RTOL, err_msg=what)


@pytest.mark.parametrize("strategy", ["dopt", "ols_dopt", "past_aware_dopt"])
def test_top_b_design_scores_equal_numpy(client, projects, strategy):
    """OLS_DOPT, DOPT and PAST_AWARE_DOPT on 24 explicit candidates: the server's top 5 and
    their scores are the reference's, with eps = 1e-6 * trace / h (the default ridge)."""
    data = Data(n=14, dim=4, m=30, seed=10)
    l2 = 0.7
    project, w = fitted(client, projects, data, l2)
    cand = explicit_candidates(data, 24, seed=11, avoid=labeled_pairs(data))
    # A labeled pair in the explicit list is dropped (labeled pairs are excluded by default).
    sent = cand[:7] + [(int(data.a[0]), int(data.b[0]))] + cand[7:]
    sel = project.select_batch(5, strategy=strategy, candidates=[(data.ids[i], data.ids[j]) for i, j in sent], seed=0)
    assert sel.num_candidates == 24 and sel.model_version == 1

    z = data.z([i for i, _ in cand], [j for _, j in cand])
    f_labeled = posterior_precision(w, data.z(data.a, data.b), data.weights, l2) - l2 * np.eye(data.dim)
    scores = design_scores(strategy, w, z, m_labeled_without_ridge=f_labeled)
    idx, gaps = top_b(scores, 5)
    assert_same_choice(sel, data, cand, idx, scores[idx], gaps, strategy)


def test_dopt_is_the_log_det_gradient(client, projects):
    """DESIGN.md: the DOPT score is d log det(eps I + sum_k omega_k v_k z_k z_k^T) / d omega_k
    at omega = 1. Check the server's scores against central finite differences of log det."""
    data = Data(n=10, dim=3, m=20, seed=12)
    project, w = fitted(client, projects, data, 1.0)
    cand = explicit_candidates(data, 12, seed=13, avoid=labeled_pairs(data))
    sel = project.select_batch(12, strategy="dopt", candidates=[(data.ids[i], data.ids[j]) for i, j in cand])
    z = data.z([i for i, _ in cand], [j for _, j in cand])
    v = bernoulli_variance(w, z)
    base = fisher(z, v)
    eps = 1e-6 * np.trace(base) / data.dim
    position = {pair: k for k, pair in enumerate(cand)}
    for p in sel.pairs:
        k = position[(data.idx(p.a_id), data.idx(p.b_id))]
        step = 1e-5
        plus = np.linalg.slogdet(base + eps * np.eye(3) + step * v[k] * np.outer(z[k], z[k]))[1]
        minus = np.linalg.slogdet(base + eps * np.eye(3) - step * v[k] * np.outer(z[k], z[k]))[1]
        assert p.score == pytest.approx((plus - minus) / (2 * step), rel=1e-4)


def test_reward_gap_strategies_equal_numpy(client, projects):
    data = Data(n=12, dim=4, m=25, seed=14)
    project, w = fitted(client, projects, data, 1.0)
    cand = explicit_candidates(data, 20, seed=15, avoid=labeled_pairs(data))
    names = [(data.ids[i], data.ids[j]) for i, j in cand]
    gap = np.abs(data.z([i for i, _ in cand], [j for _, j in cand]) @ w)
    for strategy, scores in (("max_difference", gap), ("max_entropy", -gap)):
        sel = project.select_batch(4, strategy=strategy, candidates=names, include_pending=True)
        idx, gaps = top_b(scores, 4)
        assert np.all(gaps > GAP), f"{strategy}: near-tie in the reference"
        assert [(data.idx(p.a_id), data.idx(p.b_id)) for p in sel.pairs] == [cand[k] for k in idx]
        # r_a - r_b is computed in float32 by the server: absolute 1e-5 on O(1) rewards.
        np.testing.assert_allclose(sel.scores, scores[idx], rtol=SCORE_RTOL, atol=1e-5)


def test_greedy_dopt_equals_numpy_with_labels_and_pending_pairs(client, projects):
    """GREEDY_DOPT on 30 explicit candidates, after a first selection left 4 pairs pending:
    M starts at lambda I + F(labeled, loss-weighted) + F(pending), and the server's 8 picks
    and their gains are the reference's."""
    data = Data(n=16, dim=5, m=40, seed=16)
    l2 = 2.0
    project, w = fitted(client, projects, data, l2)
    avoid = labeled_pairs(data)
    first_cands = explicit_candidates(data, 6, seed=17, avoid=avoid)
    first = project.select_batch(4, strategy="random", seed=3,
                                 candidates=[(data.ids[i], data.ids[j]) for i, j in first_cands])
    pending = [(data.idx(p.a_id), data.idx(p.b_id)) for p in first.pairs]
    assert project.refresh().num_pending_pairs == 4
    cand = explicit_candidates(data, 30, seed=18, avoid=avoid | {frozenset(p) for p in first_cands})
    sel = project.select_batch(8, strategy="greedy_dopt", candidates=[(data.ids[i], data.ids[j]) for i, j in cand])
    assert sel.num_candidates == 30

    z_pending = data.z([i for i, _ in pending], [j for _, j in pending])
    m = posterior_precision(w, data.z(data.a, data.b), data.weights, l2) + fisher(
        z_pending, bernoulli_variance(w, z_pending))
    z = data.z([i for i, _ in cand], [j for _, j in cand])
    idx, scores, gaps = greedy_dopt(w, z, m, 8)
    assert_same_choice(sel, data, cand, idx, scores, gaps, "greedy_dopt")

    # Without the pending pairs in M the reference picks differently: they matter.
    idx_without, scores_without, _ = greedy_dopt(w, z, m - fisher(z_pending, bernoulli_variance(w, z_pending)), 8)
    assert not np.allclose(scores_without, scores, rtol=SCORE_RTOL)


def test_greedy_dopt_over_cross_prompt_candidates_equals_numpy(client, projects):
    """CROSS_PROMPT with every pair enumerated (45 pairs of 10 responses, under the cap):
    the candidate set is all unordered pairs minus the labeled ones, oriented by insertion
    order; the greedy picks are the reference's."""
    data = Data(n=10, dim=3, m=15, seed=19)
    project, w = fitted(client, projects, data, 1.0)
    labeled = labeled_pairs(data)
    cand = [(i, j) for i in range(10) for j in range(i + 1, 10) if frozenset((i, j)) not in labeled]
    sel = project.select_batch(6, strategy="greedy_dopt", candidates="cross_prompt", seed=4)
    assert sel.num_candidates == len(cand)
    m = posterior_precision(w, data.z(data.a, data.b), data.weights, 1.0)
    idx, scores, gaps = greedy_dopt(w, data.z([i for i, _ in cand], [j for _, j in cand]), m, 6)
    assert_same_choice(sel, data, cand, idx, scores, gaps, "greedy_dopt cross_prompt")


@pytest.mark.parametrize("strategy", ["dopt", "ols_dopt"])
def test_an_explicit_ridge_is_the_eps_of_the_reference(client, projects, strategy):
    """ridge= replaces the default eps: with eps comparable to F(cand) the scores change a
    lot, and they are still the reference's."""
    data = Data(n=12, dim=4, m=20, seed=20)
    project, w = fitted(client, projects, data, 1.0)
    cand = explicit_candidates(data, 16, seed=21, avoid=labeled_pairs(data))
    z = data.z([i for i, _ in cand], [j for _, j in cand])
    ridge = 2.0
    sel = project.select_batch(5, strategy=strategy, ridge=ridge,
                               candidates=[(data.ids[i], data.ids[j]) for i, j in cand])
    assert sel.params.ridge == ridge
    scores = design_scores(strategy, w, z, ridge=ridge)
    idx, gaps = top_b(scores, 5)
    assert_same_choice(sel, data, cand, idx, scores[idx], gaps, f"{strategy} ridge={ridge}")
    default = design_scores(strategy, w, z)
    assert np.max(np.abs(default[idx] / scores[idx] - 1)) > 0.1  # the ridge mattered
