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
    bt_loss,
    fit_linear_bt,
    posterior_precision,
    quad_forms,
    sigmoid,
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
