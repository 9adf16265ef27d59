"""Fit and Score through the sync client against the real server: reports, versions, warm
starts, the three kinds of Score subject, and every error path. Numbers are checked
against numpy computed here (test_congruence.py holds the full numpy references)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import grpc
import numpy as np
import pytest

import activerm
from conftest import unique_id, violations
from reference import OUTCOME_TARGET, bt_loss, sigmoid

DIM = 6


def labeled_project(client, *, head="linear", hidden_sizes=None, n=24, m=60, dim=DIM, l2=1.0, seed=0):
    """A project with n responses (3 per prompt) and m Bradley–Terry labels from a random
    linear teacher, with some ties and non-unit weights. Returns (project, ids, x, comparisons)
    where comparisons = (a_idx, b_idx, outcomes, weights)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    ids = [f"r{i}" for i in range(n)]
    project = client.create_project(unique_id(head), embedding_dim=dim, head=head, l2=l2,
                                    hidden_sizes=hidden_sizes)
    project.add_responses(ids, [f"p{i // 3}" for i in range(n)], x)
    teacher = rng.standard_normal(dim)
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    p = sigmoid(x[a].astype(np.float64) @ teacher - x[b].astype(np.float64) @ teacher)
    u = rng.random(m)
    outcomes = np.where(u < p, "a", "b").astype(object)
    outcomes[rng.random(m) < 0.1] = "tie"
    weights = rng.choice([1.0, 0.5, 2.0], m)
    project.add_comparisons([ids[i] for i in a], [ids[i] for i in b], list(outcomes), weights=weights)
    return project, ids, x, (a, b, list(outcomes), weights)


def numpy_loss_and_accuracy(rewards, comparisons):
    """Mean weighted BT loss and the accuracy on non-tie comparisons, from rewards per response."""
    a, b, outcomes, weights = comparisons
    y = np.array([OUTCOME_TARGET[o] for o in outcomes])
    s = rewards[a] - rewards[b]
    loss = float(np.sum(weights * bt_loss(s, y)) / np.sum(weights))
    decided = y != 0.5
    right = ((y == 1.0) & (s > 0)) | ((y == 0.0) & (s < 0))
    return loss, float(np.sum(right & decided) / np.sum(decided))


@pytest.fixture
def cleanup(client):
    made = []
    yield made
    for p in made:
        try:
            p.delete()
        except activerm.ActiveRmError:
            pass


def test_linear_fit_report_and_versions(client, cleanup):
    project, ids, x, comps = labeled_project(client)
    cleanup.append(project)
    before = datetime.now(timezone.utc)
    first = project.fit()
    second = project.fit(seed=3)
    assert (first.model_version, second.model_version) == (1, 2)
    assert project.refresh().latest_model_version == 2
    for r in (first, second):
        assert isinstance(r, activerm.FitReport)
        assert r.head == "linear" and r.converged
        assert 1 <= r.iterations <= 100
        assert 0 <= r.gradient_norm <= 1e-8  # the default tolerance
        assert r.num_comparisons == 60 and r.validation_accuracy == 0.0
        assert r.wall_time_s >= 0
        assert before - timedelta(seconds=5) <= r.create_time <= datetime.now(timezone.utc) + timedelta(seconds=5)
    # The linear fit is a convex optimum: the seed does not matter.
    np.testing.assert_array_equal(project.score(ids, model_version=1), project.score(ids, model_version=2))
    rewards = project.score(ids)
    loss, accuracy = numpy_loss_and_accuracy(rewards, comps)
    assert first.loss == pytest.approx(loss, rel=1e-9)
    assert first.train_accuracy == pytest.approx(accuracy, abs=1e-12)
    assert 0.5 < accuracy <= 1.0


def test_linear_fit_options_reach_the_server(client, cleanup):
    project, *_ = labeled_project(client)
    cleanup.append(project)
    one_step = project.fit(max_iterations=1)
    assert one_step.iterations == 1 and not one_step.converged and one_step.gradient_norm > 1e-8
    loose = project.fit(tolerance=1e3)  # the starting gradient already passes
    assert loose.iterations == 0 and loose.converged
    assert loose.gradient_norm <= 1e3


def test_linear_warm_start(client, cleanup):
    project, ids, x, _ = labeled_project(client)
    cleanup.append(project)
    cold = project.fit()
    # Same data, warm: the previous optimum already meets the tolerance.
    again = project.fit(warm_start=True)
    assert again.iterations == 0 and again.converged
    np.testing.assert_array_equal(project.score(ids, model_version=1), project.score(ids, model_version=2))
    # More data: warm and cold reach the same optimum; warm is never slower.
    project.add_comparisons(["r0", "r5", "r7"], ["r1", "r9", "r2"], ["a", "b", "a"])
    warm = project.fit(warm_start=True)
    rewards_warm = project.score(ids)
    fresh = project.fit()
    rewards_cold = project.score(ids)
    assert warm.converged and fresh.converged and warm.iterations <= fresh.iterations
    assert cold.iterations >= 1 and fresh.num_comparisons == 63
    np.testing.assert_allclose(rewards_warm, rewards_cold, rtol=1e-6, atol=1e-8)


def test_mlp_fit_is_seeded_and_reports_epochs(client, cleanup):
    project, ids, x, comps = labeled_project(client, head="mlp", hidden_sizes=[8, 8], seed=1)
    cleanup.append(project)
    r1 = project.fit(seed=5, epochs=7, batch_size=16, learning_rate=1e-2)
    r2 = project.fit(seed=5, epochs=7, batch_size=16, learning_rate=1e-2)
    r3 = project.fit(seed=6, epochs=7, batch_size=16, learning_rate=1e-2)
    assert (r1.model_version, r2.model_version, r3.model_version) == (1, 2, 3)
    # 7 epochs of 4 minibatches: 28 Adam steps, under the stop rule's 200-step floor, so not converged.
    assert r1.head == "mlp" and r1.iterations == 7 and not r1.converged and r1.num_comparisons == 60
    s1, s2, s3 = (project.score(ids, model_version=v) for v in (1, 2, 3))
    np.testing.assert_array_equal(s1, s2)  # same seed, same data: bit-identical
    assert not np.array_equal(s1, s3)
    assert r1.loss == r2.loss
    loss, accuracy = numpy_loss_and_accuracy(s1, comps)
    assert r1.loss == pytest.approx(loss, rel=1e-6)
    assert r1.train_accuracy == pytest.approx(accuracy, abs=1e-12)


def test_mlp_until_converged_is_opt_in(client, cleanup):
    project, *_ = labeled_project(client, head="mlp", hidden_sizes=[8, 8], seed=1)
    cleanup.append(project)
    default = project.fit(seed=5)  # 10 epochs: 10 Adam steps at 60 labels, not a plateau
    until = project.fit(seed=5, until_converged=True)
    same = project.fit(options=activerm.FitOptions(seed=5, until_converged=True))
    assert default.iterations == 10 and not default.converged
    assert until.converged and 200 <= until.iterations <= 4000  # batch 256: one Adam step per epoch
    assert until.loss < default.loss and same.loss == until.loss
    with pytest.raises(activerm.ActiveRmError) as e:  # refused by the server
        project.fit(epochs=5, until_converged=True)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in e.value.field_violations] == ["mlp.until_converged"]
    assert "set epochs to 0" in str(e.value)
    with pytest.raises(activerm.InvalidInputError, match="until_converged"):
        project.fit(until_converged="yes")


def test_mlp_validation_split_and_early_stopping(client, cleanup):
    project, *_ = labeled_project(client, head="mlp", hidden_sizes=[4], seed=2)
    cleanup.append(project)
    r = project.fit(seed=1, epochs=400, learning_rate=0.05, batch_size=8, validation_fraction=0.3, patience=2)
    assert r.head == "mlp" and r.num_comparisons == 42  # comparisons trained on: 60 - floor(0.3 * 60) held out
    assert 1 <= r.iterations < 400  # stopped early: 400 epochs at lr 0.05 overfit 42 comparisons
    assert 0.0 < r.validation_accuracy <= 1.0 and 0.0 < r.train_accuracy <= 1.0


def test_mlp_warm_start_continues_from_the_previous_model(client, cleanup):
    project, ids, *_ = labeled_project(client, head="mlp", hidden_sizes=[8], seed=3)
    cleanup.append(project)
    project.fit(seed=0, epochs=20, learning_rate=1e-2, batch_size=16)
    trained = project.score(ids)
    # With a learning rate of 1e-12 a fit barely moves its starting point: warm starts from
    # version 1, cold starts from a fresh initialisation.
    project.fit(seed=9, warm_start=True, epochs=1, learning_rate=1e-12)
    project.fit(seed=9, warm_start=False, epochs=1, learning_rate=1e-12)
    warm, cold = project.score(ids, model_version=2), project.score(ids, model_version=3)
    np.testing.assert_allclose(warm, trained, rtol=1e-6, atol=1e-6)
    assert np.max(np.abs(cold - trained)) > 1e-3


@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_score_ids_embeddings_and_pairs_agree(client, cleanup, head):
    project, ids, x, _ = labeled_project(client, head=head, hidden_sizes=[8, 8] if head == "mlp" else None, seed=4)
    cleanup.append(project)
    project.fit(seed=2, epochs=5, batch_size=16)
    rewards = project.score(ids)
    assert rewards.dtype == np.float64 and rewards.shape == (len(ids),) and np.all(np.isfinite(rewards))
    assert np.std(rewards) > 0
    # The same rows sent as embeddings (not stored) score identically; the pool is unchanged.
    again = project.score(embeddings=x[::-1])
    np.testing.assert_array_equal(again, rewards[::-1])
    assert project.refresh().num_responses == len(ids)
    # A subset in any order, with repeats.
    some = project.score(["r3", "r0", "r3"])
    np.testing.assert_array_equal(some, rewards[[3, 0, 3]])
    # Pairs: P(a beats b) = sigma(r_a - r_b) from the rewards above; a positive stddev.
    pairs = [("r0", "r1"), ("r5", "r2"), ("r1", "r0"), ("r7", "r7")]
    scored = project.score_pairs(pairs)
    assert isinstance(scored, activerm.PairScores) and len(scored) == 4 and scored.model_version == 1
    assert (scored.a_ids, scored.b_ids) == ([p[0] for p in pairs], [p[1] for p in pairs])
    want = sigmoid(np.array([rewards[int(a[1:])] - rewards[int(b[1:])] for a, b in pairs]))
    np.testing.assert_allclose(scored.probabilities, want, rtol=1e-6, atol=1e-9)
    assert scored.probabilities[0] + scored.probabilities[2] == pytest.approx(1.0, abs=1e-12)
    sd = scored.reward_diff_stddevs
    assert np.all(sd[:3] > 0) and np.all(np.isfinite(sd)) and sd[3] == 0.0 and scored.probabilities[3] == 0.5
    assert sd[0] == pytest.approx(sd[2], rel=1e-12)


def test_score_an_older_version(client, cleanup):
    project, ids, *_ = labeled_project(client, seed=5)
    cleanup.append(project)
    project.fit()
    v1 = project.score(ids)
    project.add_comparisons(["r0"] * 5, ["r1"] * 5, ["b"] * 5)
    project.fit()
    latest = project.score(ids)
    assert latest[1] - latest[0] > v1[1] - v1[0]  # five more votes for r1 over r0
    np.testing.assert_array_equal(project.score(ids, model_version=1), v1)
    assert project.score_pairs([("r0", "r1")], model_version=1).model_version == 1
    assert project.score_pairs([("r0", "r1")]).model_version == 2


def test_fit_and_score_errors(client, cleanup):
    project = client.create_project(unique_id("err"), embedding_dim=4)
    cleanup.append(project)
    project.add_responses(["a", "b", "c"], ["p", "p", "q"], np.eye(3, 4, dtype=np.float32))

    with pytest.raises(activerm.ActiveRmError) as no_labels:
        project.fit()
    assert no_labels.value.code == grpc.StatusCode.FAILED_PRECONDITION and no_labels.value.method == "Fit"
    assert "has 0 comparisons; Fit needs at least 1" in no_labels.value.message

    with pytest.raises(activerm.ActiveRmError) as no_model:
        project.score(["a"])
    assert no_model.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "has no fitted model yet; call Fit first" in no_model.value.message

    project.add_comparisons(["a"], ["b"], ["a"])
    project.fit()
    with pytest.raises(activerm.ActiveRmError) as unknown:
        project.score(["a", "ghost"])
    assert unknown.value.code == grpc.StatusCode.NOT_FOUND
    assert violations(unknown.value) == {"response_ids.ids[1]": f"'ghost' is not a response of project '{project.id}'"}

    with pytest.raises(activerm.ActiveRmError) as unknown_pair:
        project.score_pairs([("a", "b"), ("nope", "c")])
    assert unknown_pair.value.code == grpc.StatusCode.NOT_FOUND
    assert set(violations(unknown_pair.value)) == {"pairs[1].a_id"}

    with pytest.raises(activerm.ActiveRmError) as version:
        project.score(["a"], model_version=5)
    assert version.value.code == grpc.StatusCode.NOT_FOUND and violations(version.value) == {
        "model_version": "no version 5"}

    with pytest.raises(activerm.ActiveRmError) as split:
        project.fit(validation_fraction=0.7)
    assert split.value.code == grpc.StatusCode.INVALID_ARGUMENT and not split.value.client_side

    with pytest.raises(activerm.InvalidInputError) as shape:
        project.score(embeddings=np.zeros((2, 5), dtype=np.float32))
    assert shape.value.client_side

    with pytest.raises(activerm.ActiveRmError) as gone:
        client.get_project(project.id)  # exists
        project.delete()
        project.fit()
    assert gone.value.code == grpc.StatusCode.NOT_FOUND and gone.value.method == "Fit"


def test_mlp_fit_with_a_validation_split_needs_two_comparisons(client, cleanup):
    project = client.create_project(unique_id("mlp"), embedding_dim=4, head="mlp", hidden_sizes=[4])
    cleanup.append(project)
    project.add_responses(["a", "b"], ["p", "p"], np.eye(2, 4, dtype=np.float32))
    project.add_comparisons(["a"], ["b"], ["a"])
    with pytest.raises(activerm.ActiveRmError) as e:
        project.fit(validation_fraction=0.2)
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "one to train on and one to hold out" in e.value.message
    assert project.fit().model_version == 1


def test_fit_and_score_limits(client, cleanup):
    # LINEAR fits take Hessian-vector products, never a D x D matrix: a wide head fits.
    wide = client.create_project(unique_id("wide"), embedding_dim=8193)
    cleanup.append(wide)
    wide.add_responses(["a", "b"], ["p", "p"], np.eye(2, 8193, dtype=np.float32))
    wide.add_comparisons(["a"], ["b"], ["a"])
    report = wide.fit()
    assert report.converged
    rewards = wide.score(["a", "b"])
    assert rewards[0] > rewards[1]

    narrow = client.create_project(unique_id("narrow"), embedding_dim=1)
    cleanup.append(narrow)
    narrow.add_responses(["a", "b"], ["p", "q"], np.array([[1.0], [-1.0]], dtype=np.float32))
    narrow.add_comparisons(["a"], ["b"], ["a"])
    narrow.fit()
    assert narrow.score(embeddings=np.ones((100_000, 1), dtype=np.float32)).shape == (100_000,)
    with pytest.raises(activerm.ActiveRmError) as rows:
        narrow.score(embeddings=np.ones((100_001, 1), dtype=np.float32))
    assert rows.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(rows.value) == {"embeddings.rows": "is 100001; score at most 100000 rows per call"}


def test_fit_options_give_the_same_model_as_the_keywords(client, cleanup):
    project, ids, x, comps = labeled_project(client, head="mlp", hidden_sizes=[8, 8], seed=1)
    cleanup.append(project)
    r1 = project.fit(seed=5, epochs=7, batch_size=16, learning_rate=1e-2)
    r2 = project.fit(options=activerm.FitOptions(seed=5, epochs=7, batch_size=16, learning_rate=1e-2))
    r3 = project.fit(options=activerm.FitOptions(seed=5, epochs=2, batch_size=16, learning_rate=1e-2,
                                                 warm_start=True))
    assert (r1.model_version, r2.model_version, r3.model_version) == (1, 2, 3)
    assert (r2.iterations, r2.loss, r2.train_accuracy) == (7, r1.loss, r1.train_accuracy)
    np.testing.assert_array_equal(project.score(ids, model_version=1), project.score(ids, model_version=2))
    assert r3.iterations == 2 and r3.loss < r2.loss  # two more epochs from model 2's weights


def test_linear_fit_options_reach_the_server_too(client, cleanup):
    project, *_ = labeled_project(client, seed=3)
    cleanup.append(project)
    capped = project.fit(options=activerm.FitOptions(max_iterations=1))
    assert capped.iterations == 1 and not capped.converged
    full = project.fit(options=activerm.FitOptions(tolerance=1e-10))
    assert full.converged and full.gradient_norm <= 1e-10
