"""API keys and TLS through the client, against a server started with --tls-cert/--tls-key
and --api-keys-file."""
from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest

import activerm
import activerm.aio
from conftest import ADMIN_KEY, DIM, TEAM_KEY, random_rows, unique_id


def test_scoped_key_reaches_its_projects_over_tls(secure_server):
    pid = unique_id("team-a")
    with activerm.Client(secure_server.target, api_key=TEAM_KEY, tls_ca_file=secure_server.cert) as c:
        project = c.create_project(pid, embedding_dim=DIM)
        project.add_responses(["r0", "r1"], ["p", "p"], random_rows(2), chunk_bytes=40)
        assert project.refresh().num_responses == 2
        assert pid in [p.id for p in c.list_projects()]
        project.delete()


def test_missing_or_unknown_key_is_unauthenticated(secure_server):
    for key in (None, "not-a-key"):
        with activerm.Client(secure_server.target, api_key=key, tls_ca_file=secure_server.cert) as c:
            with pytest.raises(activerm.ActiveRmError) as e:
                c.list_projects()
        assert e.value.code == grpc.StatusCode.UNAUTHENTICATED
    with activerm.Client(secure_server.target, tls_ca_file=secure_server.cert) as c:
        with pytest.raises(activerm.ActiveRmError) as e:
            c.get_project("team-a-x")
    assert "Python: Client(..., api_key=...)" in e.value.message


def test_key_outside_its_scope_is_permission_denied_also_mid_stream(secure_server):
    pid = unique_id("team-b")
    with activerm.Client(secure_server.target, api_key=ADMIN_KEY, tls_ca_file=secure_server.cert) as admin:
        other = admin.create_project(pid, embedding_dim=DIM)
        with activerm.Client(secure_server.target, api_key=TEAM_KEY, tls_ca_file=secure_server.cert) as team:
            with pytest.raises(activerm.ActiveRmError) as e:
                team.get_project(pid)
            assert e.value.code == grpc.StatusCode.PERMISSION_DENIED
            assert "may use projects [team-a*], not" in e.value.message
            handle = activerm.Project(team, other.info)
            with pytest.raises(activerm.ActiveRmError) as e:
                handle.add_responses(["a", "b"], ["p", "p"], random_rows(2), chunk_bytes=40)
            assert e.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert other.refresh().num_responses == 0
        other.delete()


def test_plaintext_client_cannot_talk_to_a_tls_server(secure_server):
    with activerm.Client(secure_server.target, api_key=ADMIN_KEY, timeout=10) as c:
        with pytest.raises(activerm.ActiveRmError) as e:
            c.list_projects()
    assert e.value.code == grpc.StatusCode.UNAVAILABLE


def test_aio_client_sends_the_key(secure_server):
    async def go():
        async with activerm.aio.Client(secure_server.target, api_key=TEAM_KEY,
                                       tls_ca_file=secure_server.cert) as c:
            project = await c.create_project(unique_id("team-a"), embedding_dim=DIM)
            await project.add_responses(["r0"], ["p"], np.ones((1, DIM), dtype=np.float32))
            info = await project.refresh()
            await project.delete()
            return info

    assert asyncio.run(go()).num_responses == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"api_key": ""}, "api_key"), ({"api_key": "two words"}, "api_key"), ({"api_key": "ключ"}, "api_key"),
     ({"tls_ca_file": "/nonexistent/ca.pem"}, "tls_ca_file"),
     ({"tls": True, "credentials": grpc.ssl_channel_credentials()}, "credentials")],
)
def test_bad_security_settings_are_rejected(kwargs, field):
    with pytest.raises(activerm.InvalidInputError) as e:
        activerm.Client("127.0.0.1:1", **kwargs)
    assert [v.field for v in e.value.field_violations] == [field]
