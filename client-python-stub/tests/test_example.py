"""examples/rlhf_loop.py runs end to end against the test server on a tiny setting: it
completes, prints one row per round with a finite Spearman per strategy, and deletes its
projects. (The science, whether active labeling beats random, is not asserted here.)"""
from __future__ import annotations

import importlib.util
import math
import pathlib
import subprocess
import sys

import pytest

from conftest import unique_id

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "rlhf_loop.py"


@pytest.mark.parametrize(("head", "strategies", "extra"), [("linear", ["random", "greedy_dopt"], []),
                                                           ("mlp", ["dopt", "bald"], []),
                                                           ("linear", ["dopt"], ["--prompts-per-round", "4"])])
def test_rlhf_loop_runs_on_a_tiny_setting(server, client, head, strategies, extra):
    prefix = unique_id("loop")
    rounds = 3
    args = [sys.executable, str(EXAMPLE), "--target", server.target, "--strategies", ",".join(strategies),
            "--prompts", "8", "--per-prompt", "3", "--holdout-prompts", "4", "--dim", "4", "--rounds", str(rounds),
            "--batch", "3", "--warmup", "4", "--max-candidates", "200", "--head", head, "--hidden", "4",
            "--epochs", "2", "--project-prefix", prefix, *extra]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["round", "labels"])
    assert lines[header].split()[2:] == strategies
    rows = [line.split() for line in lines[header + 1:header + 2 + rounds]]
    assert [int(r[0]) for r in rows] == list(range(rounds + 1))
    assert [int(r[1]) for r in rows] == [4 + 3 * i for i in range(rounds + 1)]
    for r in rows:
        values = [float(v) for v in r[2:]]
        assert len(values) == len(strategies)
        assert all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in values), r
    if len(strategies) > 1:
        assert rows[0][2] == rows[0][3]  # the same random warm-up pairs and labels for every strategy
    mean = lines[header + 2 + rounds].split()
    assert mean[0] == "mean" and all(math.isfinite(float(v)) for v in mean[2:])
    assert not [p.id for p in client.list_projects() if p.id.startswith(prefix)]


def test_rlhf_loop_defaults_to_localhost():
    spec = importlib.util.spec_from_file_location("rlhf_loop", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.parse_args([])
    assert args.target == "localhost:50051"
    assert args.strategies.split(",") == ["random", "greedy_dopt"]
