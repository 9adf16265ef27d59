"""AddComparisons and ListComparisons through the sync client."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import grpc
import numpy as np
import pytest

import activerm
from conftest import fill, violations


def test_round_trip_with_annotators_and_weights(project):
    fill(project, n=6)
    before = datetime.now(timezone.utc)
    result = project.add_comparisons(
        ["r0", "r2", "r4", "r1"], ["r1", "r3", "r5", "r4"], ["a", "b", "tie", "A"],
        annotator_ids=["ann-1", None, "ann-2", "ann-1"], weights=np.array([1.0, 2.5, 0.5, 1e6]))
    assert (result.num_added, result.num_comparisons, result.num_pending_resolved) == (4, 4, 0)

    back = project.list_comparisons()
    assert len(back) == 4
    assert back.a_ids == ["r0", "r2", "r4", "r1"]
    assert back.b_ids == ["r1", "r3", "r5", "r4"]
    assert back.outcomes == ["a", "b", "tie", "a"]
    assert back.annotator_ids == ["ann-1", None, "ann-2", "ann-1"]
    assert back.weights.dtype == np.float64
    np.testing.assert_array_equal(back.weights, [1.0, 2.5, 0.5, 1e6])
    for t in back.create_times:
        assert before - timedelta(seconds=5) <= t <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert project.refresh().num_comparisons == 4


def test_default_weight_is_one_and_calls_append(project):
    fill(project, n=4)
    project.add_comparisons(["r0"], ["r1"], ["b"])
    result = project.add_comparisons(np.array(["r2", "r0"]), np.array(["r3", "r3"]), np.array(["tie", "a"]))
    assert (result.num_added, result.num_comparisons) == (2, 3)
    back = project.list_comparisons(page_size=2)  # two pages
    assert back.a_ids == ["r0", "r2", "r0"]
    np.testing.assert_array_equal(back.weights, [1.0, 1.0, 1.0])
    assert back.annotator_ids == [None, None, None]


def test_list_comparisons_of_an_empty_project(project):
    back = project.list_comparisons()
    assert len(back) == 0 and back.weights.shape == (0,)


def test_unknown_responses_are_not_found_and_nothing_is_stored(project):
    fill(project, n=2)
    with pytest.raises(activerm.ActiveRmError) as e:
        project.add_comparisons(["r0", "ghost", "r1"], ["r1", "r0", "phantom"], ["a", "b", "a"])
    err = e.value
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert "add them with AddResponses first. Nothing was stored" in err.message
    assert violations(err) == {
        "comparisons[1].a_id": f"'ghost' is not a response of project '{project.id}'",
        "comparisons[2].b_id": f"'phantom' is not a response of project '{project.id}'",
    }
    assert project.refresh().num_comparisons == 0


def test_invalid_comparisons_name_every_field(project):
    fill(project, n=3)
    with pytest.raises(activerm.ActiveRmError) as e:
        project.add_comparisons(
            ["r0", "r1", "r0", "bad id"], ["r0", "r2", "r1", "r2"], ["a", "a", "b", "a"],
            annotator_ids=[None, "who?", None, None], weights=[1.0, 1.0, 2e6, 1.0])
    err = e.value
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.message.startswith("Invalid AddComparisons request; nothing was stored:")
    v = violations(err)
    assert set(v) == {"comparisons[0].b_id", "comparisons[1].annotator_id", "comparisons[2].weight",
                      "comparisons[3].a_id"}
    assert "cannot be compared with itself" in v["comparisons[0].b_id"]
    assert "'?'" in v["comparisons[1].annotator_id"]
    assert "(0, 1000000.0]" in v["comparisons[2].weight"]
    assert project.refresh().num_comparisons == 0


def test_comparisons_on_unknown_project_are_not_found(client, project):
    project.delete()
    with pytest.raises(activerm.ActiveRmError) as e:
        project.add_comparisons(["a"], ["b"], ["a"])
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(activerm.ActiveRmError) as e:
        project.list_comparisons()
    assert e.value.code == grpc.StatusCode.NOT_FOUND and e.value.method == "ListComparisons"


@pytest.mark.parametrize(
    ("args", "kwargs", "field", "text"),
    [
        ((["a"], ["b"], ["x"]), {}, "outcomes[0]", "use 'a' (a preferred), 'b' (b preferred) or 'tie'"),
        ((["a"], ["b"], [1]), {}, "outcomes[0]", "must be a str"),
        ((["a", "b"], ["b"], ["a", "a"]), {}, "b_ids", "has 1 entries but there are 2 rows"),
        ((["a"], ["b"], ["a", "b"]), {}, "outcomes", "has 2 entries"),
        (([], [], []), {}, "a_ids", "is empty"),
        ((["a"], ["b"], "a"), {}, "outcomes", "not a single string"),
        ((["a"], ["b"], ["a"]), {"weights": [np.nan]}, "weights[0]", "must be finite and > 0"),
        ((["a"], ["b"], ["a"]), {"weights": [0.0]}, "weights[0]", "must be finite and > 0"),
        ((["a", "b"], ["b", "c"], ["a", "a"]), {"weights": [1.0, -2.0]}, "weights[1]", "is -2.0"),
        ((["a"], ["b"], ["a"]), {"weights": [1.0, 1.0]}, "weights", "must have shape (1,)"),
        ((["a"], ["b"], ["a"]), {"weights": ["w"]}, "weights", "dtype"),
        ((["a"], ["b"], ["a"]), {"annotator_ids": ["x", "y"]}, "annotator_ids", "has 2 entries"),
        ((["a"], ["b"], ["a"]), {"annotator_ids": [7]}, "annotator_ids[0]", "must be a str"),
    ],
)
def test_client_side_checks(offline_project, args, kwargs, field, text):
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.add_comparisons(*args, **kwargs)
    assert text in str(e.value)
    assert e.value.client_side
    assert [v.field for v in e.value.field_violations] == [field]
