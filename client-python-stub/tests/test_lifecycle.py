"""The labeling lifecycle through both clients: comparison ids, deletes, retired responses,
released and expiring pairs, listed selections."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest

import activerm
import activerm.aio
from conftest import DIM, fill, random_rows, unique_id, violations


def test_comparison_ids_make_retries_idempotent_and_deletes_stick(project):
    fill(project, n=6)
    first = project.add_comparisons(["r0", "r2", "r4"], ["r1", "r3", "r5"], ["a", "b", "tie"],
                                    annotator_ids=["good", "bad", "bad"], comparison_ids=["x", None, "z"])
    assert first.comparison_ids == ["x", "c-1", "z"] and first.num_added == 3
    retry = project.add_comparisons(["r0", "r2", "r4"], ["r1", "r3", "r5"], ["a", "b", "tie"],
                                    annotator_ids=["good", "bad", "bad"], comparison_ids=["x", "c-1", "z"])
    assert (retry.num_added, retry.num_unchanged, retry.num_comparisons) == (0, 3, 3)
    with pytest.raises(activerm.ActiveRmError) as e:
        project.add_comparisons(["r0"], ["r1"], ["b"], annotator_ids=["good"], comparison_ids=["x"])
    assert e.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert "outcome OUTCOME_A" in violations(e.value)["comparisons[0].comparison_id"]

    assert project.list_comparisons(annotator_id="bad").ids == ["c-1", "z"]
    gone = project.delete_comparisons(annotator_id="bad")
    assert (gone.num_deleted, gone.num_comparisons) == (2, 1)
    assert project.delete_comparisons(ids=["z"]).num_already_deleted == 1
    with pytest.raises(activerm.InvalidInputError):
        project.delete_comparisons()  # neither ids nor annotator_id: refused before sending
    replay = project.add_comparisons(["r4"], ["r5"], ["tie"], annotator_ids=["bad"], comparison_ids=["z"])
    assert (replay.num_added, replay.num_deleted_before) == (0, 1)
    assert project.list_comparisons().ids == ["x"]
    assert project.fit().num_comparisons == 1


def test_retired_responses_leave_the_candidates_but_keep_labels(project):
    fill(project, n=4)
    project.add_comparisons(["r0"], ["r1"], ["a"])
    assert project.retire_responses(["r3"]).num_retired == 1
    assert project.retire_responses(["r3"]).num_already_retired == 1
    back = project.list_responses()
    assert back.retired == [False, False, False, True]
    assert project.list_responses(include_retired=False).ids == ["r0", "r1", "r2"]
    # r0, r1, r2 give 3 pairs, one labeled.
    assert project.select_batch(1, strategy="random").num_candidates == 2
    assert project.refresh().num_retired_responses == 1


def test_release_pairs_and_list_selections(project):
    fill(project, n=6)
    s1 = project.select_batch(3, strategy="random", seed=1, pending_ttl=timedelta(hours=1))
    assert s1.pending_ttl_s == 3600 and s1.expire_time is not None
    s2 = project.select_batch(2, strategy="random", seed=2)
    assert s2.pending_ttl_s is None
    p = s1.pairs[0]
    one = project.release_pairs(s1.selection_id, [(p.b_id, p.a_id)])
    assert (one.num_released, one.num_pending_pairs) == (1, 4)
    rest = project.release_pairs(s1.selection_id)
    assert (rest.num_released, rest.num_not_pending) == (2, 1)
    listed = project.list_selections(include_pairs=True)
    assert [s.selection_id for s in listed] == [s2.selection_id, s1.selection_id]
    assert (listed[1].num_released, listed[1].num_pending) == (3, 0)
    assert {q.state for q in listed[1].pairs} == {"released"}
    # A released pair can still be labeled.
    assert project.add_comparisons([p.a_id], [p.b_id], ["a"]).num_added == 1
    assert project.get_selection(s1.selection_id).pairs[0].state == "labeled"
    with pytest.raises(activerm.ActiveRmError) as e:
        project.release_pairs(s1.selection_id, [("r0", "nope")])
    assert e.value.code == grpc.StatusCode.NOT_FOUND


def test_pending_ttl_is_checked_before_sending(offline_project):
    with pytest.raises(activerm.InvalidInputError):
        offline_project.select_batch(1, pending_ttl=-1)
    with pytest.raises(activerm.InvalidInputError):
        offline_project.select_batch(1, pending_ttl="soon")


def test_lifecycle_calls_awaited(server):
    async def main():
        async with activerm.aio.Client(server.target, timeout=60) as client:
            project = await client.create_project(unique_id("aio"), embedding_dim=DIM, pending_ttl=600)
            assert project.info.pending_ttl_s == 600
            await project.add_responses(["a", "b", "c"], ["q", "q", "q"], random_rows(3))
            added = await project.add_comparisons(["a"], ["b"], ["a"], comparison_ids=["k"])
            assert added.comparison_ids == ["k"]
            assert (await project.delete_comparisons(ids=["k"])).num_deleted == 1
            assert (await project.retire_responses(["c"])).num_retired == 1
            sel = await project.select_batch(1, strategy="random")
            assert sel.pending_ttl_s == 600
            assert (await project.release_pairs(sel.selection_id)).num_released == 1
            listed = await project.list_selections()
            assert listed[0].num_released == 1
            await client.delete_project(project.id)

    asyncio.run(main())
