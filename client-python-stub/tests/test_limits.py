"""The server's resource limits reach the user as RESOURCE_EXHAUSTED with the limit named,
and nothing of the refused call is stored."""
from __future__ import annotations

import grpc
import pytest

import activerm
from conftest import random_rows


def rows(prefix: str, n: int):
    return [f"{prefix}{i}" for i in range(n)], ["p"] * n, random_rows(n, dim=1024)


def test_limits(limited_server):
    with activerm.Client(limited_server.target, timeout=60) as client:
        a = client.create_project("limits-a", embedding_dim=1024)
        client.create_project("limits-b", embedding_dim=1024)
        with pytest.raises(activerm.ActiveRmError) as e:
            client.create_project("limits-c", embedding_dim=1024)
        assert e.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "its limit (--max-projects) is 2; delete projects you no longer need" in e.value.message

        # 300 rows x 4 KiB = 1.2 MB in one call: over --max-call-mib 1, even in 64 KiB chunks.
        with pytest.raises(activerm.ActiveRmError) as e:
            a.add_responses(*rows("big", 300), chunk_bytes=64 << 10)
        assert e.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "(--max-call-mib). Nothing was stored: split the upload into several calls" in e.value.message
        assert a.refresh().num_responses == 0

        # 200 rows (0.8 MB) per call fits; the third call would take the pool past 2 MiB.
        a.add_responses(*rows("x", 200))
        a.add_responses(*rows("y", 200))
        with pytest.raises(activerm.ActiveRmError) as e:
            a.add_responses(*rows("z", 200))
        assert e.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "limit (--max-pool-mib-per-project) is 2 MiB. Nothing was stored" in e.value.message
        assert a.refresh().num_responses == 400
