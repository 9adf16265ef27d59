"""Client behaviour: deadlines, connection failures, lifecycle, error shape; and the
server's own checks of requests the client never builds (sent through the raw stub,
converted by the client's error mapping)."""
from __future__ import annotations

import inspect
import pathlib
import shutil
import socket
import tempfile
import time

import grpc
import numpy as np
import pytest

import activerm
import activerm.aio
from activerm.v1 import activerm_pb2 as pb
from conftest import DIM, ServerProcess, _server_jar, fill, unique_id, violations


def raw(client, method, request, timeout=30):
    """Calls the generated stub directly, mapping failures like the client does."""
    try:
        return getattr(client._stub, method)(request, timeout=timeout)
    except grpc.RpcError as e:
        raise activerm.ActiveRmError.from_rpc_error(e, method=method, timeout=timeout) from e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_default_timeout_applies_to_every_call(silent_target):
    with activerm.Client(silent_target, timeout=0.2) as fast:
        with pytest.raises(activerm.ActiveRmError) as e:
            fast.list_projects()
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "the client's deadline was 0.2 s; pass a larger timeout=" in e.value.message


def test_per_call_timeout_overrides_the_default(silent_target, project):
    started = time.monotonic()
    with activerm.Client(silent_target, timeout=60) as patient:
        with pytest.raises(activerm.ActiveRmError) as e:
            patient.list_projects(timeout=0.2)
    assert time.monotonic() - started < 30, "the per-call 0.2 s, not the client's 60 s, ended the call"
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "pass a larger timeout=" in e.value.message
    assert "may still have applied" not in e.value.message, "a read changes nothing"
    assert project.refresh().project_id == project.id  # a real server with the default still answers


def test_add_responses_honours_its_timeout(project, silent_target):
    # The same project handle, bound to a server that never answers: the upload's own timeout ends it.
    with activerm.Client(silent_target, timeout=60) as silent:
        stuck = activerm.Project(silent, project.info)
        with pytest.raises(activerm.ActiveRmError) as e:
            stuck.add_responses(["a"], ["p"], np.zeros((1, DIM), dtype=np.float32), timeout=0.2)
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED and e.value.method == "AddResponses"
    assert "The server may still have applied this write: check (e.g. Project.refresh())" in e.value.message


@pytest.mark.parametrize("bad", [0, -1, "10"])
def test_bad_timeouts_are_rejected(server, bad):
    with pytest.raises(activerm.InvalidInputError, match="timeout"):
        activerm.Client(server.target, timeout=bad)
    with activerm.Client(server.target) as c:
        with pytest.raises(activerm.InvalidInputError, match="timeout"):
            c.list_projects(timeout=bad)


def test_no_server_is_unavailable_with_a_hint():
    target = f"127.0.0.1:{free_port()}"
    with activerm.Client(target, timeout=10) as c:
        with pytest.raises(activerm.ActiveRmError) as e:
            c.get_project("p")
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    assert f"is an activerm server running at {target}?" in e.value.message


def test_a_server_answering_unavailable_gets_no_connect_hint(request):
    """The data dir guard's UNAVAILABLE says why; "is a server running?" would send the user the wrong way."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="activerm-pytest-guard-"))
    proc = ServerProcess(_server_jar(request), work)
    try:
        with activerm.Client(proc.target, timeout=30) as c:
            c.create_project(unique_id("guard"), embedding_dim=DIM)
            shutil.rmtree(proc.data_dir)
            with pytest.raises(activerm.ActiveRmError) as e:
                c.list_projects()
        assert e.value.code == grpc.StatusCode.UNAVAILABLE
        assert f"the data dir {proc.data_dir} was deleted" in e.value.message
        assert "is an activerm server running" not in e.value.message
    finally:
        proc.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_closed_client_refuses_calls(server):
    c = activerm.Client(server.target)
    with c:
        assert isinstance(c.list_projects(), list)
    c.close()  # twice is fine
    with pytest.raises(activerm.ActiveRmError) as e:
        c.list_projects()
    assert e.value.code == grpc.StatusCode.CANCELLED and "closed" in e.value.message
    assert "closed" in repr(c)


def test_error_keeps_code_and_renders_violations_once():
    err = activerm.ActiveRmError(
        grpc.StatusCode.NOT_FOUND, "gone:\n  a: missing",
        [activerm.FieldViolation("a", "missing"), activerm.FieldViolation("b", "also missing")], method="X")
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert str(err) == "X: NOT_FOUND: gone:\n  a: missing\n  b: also missing"
    assert not err.client_side


def test_sync_and_aio_surfaces_match():
    for sync_cls, aio_cls in [(activerm.Client, activerm.aio.Client), (activerm.Project, activerm.aio.Project)]:
        public = {n for n in dir(sync_cls) if not n.startswith("_")}
        assert public == {n for n in dir(aio_cls) if not n.startswith("_")}
        for name in public:
            s, a = getattr(sync_cls, name), getattr(aio_cls, name)
            if inspect.isfunction(s):
                assert inspect.signature(s) == inspect.signature(a), name
                assert inspect.iscoroutinefunction(a), f"aio {sync_cls.__name__}.{name} must be async"


# -- the server's checks of malformed requests, through the raw stub


def chunk(project_id, ids, prompts, rows, cols, data):
    return pb.AddResponsesRequest(project_id=project_id, response_ids=ids, prompt_ids=prompts,
                                  embeddings=pb.Matrix(rows=rows, cols=cols, data=data))


def test_server_rejects_matrix_length_mismatch(client, project):
    req = chunk(project.id, ["a"], ["p"], 1, DIM, b"\0" * (DIM * 4 - 1))
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "AddResponses", iter([req]))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "embeddings.data holds 31 bytes but a 1 x 8 float32 matrix needs 32" in e.value.message
    assert violations(e.value) == {"embeddings.data": "length 31 != 32"}


def test_server_rejects_wrong_columns_nan_and_mismatched_rows(client, project):
    bad_cols = chunk(project.id, ["a"], ["p"], 1, DIM + 1, b"\0" * ((DIM + 1) * 4))
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "AddResponses", iter([bad_cols]))
    assert "has embedding_dim 8" in violations(e.value)["embeddings.cols"]

    nan = np.zeros((1, DIM), dtype="<f4")
    nan[0, 2] = np.nan
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "AddResponses", iter([chunk(project.id, ["a"], ["p"], 1, DIM, nan.tobytes())]))
    assert "row 0 (response 'a'), column 2 is NaN; embeddings must be finite" in violations(e.value)["embeddings.data"]

    rows = chunk(project.id, ["a", "b"], ["p"], 1, DIM, b"\0" * (DIM * 4))
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "AddResponses", iter([rows]))
    v = violations(e.value)
    assert "1 embedding rows for 2 response_ids" in v["embeddings.rows"]
    assert "1 prompt_ids for 2 response_ids" in v["prompt_ids"]
    assert project.refresh().num_responses == 0


def test_server_rejects_stream_without_project_or_chunks(client, project):
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "AddResponses", iter([]))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "received no chunks" in e.value.message

    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "AddResponses", iter([chunk("", ["a"], ["p"], 1, DIM, b"\0" * DIM * 4)]))
    assert violations(e.value) == {"project_id": "empty in the first chunk"}

    other = client.create_project(unique_id(), embedding_dim=DIM)
    chunks = [chunk(project.id, ["a"], ["p"], 1, DIM, b"\0" * DIM * 4),
              chunk(other.id, ["b"], ["p"], 1, DIM, b"\0" * DIM * 4)]
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "AddResponses", iter(chunks))
    assert "one AddResponses call writes to one project" in e.value.message
    assert violations(e.value) == {"project_id": "differs from the first chunk"}
    other.delete()


def test_server_rejects_unset_outcome_and_zero_weight_means_one(client, project):
    fill(project, n=2)
    req = pb.AddComparisonsRequest(project_id=project.id, comparisons=[pb.Comparison(a_id="r0", b_id="r1")])
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "AddComparisons", req)
    assert "is unset; use OUTCOME_A" in violations(e.value)["comparisons[0].outcome"]
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "AddComparisons", pb.AddComparisonsRequest(project_id=project.id))
    assert "send 1..1000000 per call" in e.value.message


@pytest.mark.parametrize("method", ["ListProjects", "ListResponses", "ListComparisons"])
def test_server_rejects_foreign_page_tokens(client, project, method):
    fill(project, n=3)
    request_type = getattr(pb, f"{method}Request")
    kwargs = {} if method == "ListProjects" else {"project_id": project.id}
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, method, request_type(page_token="bm90LWEtdG9rZW4", **kwargs))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"page_token is not a token from a previous {method} call" in e.value.message
    assert violations(e.value) == {"page_token": "unrecognised token"}


def test_server_rejects_out_of_range_page_sizes(client, project):
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "ListProjects", pb.ListProjectsRequest(page_size=1001))
    assert violations(e.value) == {"page_size": "must be 0..1000"}
    with pytest.raises(activerm.ActiveRmError) as e:
        raw(client, "ListResponses", pb.ListResponsesRequest(project_id=project.id, page_size=100_001))
    assert violations(e.value) == {"page_size": "must be 0..100000"}
