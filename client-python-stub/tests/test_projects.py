"""CreateProject / GetProject / ListProjects / DeleteProject through the sync client."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import grpc
import pytest

import activerm
from conftest import DIM, fill, unique_id, violations


def test_create_project_returns_its_info(client):
    pid = unique_id()
    before = datetime.now(timezone.utc)
    project = client.create_project(pid, embedding_dim=16, l2=2.5)
    info = project.info
    assert project.id == pid
    assert (info.embedding_dim, info.head, info.hidden_sizes, info.l2) == (16, "linear", (), 2.5)
    assert (info.num_responses, info.num_comparisons, info.num_prompts) == (0, 0, 0)
    assert (info.num_pending_pairs, info.latest_model_version) == (0, 0)
    assert before - timedelta(seconds=5) <= info.create_time <= datetime.now(timezone.utc) + timedelta(seconds=5)
    client.delete_project(pid)


def test_create_mlp_project_keeps_hidden_sizes_and_defaults_them(client):
    a = client.create_project(unique_id(), embedding_dim=4, head="mlp", hidden_sizes=[32, 16])
    b = client.create_project(unique_id(), embedding_dim=4, head="MLP")
    assert (a.info.head, a.info.hidden_sizes) == ("mlp", (32, 16))
    assert (b.info.head, b.info.hidden_sizes) == ("mlp", (512, 512, 512))
    a.delete()
    b.delete()


def test_get_project_sees_the_counters(client, project):
    fill(project, n=6)
    project.add_comparisons(["r0", "r2"], ["r1", "r3"], ["a", "tie"])
    info = client.get_project(project.id).info
    assert (info.num_responses, info.num_prompts, info.num_comparisons) == (6, 3, 2)
    assert project.info.num_responses == 0, "info is a snapshot"
    assert project.refresh().num_responses == 6
    assert project.info.num_comparisons == 2


def test_list_projects_pages_through_all_in_id_order(client):
    prefix = unique_id("list")
    ids = [f"{prefix}-{k}" for k in ("c", "a", "b")]
    for pid in ids:
        client.create_project(pid, embedding_dim=DIM)
    listed = [p.id for p in client.list_projects(page_size=1) if p.id.startswith(prefix)]
    assert listed == sorted(ids)
    by_id = {p.id: p for p in client.list_projects()}
    assert by_id[ids[0]].info.embedding_dim == DIM
    assert [p.id for p in client.list_projects() if p.id.startswith(prefix)] == sorted(ids)
    for pid in ids:
        client.delete_project(pid)
    assert not [p for p in client.list_projects() if p.id.startswith(prefix)]


def test_delete_project_removes_it(client):
    pid = unique_id()
    project = client.create_project(pid, embedding_dim=DIM)
    fill(project)
    client.delete_project(pid)
    with pytest.raises(activerm.ActiveRmError) as e:
        client.get_project(pid)
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    assert f"project '{pid}' does not exist" in e.value.message
    assert "CreateProject" in e.value.message
    assert violations(e.value) == {"project_id": f"no project '{pid}'"}
    # The id is free again, and the new project starts empty.
    again = client.create_project(pid, embedding_dim=DIM)
    assert again.info.num_responses == 0
    again.delete()


def test_delete_unknown_project_is_not_found(client):
    pid = unique_id("gone")
    with pytest.raises(activerm.ActiveRmError) as e:
        client.delete_project(pid)
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    assert e.value.method == "DeleteProject"
    assert "project_id" in violations(e.value)


def test_create_existing_project_is_already_exists(client, project):
    with pytest.raises(activerm.ActiveRmError) as e:
        client.create_project(project.id, embedding_dim=DIM)
    err = e.value
    assert err.code == grpc.StatusCode.ALREADY_EXISTS
    assert f"project '{project.id}' already exists" in err.message
    assert "choose another project_id" in err.message
    assert violations(err) == {"project_id": f"'{project.id}' is taken"}
    assert str(err).startswith("CreateProject: ALREADY_EXISTS: ")


def test_create_invalid_project_names_every_bad_field(client):
    with pytest.raises(activerm.ActiveRmError) as e:
        client.create_project("has space", embedding_dim=0, l2=-1.0)
    err = e.value
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert not err.client_side
    v = violations(err)
    assert set(v) == {"project_id", "embedding_dim", "l2"}
    assert "' ' (space) at position 3" in v["project_id"]
    assert "1..65536" in v["embedding_dim"]
    assert "finite and > 0" in v["l2"]
    assert err.message.startswith("Invalid CreateProject request:")


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"embedding_dim": 65537}, "embedding_dim", "1..65536"),
        ({"embedding_dim": 4, "l2": float("nan")}, "l2", "finite"),
        ({"embedding_dim": 4, "l2": float("inf")}, "l2", "finite"),
        ({"embedding_dim": 4, "hidden_sizes": [8]}, "head.hidden_sizes", "must be empty for a LINEAR head"),
        ({"embedding_dim": 4, "head": "mlp", "hidden_sizes": [8, 0]}, "head.hidden_sizes[1]", "1..8192"),
        ({"embedding_dim": 4, "head": "mlp", "hidden_sizes": [8] * 9}, "head.hidden_sizes", "at most 8"),
    ],
)
def test_create_project_server_side_validation(client, kwargs, field, text):
    with pytest.raises(activerm.ActiveRmError) as e:
        client.create_project(unique_id(), **kwargs)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert text in violations(e.value)[field]


def test_bad_project_id_on_get_is_invalid_argument(client):
    with pytest.raises(activerm.ActiveRmError) as e:
        client.get_project("bad\tid")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "U+0009 (a control character)" in e.value.message
    assert "project_id" in violations(e.value)


def test_too_long_project_id(client):
    with pytest.raises(activerm.ActiveRmError) as e:
        client.create_project("x" * 257, embedding_dim=4)
    assert "257 characters long; the limit is 256" in violations(e.value)["project_id"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"head": "cnn"}, "head"),
        ({"l2": 0.0}, "l2"),  # 0 would silently mean the default 1.0 on the wire
        ({"l2": "1"}, "l2"),
        ({"embedding_dim": "8"}, "embedding_dim"),
        ({"embedding_dim": 2**31}, "embedding_dim"),
        ({"hidden_sizes": [1.5], "head": "mlp"}, "hidden_sizes[0]"),
    ],
)
def test_create_project_client_side_checks(kwargs, field):
    with activerm.Client("127.0.0.1:1", timeout=5) as offline:
        args = {"embedding_dim": 8, **kwargs}
        with pytest.raises(activerm.InvalidInputError) as e:
            offline.create_project("p", **args)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.client_side
    assert isinstance(e.value, ValueError)
    assert [v.field for v in e.value.field_violations] == [field]


def test_list_projects_page_size_is_checked_client_side():
    with activerm.Client("127.0.0.1:1", timeout=5) as offline:
        with pytest.raises(activerm.InvalidInputError, match="page_size is 1001; use 1..1000"):
            offline.list_projects(page_size=1001)
