"""activerm.aio.Client against the real server: the same surface, awaited."""
from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest

import activerm
import activerm.aio
from conftest import DIM, random_rows, unique_id, violations


def run(coro):
    return asyncio.run(coro)


def test_project_lifecycle(server):
    async def go():
        async with activerm.aio.Client(server.target, timeout=60) as client:
            pid = unique_id("aio")
            project = await client.create_project(pid, embedding_dim=DIM, head="mlp", hidden_sizes=[4])
            listed = [p.id for p in await client.list_projects(page_size=1)]
            got = await client.get_project(pid)
            await client.delete_project(pid)
            with pytest.raises(activerm.ActiveRmError) as missing:
                await project.refresh()
            return project, listed, got, missing.value

    project, listed, got, missing = run(go())
    assert (project.info.head, project.info.hidden_sizes) == ("mlp", (4,))
    assert project.id in listed and got.info.embedding_dim == DIM
    assert missing.code == grpc.StatusCode.NOT_FOUND and violations(missing) == {"project_id": f"no project '{project.id}'"}


def test_responses_and_comparisons_round_trip(server):
    n = 30
    x = random_rows(n, seed=11)
    ids = [f"r{i}" for i in range(n)]
    prompts = [f"p{i % 3}" for i in range(n)]

    async def go():
        async with activerm.aio.Client(server.target, timeout=60) as client:
            project = await client.create_project(unique_id("aio"), embedding_dim=DIM)
            added = await project.add_responses(ids, prompts, x, chunk_bytes=200)
            back = await project.list_responses(include_embeddings=True, page_size=7)
            some = await project.list_responses(["r5", "r1"])
            cmp_added = await project.add_comparisons(["r0", "r1"], ["r2", "r3"], ["b", "tie"], weights=[2.0, 1.0])
            comps = await project.list_comparisons()
            info = await project.refresh()
            await project.delete()
            return added, back, some, cmp_added, comps, info

    added, back, some, cmp_added, comps, info = run(go())
    assert (added.num_added, added.num_responses) == (n, n)
    assert back.ids == ids and back.prompt_ids == prompts
    assert back.embeddings.tobytes() == x.tobytes()
    assert some.ids == ["r5", "r1"] and some.embeddings is None
    assert (cmp_added.num_added, cmp_added.num_comparisons) == (2, 2)
    assert comps.outcomes == ["b", "tie"]
    np.testing.assert_array_equal(comps.weights, [2.0, 1.0])
    assert (info.num_responses, info.num_prompts, info.num_comparisons) == (n, 3, 2)


def test_server_errors_keep_code_and_violations(server):
    async def go():
        async with activerm.aio.Client(server.target, timeout=60) as client:
            project = await client.create_project(unique_id("aio"), embedding_dim=DIM)
            errors = []
            for call in (
                lambda: client.create_project(project.id, embedding_dim=DIM),
                lambda: project.add_comparisons(["nope"], ["nada"], ["a"]),
                lambda: project.add_responses(["ok", "ok"], ["p", "p"], random_rows(2)),
                lambda: project.list_responses(["ghost"]),
            ):
                with pytest.raises(activerm.ActiveRmError) as e:
                    await call()
                errors.append(e.value)
            await project.delete()
            return project, errors

    project, (exists, unknown, dup, ghost) = run(go())
    assert exists.code == grpc.StatusCode.ALREADY_EXISTS and "project_id" in violations(exists)
    assert unknown.code == grpc.StatusCode.NOT_FOUND
    assert set(violations(unknown)) == {"comparisons[0].a_id", "comparisons[0].b_id"}
    assert dup.code == grpc.StatusCode.INVALID_ARGUMENT and "appears twice" in violations(dup)["response_ids[1]"]
    assert ghost.code == grpc.StatusCode.NOT_FOUND and ghost.method == "ListResponses"


def test_fit_and_score_match_the_sync_client(server):
    """Fit and Score awaited: the asyncio client sees the same model as the sync client."""
    n = 12
    x = random_rows(n, seed=12)
    ids = [f"r{i}" for i in range(n)]
    prompts = [f"p{i // 3}" for i in range(n)]

    async def go():
        async with activerm.aio.Client(server.target, timeout=60) as client:
            project = await client.create_project(unique_id("aio"), embedding_dim=DIM, head="mlp", hidden_sizes=[4])
            await project.add_responses(ids, prompts, x)
            errors = []
            for call in (lambda: project.fit(), lambda: project.score(ids)):
                with pytest.raises(activerm.ActiveRmError) as e:
                    await call()
                errors.append(e.value)
            await project.add_comparisons(["r0", "r1", "r2", "r3", "r8"], ["r4", "r5", "r6", "r7", "r0"],
                                          ["a", "a", "b", "tie", "b"])
            first = await project.fit(seed=3, epochs=4, batch_size=2)
            second = await project.fit(seed=3, epochs=4, batch_size=2, warm_start=True)
            rewards = await project.score(ids, model_version=1)
            from_x = await project.score(embeddings=x, model_version=1)
            pairs = await project.score_pairs([("r0", "r4"), ("r9", "r2")], model_version=1)
            with pytest.raises(activerm.ActiveRmError) as ghost:
                await project.score_pairs([("r0", "ghost")])
            return project, errors, first, second, rewards, from_x, pairs, ghost.value

    project, (no_labels, no_model), first, second, rewards, from_x, pairs, ghost = run(go())
    assert no_labels.code == grpc.StatusCode.FAILED_PRECONDITION and no_labels.method == "Fit"
    assert no_model.code == grpc.StatusCode.FAILED_PRECONDITION and no_model.method == "Score"
    assert ghost.code == grpc.StatusCode.NOT_FOUND and set(violations(ghost)) == {"pairs[0].b_id"}
    assert (first.model_version, second.model_version) == (1, 2)
    assert first.head == "mlp" and first.iterations == 4 and first.num_comparisons == 5
    np.testing.assert_array_equal(rewards, from_x)
    d = rewards[[0, 9]] - rewards[[4, 2]]
    np.testing.assert_allclose(pairs.probabilities, 1 / (1 + np.exp(-d)), rtol=1e-9)
    assert np.all(pairs.reward_diff_stddevs > 0)
    with activerm.Client(server.target, timeout=60) as sync:
        same = sync.get_project(project.id)
        assert same.info.latest_model_version == 2
        np.testing.assert_array_equal(same.score(ids, model_version=1), rewards)
        sync.delete_project(project.id)


def test_select_batch_and_get_selection_awaited(server):
    n = 9
    x = random_rows(n, seed=13)
    ids = [f"r{i}" for i in range(n)]
    prompts = [f"p{i // 3}" for i in range(n)]

    async def go():
        async with activerm.aio.Client(server.target, timeout=60) as client:
            project = await client.create_project(unique_id("aio"), embedding_dim=DIM)
            await project.add_responses(ids, prompts, x)
            errors = []
            with pytest.raises(activerm.ActiveRmError) as e:
                await project.select_batch(2, strategy="greedy_dopt")
            errors.append(e.value)
            warmup = await project.select_batch(3, strategy="random", candidates="within_prompt", seed=4)
            await project.add_comparisons(warmup.a_ids, warmup.b_ids, ["a", "b", "tie"])
            await project.fit()
            greedy = await project.select_batch(4, strategy="greedy_dopt", candidates="cross_prompt", seed=1)
            explicit = await project.select_batch(1, strategy="dopt", candidates=[("r0", "r8"), ("r8", "r1")],
                                                  ridge=0.25)
            back = await project.get_selection(greedy.selection_id)
            info = await project.refresh()
            for call in (lambda: project.select_batch(100, strategy="random"),
                         lambda: project.select_batch(1, candidates=[("r0", "ghost")]),
                         lambda: project.get_selection("sel-404")):
                with pytest.raises(activerm.ActiveRmError) as e:
                    await call()
                errors.append(e.value)
            await project.delete()
            return warmup, greedy, explicit, back, info, errors

    warmup, greedy, explicit, back, info, (no_model, too_big, ghost, missing) = run(go())
    assert no_model.code == grpc.StatusCode.FAILED_PRECONDITION and no_model.method == "SelectBatch"
    assert warmup.num_candidates == 9 and warmup.model_version == 0
    assert all(a[1:] != b[1:] and int(a[1:]) // 3 == int(b[1:]) // 3 for a, b in zip(warmup.a_ids, warmup.b_ids))
    assert greedy.strategy == "greedy_dopt" and greedy.model_version == 1 and len(greedy) == 4
    assert greedy.num_candidates == 36 - 3  # the three labeled pairs are excluded
    assert np.all(np.diff(greedy.scores) <= 0) and np.all(greedy.scores > 0)
    assert back.pairs == greedy.pairs and back.selection_id == greedy.selection_id
    assert len(explicit) == 1 and (explicit.a_ids[0], explicit.b_ids[0]) in {("r0", "r8"), ("r8", "r1")}
    assert explicit.params.ridge == 0.25 and explicit.candidates == "explicit_pairs"
    assert info.num_pending_pairs == 5 and info.latest_model_version == 1
    assert too_big.code == grpc.StatusCode.INVALID_ARGUMENT and "batch_size" in violations(too_big)
    assert ghost.code == grpc.StatusCode.NOT_FOUND
    assert missing.code == grpc.StatusCode.NOT_FOUND and missing.method == "GetSelection"


def test_select_batch_prompt_ids_awaited(server):
    n = 9
    ids = [f"r{i}" for i in range(n)]
    prompts = [f"p{i // 3}" for i in range(n)]

    async def go():
        async with activerm.aio.Client(server.target, timeout=60) as client:
            project = await client.create_project(unique_id("aio"), embedding_dim=DIM)
            await project.add_responses(ids, prompts, random_rows(n, seed=3))
            within = await project.select_batch(3, strategy="random", candidates="within_prompt", prompt_ids=["p2"])
            cross = await project.select_batch(2, strategy="random", prompt_ids=["p0", "p1"], seed=7)
            with pytest.raises(activerm.ActiveRmError) as unknown:
                await project.select_batch(1, strategy="random", candidates="within_prompt", prompt_ids=["p5"])
            with pytest.raises(ValueError):
                await project.select_batch(1, candidates=[("r0", "r1")], prompt_ids=["p0"])
            await project.delete()
            return within, cross, unknown.value

    within, cross, unknown = run(go())
    assert within.num_candidates == 3 and within.num_prompts == 1
    assert set(within.a_ids + within.b_ids) == {"r6", "r7", "r8"}
    assert cross.num_candidates == 15 and cross.num_prompts == 2
    assert set(cross.a_ids + cross.b_ids) <= {f"r{i}" for i in range(6)}
    assert unknown.code == grpc.StatusCode.NOT_FOUND
    assert list(violations(unknown)) == ["candidates.within_prompt.prompt_ids[0]"]


def test_client_side_checks_and_deadline_and_close(server, silent_target):
    async def go():
        client = activerm.aio.Client(server.target, timeout=60)
        project = await client.create_project(unique_id("aio"), embedding_dim=DIM)
        bad = random_rows(2)
        bad[1, 1] = np.inf
        with pytest.raises(activerm.InvalidInputError) as invalid:
            await project.add_responses(["a", "b"], ["p", "p"], bad)
        silent = activerm.aio.Client(silent_target, timeout=60)
        with pytest.raises(activerm.ActiveRmError) as late:
            await silent.list_projects(timeout=0.2)
        await silent.close()
        info = await project.refresh()
        await project.delete()
        await client.close()
        await client.close()
        with pytest.raises(activerm.ActiveRmError) as closed:
            await client.list_projects()
        return invalid.value, late.value, info, closed.value

    invalid, late, info, closed = run(go())
    assert invalid.client_side and [v.field for v in invalid.field_violations] == ["embeddings[1, 1]"]
    assert info.num_responses == 0
    assert late.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert closed.code == grpc.StatusCode.CANCELLED
