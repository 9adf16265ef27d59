"""The stopping signal (issue 12 section 5) against numpy: each selection's information
(Selection.information) and the pool's posterior uncertainty (Project.pool_uncertainty),
computed here from DESIGN.md's formulas with the LINEAR head's w recovered by the identity
probe (test_congruence.py).

Tolerances: the server takes float32 features (centred in float32) and works in float64
after that, so a log det gain agrees to 1e-5 relative; the pool variances are Score's own
Laplace forms in float64 on float32 embeddings (exact in float64): 1e-9 relative given w.
"""
from __future__ import annotations

import numpy as np
import pytest

from reference import bernoulli_variance, fisher, posterior_precision, quad_forms, sigmoid
from test_congruence import Data, recover_w

GAIN_RTOL = 1e-5


def fitted(client, projects, data: Data, l2: float):
    """Uploads data's labels, fits, and returns the project, the server's w (identity probe) and
    lambda I + F(labeled) from it (comparisons weighted, v from the fitted model)."""
    project = data.upload(client, l2)
    projects.append(project)
    project.fit()
    w = recover_w(project, data.dim)
    return project, w, posterior_precision(w, data.z(data.a, data.b), data.weights, l2)


def log_det(m: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(m)
    assert sign > 0
    return value


@pytest.fixture
def projects(client):
    made = []
    yield made
    for p in made:
        p.delete()


def test_each_selections_gain_is_the_numpy_log_det_increase_with_pending_pairs_counted(client, projects):
    data = Data(n=24, dim=5, m=60, seed=21)
    l2 = 0.7
    project, w, m = fitted(client, projects, data, l2)
    first = None
    for strategy, size in [("random", 6), ("greedy_dopt", 4), ("max_entropy", 5), ("dopt", 3)]:
        sel = project.select_batch(size, strategy=strategy, seed=3)
        a = [data.idx(i) for i in sel.a_ids]
        b = [data.idx(i) for i in sel.b_ids]
        z = data.z(a, b)
        f_batch = fisher(z, bernoulli_variance(w, z))
        ref = log_det(m + f_batch) - log_det(m)
        info = sel.information
        assert info is not None, strategy
        assert info.log_det_gain == pytest.approx(ref, rel=GAIN_RTOL), strategy
        assert info.gain_per_label == pytest.approx(ref / size, rel=GAIN_RTOL)
        if first is None:
            first = sel
            assert info.reference_selection_id == sel.selection_id
            assert info.relative_gain_per_label == 1.0
        else:
            assert info.reference_selection_id == first.selection_id
            assert info.relative_gain_per_label == pytest.approx(
                (ref / size) / first.information.gain_per_label, rel=GAIN_RTOL)
        # The batch is pending now: the next selection's gain is over M + F(this batch).
        m = m + f_batch
    listed = {s.selection_id: s.information for s in project.list_selections()}
    assert listed[first.selection_id] == first.information


def test_pool_uncertainty_over_two_live_responses_is_their_laplace_variance(client, projects):
    data = Data(n=16, dim=4, m=40, seed=22)
    l2 = 0.5
    project, w, m = fitted(client, projects, data, l2)
    project.retire_responses(data.ids[2:])
    u = project.pool_uncertainty(num_pairs=300, seed=4)
    z = data.z([0], [1])
    var = quad_forms(m, z)[0]
    assert u.num_pairs == 300
    for value in (u.mean_variance, u.median_variance, u.p90_variance, u.max_variance):
        assert value == pytest.approx(var, rel=1e-9)
    p = sigmoid(z @ w)[0]
    assert u.mean_bernoulli_variance == pytest.approx(p * (1 - p), rel=1e-9)


def test_pool_uncertainty_mean_estimates_the_all_pairs_mean(client, projects):
    data = Data(n=30, dim=4, m=50, seed=23)
    l2 = 1.0
    project, w, m = fitted(client, projects, data, l2)
    a, b = np.where(~np.eye(30, dtype=bool))  # every ordered pair of distinct responses
    var = quad_forms(m, data.z(a, b))
    u = project.pool_uncertainty(num_pairs=100_000, seed=5)
    # Uniform draws with replacement: the sample mean is within 5 standard errors of the mean.
    se = var.std() / np.sqrt(u.num_pairs)
    assert abs(u.mean_variance - var.mean()) < 5 * se
    assert u.max_variance <= var.max() * (1 + 1e-9)
    assert u.max_variance == pytest.approx(var.max(), rel=1e-9)  # 1e5 draws hit all 870 pairs
    assert u.median_variance == pytest.approx(np.median(var), rel=0.05)
    bern = bernoulli_variance(w, data.z(a, b))
    assert abs(u.mean_bernoulli_variance - bern.mean()) < 5 * bern.std() / np.sqrt(u.num_pairs)


def test_pool_uncertainty_checks_its_arguments_before_sending(offline_project):
    import activerm
    with pytest.raises(activerm.InvalidInputError):
        offline_project.pool_uncertainty(num_pairs=100_001)
    with pytest.raises(activerm.InvalidInputError):
        offline_project.pool_uncertainty(seed=-1)
