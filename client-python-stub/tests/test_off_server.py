"""ExportSelectionState and RegisterSelection (selections computed off the server, e.g. the
Spark job in spark/) through both clients against the real server jar."""
from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest

import activerm
import activerm.aio
from conftest import fill, unique_id, violations


def _labeled(project, n=12, m=10):
    ids, _, x = fill(project, n=n)
    rng = np.random.default_rng(5)
    a = [int(i) for i in rng.integers(0, n, m)]
    b = [(i + 1 + int(rng.integers(0, n - 1))) % n for i in a]
    project.add_comparisons([ids[i] for i in a], [ids[j] for j in b], ["a" if k % 3 else "b" for k in range(m)])
    project.fit()
    return ids, x, list(zip(a, b))


def test_export_matches_a_numpy_reference_of_lambda_i_plus_the_labeled_information(project):
    ids, x, pairs = _labeled(project)
    st = project.export_selection_state()
    assert st.model_version == 1 and st.head == "linear" and st.feature_dim == x.shape[1]
    assert st.labeled_pairs == [(ids[a], ids[b]) for a, b in pairs] and st.pending_pairs == []
    # Independent reference in float64: lambda I + sum_k v_k z_k z_k^T, v = p (1 - p), p = sigmoid(w^T z).
    w = np.frombuffer(st.parameters, dtype="<f8")
    ref = st.l2 * np.eye(x.shape[1])
    for a, b in pairs:
        z = x[a].astype(np.float64) - x[b].astype(np.float64)
        p = 1 / (1 + np.exp(-w @ z))
        ref += p * (1 - p) * np.outer(z, z)
    # The server takes the margins (hence v) from float32 features, then sums in float64: ~1e-6 relative.
    np.testing.assert_allclose(st.information, ref, rtol=1e-5, atol=1e-6)
    lo = st.information_factor
    assert np.allclose(np.triu(lo, 1), 0)
    np.testing.assert_allclose(lo @ lo.T, st.information, rtol=1e-9, atol=1e-12)


def test_a_registered_batch_is_pending_then_labeled_and_fit_uses_it(project):
    ids, _, _ = _labeled(project)
    st = project.export_selection_state()
    labeled = {frozenset(p) for p in st.labeled_pairs}
    batch = [(ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids))
             if frozenset((ids[i], ids[j])) not in labeled][:3]
    sel = project.register_selection(batch, [3.0, 2.0, 1.0], model_version=st.model_version, computed_on="spark",
                                     strategy="dopt", num_candidates=40, candidates="within_prompt")
    assert sel.computed_on == "spark" and sel.strategy == "dopt" and sel.num_candidates == 40
    assert [(p.a_id, p.b_id, p.score, p.state) for p in sel.pairs] == [
        (a, b, s, "pending") for (a, b), s in zip(batch, [3.0, 2.0, 1.0])]
    assert sorted(project.export_selection_state().pending_pairs) == sorted(batch)

    added = project.add_comparisons([a for a, _ in batch], [b for _, b in batch], ["a"] * 3)
    assert added.num_pending_resolved == 3
    assert project.fit().num_comparisons == 13
    assert project.list_selections()[0].num_labeled == 3


def test_a_moved_model_or_unknown_ids_are_refused_and_nothing_is_stored(project):
    ids, _, _ = _labeled(project)
    st = project.export_selection_state()
    project.fit()  # the model moves on after the export
    with pytest.raises(activerm.ActiveRmError) as moved:
        project.register_selection([(ids[0], ids[1])], [1.0], model_version=st.model_version, computed_on="spark")
    assert moved.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "call ExportSelectionState again" in moved.value.message

    with pytest.raises(activerm.ActiveRmError) as unknown:
        project.register_selection([(ids[0], "nobody")], [1.0], model_version=2, computed_on="spark")
    assert unknown.value.code == grpc.StatusCode.NOT_FOUND
    assert "nobody" in " ".join(violations(unknown.value).values()) + unknown.value.message
    assert project.list_selections() == [] and project.export_selection_state().pending_pairs == []


def test_bad_input_is_refused_before_sending(offline_project):
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.register_selection([("a", "b")], [1.0, 2.0], model_version=1, computed_on="spark")
    assert "scores" in violations(e.value)
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.register_selection([("a", "b")], [float("nan")], model_version=1, computed_on="spark")
    assert "scores" in violations(e.value)
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.register_selection([("a", "b")], [1.0], model_version=1, computed_on="Spark Job")
    assert "computed_on" in violations(e.value)
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.register_selection([("a", "b")], [1.0], model_version=0, computed_on="spark")
    assert "model_version" in violations(e.value)


def test_the_asyncio_client_exports_and_registers(server, project):
    ids, _, _ = _labeled(project)

    async def run():
        async with activerm.aio.Client(server.target) as c:
            p = await c.get_project(project.id)
            st = await p.export_selection_state()
            labeled = {frozenset(q) for q in st.labeled_pairs}
            pair = next((a, b) for a in ids for b in ids if a != b and frozenset((a, b)) not in labeled)
            sel = await p.register_selection([pair], [0.5], model_version=st.model_version, computed_on="spark")
            return st, sel, pair

    st, sel, pair = asyncio.run(run())
    assert st.model_version == 1 and [(p.a_id, p.b_id) for p in sel.pairs] == [pair]


def _new_rows(project, n, seed=9):
    ids = [f"new{i}" for i in range(n)]
    return ids, [f"np{i // 2}" for i in range(n)], np.random.default_rng(seed).standard_normal(
        (n, project.info.embedding_dim), dtype=np.float32)


def test_new_rows_commit_with_the_selection_then_are_labeled_and_fitted(project):
    ids, _, _ = _labeled(project)
    st = project.export_selection_state()
    new_ids, new_prompts, new_x = _new_rows(project, 3)
    batch = [(new_ids[0], new_ids[1]), (new_ids[2], ids[0])]
    sel = project.register_selection(batch, [2.0, 1.0], model_version=st.model_version, computed_on="spark",
                                     new_response_ids=new_ids, new_prompt_ids=new_prompts, new_embeddings=new_x)
    assert [(p.a_id, p.b_id, p.state) for p in sel.pairs] == [(a, b, "pending") for a, b in batch]
    assert project.refresh().num_responses == len(ids) + 3
    back = project.list_responses(new_ids, include_embeddings=True)
    assert back.prompt_ids == new_prompts
    np.testing.assert_array_equal(back.embeddings, new_x)  # bit for bit: float32 in, float32 stored

    project.add_comparisons([a for a, _ in batch], [b for _, b in batch], ["a", "b"])
    assert project.fit().num_comparisons == 10 + 2


def test_a_held_id_with_another_embedding_is_refused_and_nothing_is_stored(project):
    ids, x, _ = _labeled(project)
    st = project.export_selection_state()
    new_ids, new_prompts, new_x = _new_rows(project, 1)
    changed = x[1].copy()
    changed[0] = np.nextafter(changed[0], np.float32(np.inf))
    with pytest.raises(activerm.ActiveRmError) as e:
        project.register_selection([(new_ids[0], ids[1])], [1.0], model_version=st.model_version,
                                   computed_on="spark", new_response_ids=[new_ids[0], ids[1]],
                                   new_prompt_ids=[new_prompts[0], "p0"], new_embeddings=np.stack([new_x[0], changed]))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "new_responses.response_ids[1]" in violations(e.value)
    assert project.refresh().num_responses == len(ids)
    assert project.list_selections() == []


def test_bad_new_rows_are_refused_before_sending(offline_project):
    pair = [("a", "b")]
    x = np.zeros((2, offline_project.info.embedding_dim), dtype=np.float32)
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.register_selection(pair, [1.0], model_version=1, computed_on="spark",
                                           new_response_ids=["a", "b"], new_embeddings=x)
    assert "new_embeddings" in violations(e.value)
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.register_selection(pair, [1.0], model_version=1, computed_on="spark",
                                           new_response_ids=["a"], new_prompt_ids=["p", "p"], new_embeddings=x)
    assert "new_response_ids" in violations(e.value)
    bad = x.copy()
    bad[1, 2] = np.nan
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.register_selection(pair, [1.0], model_version=1, computed_on="spark",
                                           new_response_ids=["a", "b"], new_prompt_ids=["p", "p"], new_embeddings=bad)
    assert "new_embeddings[1, 2]" in violations(e.value)
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.register_selection(pair, [1.0], model_version=1, computed_on="spark",
                                           new_response_ids=["a", "b"], new_prompt_ids=["p", "p"],
                                           new_embeddings=np.zeros((2, offline_project.info.embedding_dim + 1)))
    assert "new_embeddings" in violations(e.value)


def test_the_asyncio_client_registers_new_rows(server, project):
    ids, _, _ = _labeled(project)
    new_ids, new_prompts, new_x = _new_rows(project, 2)

    async def run():
        async with activerm.aio.Client(server.target) as c:
            p = await c.get_project(project.id)
            st = await p.export_selection_state()
            return await p.register_selection([(new_ids[0], new_ids[1])], [0.5], model_version=st.model_version,
                                              computed_on="spark", new_response_ids=new_ids,
                                              new_prompt_ids=new_prompts, new_embeddings=new_x)

    sel = asyncio.run(run())
    assert [(p.a_id, p.b_id, p.state) for p in sel.pairs] == [(new_ids[0], new_ids[1], "pending")]
    assert project.refresh().num_responses == len(ids) + 2
