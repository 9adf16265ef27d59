"""Fit, Score, SelectBatch and GetSelection against the real server.

The server answers UNIMPLEMENTED for these four today; these tests pin that the client
maps them and surfaces the code. Replace them when the server side lands. The request
mapping and result parsing are covered against a scripted server in test_fake_server.py.
"""
from __future__ import annotations

import grpc
import pytest

import activerm
from conftest import fill


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("Fit", lambda p: p.fit(seed=1)),
        ("Score", lambda p: p.score(["r0", "r1"])),
        ("Score", lambda p: p.score_pairs([("r0", "r1")])),
        ("SelectBatch", lambda p: p.select_batch(size=2, strategy="greedy_dopt", candidates="cross_prompt", seed=0)),
        ("GetSelection", lambda p: p.get_selection("sel-1")),
    ],
)
def test_model_rpcs_are_unimplemented_for_now(project, method, call):
    fill(project, n=4)
    project.add_comparisons(["r0"], ["r1"], ["a"])
    with pytest.raises(activerm.ActiveRmError) as e:
        call(project)
    assert e.value.code == grpc.StatusCode.UNIMPLEMENTED
    assert e.value.method == method
    assert f"{method} is not implemented in this server version" in e.value.message
