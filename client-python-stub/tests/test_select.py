"""SelectBatch and GetSelection through the sync client against the real server: every
strategy on both heads, the three kinds of candidates, seeds, pending and labeled pairs,
and every error path. test_congruence.py checks the Fisher-based scores against numpy."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import combinations

import grpc
import numpy as np
import pytest

import activerm
from conftest import unique_id, violations

ALL_STRATEGIES = ["random", "max_entropy", "max_difference", "ols_dopt", "dopt", "past_aware_dopt",
                  "greedy_dopt", "coreset", "bald", "batchbald", "batch_dopt", "vopt"]
MODEL_FREE = ["random", "ols_dopt", "coreset"]
NEEDS_MODEL = [s for s in ALL_STRATEGIES if s not in MODEL_FREE]
# Strategies that take the top B by a fixed score, or pick greedily with shrinking gains:
# their scores come back non-increasing.
RANKED = ["max_entropy", "max_difference", "ols_dopt", "dopt", "past_aware_dopt", "greedy_dopt", "bald", "batch_dopt",
          "vopt"]

DIM = 4
N = 12  # 4 prompts x 3 responses: 66 cross-prompt pairs, 12 within-prompt pairs
LABELED = [("r0", "r4"), ("r1", "r7"), ("r2", "r10"), ("r5", "r9"), ("r3", "r11"), ("r6", "r8"), ("r0", "r4")]
OUTCOMES = ["a", "b", "a", "tie", "b", "a", "b"]


def unordered(pairs):
    return [frozenset(p) for p in pairs]


def make_project(client, *, head="linear", fit=True, seed=0, labels=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, DIM)).astype(np.float32)
    project = client.create_project(unique_id("sel"), embedding_dim=DIM, head=head,
                                    hidden_sizes=[4] if head == "mlp" else None)
    ids = [f"r{i}" for i in range(N)]
    project.add_responses(ids, [f"p{i // 3}" for i in range(N)], x)
    if labels:
        project.add_comparisons([a for a, _ in LABELED], [b for _, b in LABELED], OUTCOMES)
    if fit:
        project.fit(seed=1, epochs=3, batch_size=4)
    return project


@pytest.fixture
def made(client):
    projects = []
    yield projects
    for p in projects:
        try:
            p.delete()
        except activerm.ActiveRmError:
            pass


def test_the_client_knows_every_strategy():
    from activerm import _enums
    assert sorted(_enums.STRATEGIES) == sorted(ALL_STRATEGIES)


@pytest.mark.parametrize("head", ["linear", "mlp"])
@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
def test_every_strategy_selects_and_the_selection_is_stored(client, made, strategy, head):
    project = make_project(client, head=head)
    made.append(project)
    before = datetime.now(timezone.utc)
    sel = project.select_batch(4, strategy=strategy, candidates="cross_prompt", seed=11)
    assert isinstance(sel, activerm.Selection)
    assert (sel.strategy, sel.seed, sel.batch_size, len(sel), sel.model_version) == (strategy, 11, 4, 4, 1)
    assert sel.num_candidates == 66 - 6  # six distinct labeled pairs are excluded
    assert sel.selection_id and before - timedelta(seconds=5) <= sel.create_time
    assert sel.wall_time_s >= 0
    chosen = unordered(zip(sel.a_ids, sel.b_ids))
    assert len(set(chosen)) == 4 and all(len(p) == 2 for p in chosen)
    assert not set(chosen) & set(unordered(LABELED))
    assert all(a in {f"r{i}" for i in range(N)} for p in chosen for a in p)
    scores = sel.scores
    assert scores.dtype == np.float64 and np.all(np.isfinite(scores))
    if strategy in RANKED:
        assert np.all(np.diff(scores) <= 1e-12 * np.max(np.abs(scores))), scores
    if strategy in ("ols_dopt", "dopt", "past_aware_dopt", "greedy_dopt", "bald"):
        assert np.all(scores > 0)
    if strategy == "max_entropy":
        assert np.all(scores <= 0)
    assert project.refresh().num_pending_pairs == 4

    assert (sel.candidates, sel.max_candidates, sel.include_labeled, sel.include_pending) == (
        "cross_prompt", 1_000_000, False, False)

    back = project.get_selection(sel.selection_id)
    assert (back.selection_id, back.strategy, back.seed, back.model_version, back.num_candidates) == (
        sel.selection_id, sel.strategy, sel.seed, sel.model_version, sel.num_candidates)
    assert back.pairs == sel.pairs and back.create_time == sel.create_time
    assert back.params == sel.params and back.candidates == "cross_prompt"


def test_selection_records_its_request(client, made):
    project = make_project(client)
    made.append(project)
    sel = project.select_batch(2, strategy="batchbald", candidates=[("r0", "r1"), ("r2", "r5"), ("r3", "r9")],
                               max_candidates=50, include_labeled=True, include_pending=True,
                               posterior_samples=32, batchbald_pool=3, batchbald_configurations=8, seed=2)
    want = activerm.StrategyParams(ridge=0.0, coreset_clusters=10, coreset_radius=0.0, posterior_samples=32,
                                   batchbald_pool=3, batchbald_configurations=8)
    for s in (sel, project.get_selection(sel.selection_id)):
        assert (s.candidates, s.max_candidates, s.include_labeled, s.include_pending) == (
            "explicit_pairs", 50, True, True)
        assert s.params == want and len(s) == 2
    within = project.select_batch(1, strategy="coreset", candidates="within_prompt", coreset_clusters=2,
                                  coreset_radius=1.5)
    assert within.candidates == "within_prompt"
    assert (within.params.coreset_clusters, within.params.coreset_radius) == (2, 1.5)


def test_max_difference_and_max_entropy_use_the_reward_gap(client, made):
    project = make_project(client)
    made.append(project)
    rewards = dict(zip([f"r{i}" for i in range(N)], project.score([f"r{i}" for i in range(N)])))
    gaps = {frozenset((a, b)): abs(rewards[a] - rewards[b])
            for a, b in combinations(rewards, 2) if frozenset((a, b)) not in set(unordered(LABELED))}
    ranked = sorted(gaps.values())
    far = project.select_batch(3, strategy="max_difference", seed=0, include_pending=True)
    near = project.select_batch(3, strategy="max_entropy", seed=0, include_pending=True)
    np.testing.assert_allclose(far.scores, ranked[::-1][:3], rtol=1e-5)
    np.testing.assert_allclose(near.scores, [-g for g in ranked[:3]], rtol=1e-5, atol=1e-7)
    for sel, sign in ((far, 1), (near, -1)):
        for pair in sel.pairs:
            assert sign * gaps[frozenset((pair.a_id, pair.b_id))] == pytest.approx(pair.score, rel=1e-5, abs=1e-7)


def test_within_prompt_cross_prompt_and_explicit_candidates(client, made):
    project = make_project(client, fit=False, labels=False)
    made.append(project)
    within = project.select_batch(12, strategy="random", candidates="within_prompt", seed=3)
    assert within.num_candidates == 12 and within.model_version == 0
    assert set(unordered(zip(within.a_ids, within.b_ids))) == {
        frozenset((f"r{i}", f"r{j}")) for p in range(4) for i, j in combinations(range(3 * p, 3 * p + 3), 2)}

    # Explicit pairs keep their orientation; a repeat (either way round) is dropped.
    explicit = [("r5", "r0"), ("r1", "r9"), ("r0", "r5"), ("r11", "r3"), ("r2", "r4")]
    sel = project.select_batch(4, strategy="ols_dopt", candidates=explicit, seed=0)
    assert sel.num_candidates == 4
    assert sorted(zip(sel.a_ids, sel.b_ids)) == sorted([("r5", "r0"), ("r1", "r9"), ("r11", "r3"), ("r2", "r4")])

    capped = project.select_batch(2, strategy="random", candidates="cross_prompt", max_candidates=10, seed=3)
    assert capped.num_candidates == 10
    assert project.refresh().num_pending_pairs == 12 + 4 + 2


def test_prompt_ids_restrict_within_and_cross_prompt_candidates(client, made):
    project = make_project(client, fit=False, labels=False)  # p0: r0 r1 r2, p1: r3 r4 r5, ...
    made.append(project)
    prompt_of = {f"r{i}": f"p{i // 3}" for i in range(N)}

    within = project.select_batch(6, strategy="random", candidates="within_prompt", prompt_ids=["p3", "p1", "p3"],
                                  seed=1)
    assert (within.num_candidates, within.num_prompts, within.candidates) == (6, 2, "within_prompt")
    assert all(prompt_of[a] == prompt_of[b] in ("p1", "p3") for a, b in zip(within.a_ids, within.b_ids))

    # Any two of the 6 responses to p0 and p2 (a numpy array of ids works too).
    cross = project.select_batch(15, strategy="random", candidates="cross_prompt",
                                 prompt_ids=np.array(["p0", "p2"]), seed=1)
    assert (cross.num_candidates, cross.num_prompts) == (15, 2)
    assert set(unordered(zip(cross.a_ids, cross.b_ids))) == {
        frozenset(p) for p in combinations(["r0", "r1", "r2", "r6", "r7", "r8"], 2)}

    back = project.get_selection(within.selection_id)
    assert (back.num_prompts, back.candidates, back.pairs) == (2, "within_prompt", within.pairs)
    assert project.select_batch(1, strategy="random", include_pending=True).num_prompts == 0

    with pytest.raises(activerm.ActiveRmError) as unknown:
        project.select_batch(1, strategy="random", prompt_ids=["p0", "p9"])
    assert unknown.value.code == grpc.StatusCode.NOT_FOUND and not unknown.value.client_side
    assert violations(unknown.value) == {
        "candidates.cross_prompt.prompt_ids[1]": f"'p9' is the prompt of no response in project '{project.id}'"}
    with pytest.raises(activerm.ActiveRmError) as few:
        project.select_batch(4, strategy="random", candidates="within_prompt", prompt_ids=["p0"],
                             include_pending=True)
    assert few.value.code == grpc.StatusCode.INVALID_ARGUMENT and "3 candidate pairs" in few.value.message
    assert project.refresh().num_pending_pairs == 6 + 15 + 1


def test_prompt_ids_are_checked_client_side(offline_project):
    for kwargs, says in (
            ({"candidates": [("r0", "r1")], "prompt_ids": ["p0"]}, "only restricts candidates='cross_prompt'"),
            ({"prompt_ids": "p0"}, "not a single string"),
            ({"prompt_ids": []}, "is empty"),
            ({"candidates": "within_prompt", "prompt_ids": ["p0", 7]}, "must be a str")):
        with pytest.raises(ValueError) as e:
            offline_project.select_batch(1, strategy="random", **kwargs)
        assert isinstance(e.value, activerm.InvalidInputError) and e.value.client_side
        assert says in e.value.message
        assert any(v.startswith("prompt_ids") for v in violations(e.value))


def test_seeds_reproduce(client, made):
    one, two = make_project(client, seed=5), make_project(client, seed=5)
    made.extend([one, two])
    first = {}
    for strategy in ("random", "coreset", "batchbald", "greedy_dopt", "bald"):
        s1 = one.select_batch(3, strategy=strategy, seed=42)
        s2 = two.select_batch(3, strategy=strategy, seed=42)
        assert s1.pairs == s2.pairs, strategy
        np.testing.assert_array_equal(s1.scores, s2.scores)
        first[strategy] = s1
    three = make_project(client, seed=5)
    made.append(three)
    other = three.select_batch(3, strategy="random", seed=43)
    assert set(unordered(zip(other.a_ids, other.b_ids))) != set(
        unordered(zip(first["random"].a_ids, first["random"].b_ids)))


def test_pending_pairs_are_excluded_until_labeled(client, made):
    project = make_project(client, fit=False, labels=False)
    made.append(project)
    first = project.select_batch(5, strategy="random", seed=1)
    assert first.num_candidates == 66 and project.refresh().num_pending_pairs == 5
    second = project.select_batch(5, strategy="random", seed=1)
    assert second.num_candidates == 61
    assert not set(unordered(zip(first.a_ids, first.b_ids))) & set(unordered(zip(second.a_ids, second.b_ids)))
    # With include_pending the candidates are all 66 pairs again: the same seed gives the first batch.
    again = project.select_batch(5, strategy="random", seed=1, include_pending=True)
    assert again.num_candidates == 66 and again.pairs == first.pairs
    assert project.refresh().num_pending_pairs == 10  # the repeat adds nothing new

    # Labeling a pending pair (either orientation) resolves it; it is then excluded as labeled.
    p = first.pairs[0]
    added = project.add_comparisons([p.b_id], [p.a_id], ["a"])
    assert added.num_pending_resolved == 1 and project.refresh().num_pending_pairs == 9
    assert project.select_batch(1, strategy="random", seed=2).num_candidates == 66 - 9 - 1
    assert project.select_batch(1, strategy="random", seed=2, include_pending=True,
                                include_labeled=True).num_candidates == 66

    # Explicit candidates that are all pending leave nothing to choose from.
    with pytest.raises(activerm.ActiveRmError) as e:
        project.select_batch(1, strategy="random", candidates=[(p.a_id, p.b_id) for p in second.pairs])
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "0 candidate pairs" in e.value.message


@pytest.mark.parametrize("strategy", MODEL_FREE)
def test_model_free_strategies_run_before_any_fit(client, made, strategy):
    project = make_project(client, fit=False)
    made.append(project)
    sel = project.select_batch(3, strategy=strategy, seed=0)
    assert len(sel) == 3 and sel.model_version == 0 and np.all(np.isfinite(sel.scores))


@pytest.mark.parametrize("strategy", NEEDS_MODEL)
def test_strategies_needing_a_model_fail_before_fit(client, made, strategy):
    project = make_project(client, fit=False)
    made.append(project)
    with pytest.raises(activerm.ActiveRmError) as e:
        project.select_batch(2, strategy=strategy, seed=0)
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION and e.value.method == "SelectBatch"
    assert "call Fit first" in e.value.message
    assert project.refresh().num_pending_pairs == 0


def test_select_errors(client, made):
    project = make_project(client)
    made.append(project)

    with pytest.raises(activerm.ActiveRmError) as big:
        project.select_batch(12, strategy="random", candidates="within_prompt")
    assert big.value.code == grpc.StatusCode.INVALID_ARGUMENT
    # 12 within-prompt pairs, one of them labeled: (r6, r8).
    assert "batch_size 12 is larger than the 11 candidate pairs" in big.value.message
    assert "batch_size" in violations(big.value)

    with pytest.raises(activerm.ActiveRmError) as explicit_big:
        project.select_batch(3, strategy="dopt", candidates=[("r0", "r1"), ("r2", "r3")])
    assert explicit_big.value.code == grpc.StatusCode.INVALID_ARGUMENT

    with pytest.raises(activerm.ActiveRmError) as unknown:
        project.select_batch(1, candidates=[("r0", "ghost"), ("nope", "r1")])
    assert unknown.value.code == grpc.StatusCode.NOT_FOUND
    assert violations(unknown.value) == {
        "candidates.explicit_pairs.pairs[0].b_id": f"'ghost' is not a response of project '{project.id}'",
        "candidates.explicit_pairs.pairs[1].a_id": f"'nope' is not a response of project '{project.id}'",
    }

    with pytest.raises(activerm.ActiveRmError) as self_pair:
        project.select_batch(1, candidates=[("r0", "r0")])
    assert self_pair.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "candidates.explicit_pairs.pairs[0].b_id" in violations(self_pair.value)

    with pytest.raises(activerm.ActiveRmError) as zero:
        project.select_batch(0)
    assert zero.value.code == grpc.StatusCode.INVALID_ARGUMENT and "batch_size" in violations(zero.value)

    project.fit()  # version 2
    with pytest.raises(activerm.ActiveRmError) as old:
        project.select_batch(1, strategy="dopt", model_version=1)
    assert old.value.code == grpc.StatusCode.FAILED_PRECONDITION and "not the latest" in old.value.message
    with pytest.raises(activerm.ActiveRmError) as future:
        project.select_batch(1, strategy="dopt", model_version=9)
    assert future.value.code == grpc.StatusCode.NOT_FOUND and "model_version" in violations(future.value)
    assert project.select_batch(1, strategy="dopt", model_version=2).model_version == 2

    with pytest.raises(activerm.ActiveRmError) as missing:
        project.get_selection("sel-999")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND and missing.value.method == "GetSelection"
    assert violations(missing.value) == {"selection_id": "no selection 'sel-999'"}

    with pytest.raises(activerm.InvalidInputError) as name:
        project.select_batch(1, strategy="best")
    assert name.value.client_side and "greedy_dopt" in name.value.message

    assert project.refresh().num_pending_pairs == 1  # only the one successful selection

    project.delete()
    with pytest.raises(activerm.ActiveRmError) as gone:
        project.select_batch(1)
    assert gone.value.code == grpc.StatusCode.NOT_FOUND


def test_select_limits(client, made):
    project = make_project(client, fit=False, labels=False)
    made.append(project)
    with pytest.raises(activerm.ActiveRmError) as batch:
        project.select_batch(100_001, strategy="random")
    assert batch.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(batch.value) == {"batch_size": "is 100001; use 1..100000"}
    with pytest.raises(activerm.ActiveRmError) as cap:
        project.select_batch(1, strategy="random", max_candidates=100_000_001)
    assert cap.value.code == grpc.StatusCode.INVALID_ARGUMENT and "max_candidates" in violations(cap.value)
    assert project.refresh().num_pending_pairs == 0


def test_strategy_params_select_like_the_keywords(client, made):
    # Three projects with the same data and the same seeded fit: the keyword knobs, the same
    # knobs as a StrategyParams, and the params of the first selection sent back.
    projects = [make_project(client) for _ in range(3)]
    made.extend(projects)
    common = dict(strategy="batchbald", candidates=[("r0", "r1"), ("r2", "r5"), ("r3", "r9"), ("r4", "r10")], seed=2)
    by_keywords = projects[0].select_batch(2, posterior_samples=32, batchbald_pool=3, batchbald_configurations=8,
                                           **common)
    by_params = projects[1].select_batch(2, params=activerm.StrategyParams(
        posterior_samples=32, batchbald_pool=3, batchbald_configurations=8), **common)
    again = projects[2].select_batch(2, params=by_keywords.params, **common)
    want = activerm.StrategyParams(ridge=0.0, coreset_clusters=10, coreset_radius=0.0, posterior_samples=32,
                                   batchbald_pool=3, batchbald_configurations=8)
    assert by_keywords.params == by_params.params == again.params == want
    assert by_keywords.pairs == by_params.pairs == again.pairs
    coreset = projects[0].select_batch(1, strategy="coreset", params=activerm.StrategyParams(
        coreset_clusters=2, coreset_radius=1.5))
    assert (coreset.params.coreset_clusters, coreset.params.coreset_radius) == (2, 1.5)
