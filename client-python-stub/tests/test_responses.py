"""AddResponses (chunked client streaming) and ListResponses through the sync client."""
from __future__ import annotations

import sys

import grpc
import numpy as np
import pytest

import activerm
from activerm import _framing
from activerm.v1 import activerm_pb2 as pb
from conftest import DIM, fill, random_rows, unique_id, violations


def test_round_trip_is_bit_exact_across_many_chunks(project):
    n = 57
    ids = [f"resp-{i}" for i in range(n)]
    prompts = [f"prompt-{i % 5}" for i in range(n)]
    x = random_rows(n, seed=1)
    # 100-byte chunks hold one row each: 57 chunks in one call.
    result = project.add_responses(ids, prompts, x, chunk_bytes=100)
    assert (result.num_added, result.num_responses) == (n, n)

    back = project.list_responses(include_embeddings=True)
    assert back.ids == ids and back.prompt_ids == prompts
    assert back.embeddings.dtype == np.float32 and back.embeddings.shape == (n, DIM)
    assert back.embeddings.tobytes() == x.tobytes()
    assert back.embeddings.flags.writeable
    info = project.refresh()
    assert (info.num_responses, info.num_prompts) == (n, 5)


def test_chunking_splits_by_bytes():
    x = np.zeros((10, 4), dtype=np.float32)  # 16 bytes a row, +64 allowance for ids
    chunks = list(_framing.add_responses_chunks("p", [str(i) for i in range(10)], ["q"] * 10, x, 80 * 3))
    assert [rows for _, rows in chunks] == [3, 3, 3, 1]
    parsed = [pb.AddResponsesRequest.FromString(c) for c, _ in chunks]
    assert parsed[0].project_id == "p" and all(c.project_id == "" for c in parsed[1:])
    assert [len(c.embeddings.data) for c in parsed] == [48, 48, 48, 16]


@pytest.mark.parametrize(("n", "dim", "chunk_bytes"), [(1, 1, 1), (3, 5, 1 << 20), (300, 1024, 1 << 20),
                                                        (130, 7, 500), (2, 70_000, 8 << 20)])
def test_hand_framed_chunks_equal_protobuf_serialization(n, dim, chunk_bytes):
    """The chunks are byte-for-byte what protobuf itself would serialize."""
    x = np.ascontiguousarray(np.random.default_rng(n).standard_normal((n, dim)), dtype="<f4")
    ids = [f"id-{i}" for i in range(n)]
    prompts = [f"prompt-{i % 3}" for i in range(n)]
    start = 0
    for k, (encoded, rows) in enumerate(_framing.add_responses_chunks("proj", ids, prompts, x, chunk_bytes)):
        expected = pb.AddResponsesRequest(
            project_id="proj" if k == 0 else "",
            response_ids=ids[start:start + rows], prompt_ids=prompts[start:start + rows],
            embeddings=pb.Matrix(rows=rows, cols=dim, data=x[start:start + rows].tobytes()))
        assert encoded == expected.SerializeToString()
        start += rows
    assert start == n


def test_second_call_appends(project):
    fill(project, n=4, prefix="a")
    result = project.add_responses(["b0", "b1"], ["p9", "p9"], random_rows(2, seed=7))
    assert (result.num_added, result.num_responses) == (2, 6)
    assert project.list_responses().ids == ["a0", "a1", "a2", "a3", "b0", "b1"]


def test_list_responses_without_embeddings_and_paged(project):
    ids, prompts, _ = fill(project, n=23)
    back = project.list_responses(page_size=5)
    assert back.embeddings is None
    assert back.ids == ids and back.prompt_ids == prompts
    assert len(back) == 23


def test_list_responses_by_id_keeps_the_order_asked_for(project):
    ids, prompts, x = fill(project, n=10)
    back = project.list_responses(["r7", "r2", "r9"], include_embeddings=True)
    assert back.ids == ["r7", "r2", "r9"]
    assert back.prompt_ids == [prompts[7], prompts[2], prompts[9]]
    np.testing.assert_array_equal(back.embeddings, x[[7, 2, 9]])
    # page_size also splits id lists into several calls.
    again = project.list_responses(ids[::-1], include_embeddings=True, page_size=3)
    np.testing.assert_array_equal(again.embeddings, x[::-1])


def test_list_responses_of_an_empty_project(project):
    back = project.list_responses(include_embeddings=True)
    assert back.ids == [] and back.embeddings.shape == (0, DIM)


def test_unknown_ids_on_list_are_not_found(project):
    fill(project, n=3)
    with pytest.raises(activerm.ActiveRmError) as e:
        project.list_responses(["r0", "nope", "r1", "nada"])
    err = e.value
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert err.message.startswith("Unknown response ids:")
    assert violations(err) == {
        "response_ids[1]": f"'nope' is not a response of project '{project.id}'",
        "response_ids[3]": f"'nada' is not a response of project '{project.id}'",
    }


def test_float64_and_small_int_inputs_are_converted(project):
    x64 = np.random.default_rng(3).standard_normal((3, DIM))
    project.add_responses(["f0", "f1", "f2"], ["p", "p", "p"], x64)
    xi = np.arange(2 * DIM, dtype=np.int16).reshape(2, DIM)
    project.add_responses(["i0", "i1"], ["p", "p"], xi)
    back = project.list_responses(include_embeddings=True).embeddings
    np.testing.assert_array_equal(back[:3], x64.astype(np.float32))
    np.testing.assert_array_equal(back[3:], xi.astype(np.float32))


def test_non_contiguous_and_big_endian_inputs_are_sent_correctly(project):
    base = random_rows(6, dim=2 * DIM, seed=4)
    strided = base[:, ::2]  # not C-contiguous
    big_endian = random_rows(2, seed=5).astype(">f4")
    project.add_responses([f"s{i}" for i in range(6)], ["p"] * 6, strided)
    project.add_responses(["b0", "b1"], ["p", "p"], big_endian)
    back = project.list_responses(include_embeddings=True).embeddings
    np.testing.assert_array_equal(back[:6], strided)
    np.testing.assert_array_equal(back[6:], big_endian.astype(np.float32))


def test_numpy_string_arrays_work_as_ids(project):
    ids = np.array(["n0", "n1"])
    project.add_responses(ids, np.array(["p0", "p0"]), random_rows(2))
    assert project.list_responses().ids == ["n0", "n1"]


def test_upload_bigger_than_one_default_chunk_and_4mib_pages(client):
    """About 12 MiB: two 8 MiB chunks up, and one 12 MiB page down, which needs the
    client's 64 MiB receive limit (gRPC's default is 4 MiB)."""
    project = client.create_project(unique_id("big"), embedding_dim=1024)
    n = 3000
    x = random_rows(n, dim=1024, seed=9)
    ids = [f"r{i}" for i in range(n)]
    assert project.add_responses(ids, ["p"] * n, x).num_added == n
    back = project.list_responses(include_embeddings=True, page_size=n)
    assert back.embeddings.tobytes() == x.tobytes()
    # The limit is the client's own setting: a 1 MiB client cannot take that page.
    with activerm.Client(client.target, max_message_bytes=1 << 20) as small:
        with pytest.raises(activerm.ActiveRmError) as e:
            small.get_project(project.id).list_responses(include_embeddings=True, page_size=n)
        assert e.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    project.delete()


def test_progress_bar_when_asked(project, capsys):
    ids = [f"r{i}" for i in range(40)]
    project.add_responses(ids, ["p"] * 40, random_rows(40), chunk_bytes=100, progress=True)
    err = capsys.readouterr().err
    assert "add_responses" in err and "40" in err


def test_progress_without_tqdm_warns_and_uploads_anyway(offline_project, monkeypatch):
    from activerm import _framing

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    monkeypatch.setattr(_framing, "_warned_no_tqdm", False)
    with pytest.warns(UserWarning, match=r"progress=True needs tqdm: pip install 'activerm\[progress\]'"):
        with pytest.raises(activerm.ActiveRmError) as e:
            offline_project.add_responses(["a"], ["p"], random_rows(1), progress=True)
    assert e.value.code == grpc.StatusCode.UNAVAILABLE  # it went on to the (missing) server


# -- server-side errors


def test_ids_already_stored_are_already_exists_and_nothing_is_stored(project):
    fill(project, n=3)
    with pytest.raises(activerm.ActiveRmError) as e:
        project.add_responses(["new0", "r1", "new1", "r2"], ["p"] * 4, random_rows(4))
    err = e.value
    assert err.code == grpc.StatusCode.ALREADY_EXISTS
    assert "nothing from this call was stored" in err.message
    assert [v.field for v in err.field_violations] == ["response_ids[1]", "response_ids[3]"]
    assert "row 1 of the call: 'r1' is already in the project" in err.field_violations[0].description
    assert project.refresh().num_responses == 3


def test_duplicate_ids_within_a_call_are_invalid(project):
    with pytest.raises(activerm.ActiveRmError) as e:
        project.add_responses(["x", "y", "x"], ["p"] * 3, random_rows(3))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "'x' appears twice in this call" in violations(e.value)["response_ids[2]"]


def test_bad_ids_and_prompt_ids_are_invalid(project):
    with pytest.raises(activerm.ActiveRmError) as e:
        project.add_responses(["ok", "not ok"], ["", "p"], random_rows(2))
    v = violations(e.value)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "' ' (space)" in v["response_ids[1]"]
    assert "is empty" in v["prompt_ids[0]"]
    assert project.refresh().num_responses == 0


def test_a_bad_last_chunk_stores_nothing_from_earlier_chunks(project):
    n = 20
    ids = [f"r{i}" for i in range(n - 1)] + ["bad id"]
    with pytest.raises(activerm.ActiveRmError) as e:
        project.add_responses(ids, ["p"] * n, random_rows(n), chunk_bytes=100)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "chunk 19" in e.value.message
    assert project.refresh().num_responses == 0
    assert project.list_responses().ids == []


def test_upload_to_a_deleted_project_is_not_found(client):
    project = client.create_project(unique_id(), embedding_dim=DIM)
    project.delete()
    with pytest.raises(activerm.ActiveRmError) as e:
        project.add_responses(["a"], ["p"], random_rows(1))
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    assert e.value.method == "AddResponses"
    assert "does not exist" in e.value.message


# -- client-side checks: an offline client proves nothing was sent (it would say UNAVAILABLE)


@pytest.mark.parametrize(
    ("embeddings", "field", "text"),
    [
        (np.ones((2, DIM), dtype=np.complex64), "embeddings", "does not convert safely to float32"),
        (np.ones((2, DIM), dtype=object), "embeddings", "does not convert safely"),
        (np.ones((2, DIM), dtype=bool), "embeddings", "does not convert safely"),
        (np.ones((2, DIM), dtype=np.int64), "embeddings", "does not convert safely"),
        (np.array([["a"] * DIM] * 2), "embeddings", "does not convert safely"),
        (np.ones(DIM, dtype=np.float32), "embeddings", "must be 2-D (n, D), got shape (8,); use x.reshape(1, -1)"),
        (np.ones((2, DIM, 1), dtype=np.float32), "embeddings", "must be 2-D"),
        (np.ones((2, DIM + 1), dtype=np.float32), "embeddings", "has 9 columns but the project's embedding_dim is 8"),
        ([[1.0] * DIM] * 2, None, None),  # nested lists are fine (converted)
        ("not an array", "embeddings", "must be a numpy array"),
    ],
)
def test_bad_embeddings_are_rejected_before_sending(offline_project, embeddings, field, text):
    if field is None:
        # Valid input: the offline client gets as far as the network, which proves the
        # other cases stopped earlier.
        with pytest.raises(activerm.ActiveRmError) as e:
            offline_project.add_responses(["a", "b"], ["p", "p"], embeddings, timeout=5)
        assert e.value.code == grpc.StatusCode.UNAVAILABLE
        assert "is an activerm server running at 127.0.0.1:1?" in e.value.message
        return
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.add_responses(["a", "b"], ["p", "p"], embeddings)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and e.value.client_side
    assert text in e.value.message
    assert [v.field for v in e.value.field_violations] == [field]


@pytest.mark.parametrize(("value", "shown"), [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_embeddings_are_rejected_with_their_position(offline_project, value, shown):
    x = random_rows(4)
    x[2, 5] = value
    x[3, 0] = value
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.add_responses(list("abcd"), ["p"] * 4, x)
    assert f"2 values are not, the first at row 2, column 5: {shown}" in e.value.message
    assert [v.field for v in e.value.field_violations] == ["embeddings[2, 5]"]


def test_float64_values_that_overflow_float32_are_rejected(offline_project):
    x = np.zeros((1, DIM))
    x[0, 3] = 1e39
    with pytest.raises(activerm.InvalidInputError, match=r"column 3: 1e\+39 \(overflows float32\)"):
        offline_project.add_responses(["a"], ["p"], x)


@pytest.mark.parametrize(
    ("ids", "prompt_ids", "field", "text"),
    [
        (["a"], ["p", "p"], "ids", "has 1 entries but there are 2 rows"),
        (["a", "b", "c"], ["p", "p"], "ids", "has 3 entries but there are 2 rows"),
        (["a", "b"], ["p"], "prompt_ids", "has 1 entries but there are 2 rows"),
        ("ab", ["p", "p"], "ids", "not a single string"),
        (["a", 2], ["p", "p"], "ids[1]", "must be a str, got int"),
        (["a", "b"], None, "prompt_ids", "must be a sequence of str ids"),
    ],
)
def test_ids_must_line_up_with_rows(offline_project, ids, prompt_ids, field, text):
    with pytest.raises(activerm.InvalidInputError) as e:
        offline_project.add_responses(ids, prompt_ids, random_rows(2))
    assert text in e.value.message
    assert [v.field for v in e.value.field_violations] == [field]


def test_empty_upload_and_bad_chunk_size_are_rejected(offline_project):
    with pytest.raises(activerm.InvalidInputError, match="has no rows"):
        offline_project.add_responses([], [], np.zeros((0, DIM), dtype=np.float32))
    with pytest.raises(activerm.InvalidInputError, match="chunk_bytes is 0"):
        offline_project.add_responses(["a"], ["p"], random_rows(1), chunk_bytes=0)
    with pytest.raises(activerm.InvalidInputError, match="chunk_bytes"):
        offline_project.add_responses(["a"], ["p"], random_rows(1), chunk_bytes=100 << 20)


def test_list_responses_page_size_checked_client_side(offline_project):
    with pytest.raises(activerm.InvalidInputError, match="page_size is 100001"):
        offline_project.list_responses(page_size=100_001)
