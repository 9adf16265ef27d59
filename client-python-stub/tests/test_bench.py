"""The label-efficiency benchmark (python -m activerm.bench): the tiny preset end to end
against the test server, and its numpy metrics against direct references. The science is
judged from the fast/full presets' numbers (docs/benchmarks.md), not here."""
from __future__ import annotations

import csv
import math
import subprocess
import sys

import numpy as np
import pytest

from activerm.bench import ROUND_COLUMNS, STRATEGIES, preset
from activerm.bench import _metrics as mx
from activerm.bench._report import SUMMARY_COLUMNS
from activerm.bench._sim import (annotate, make_world, round_candidate_count, round_candidates, round_prompt_ids,
                                 toy_reward)


def _read(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


@pytest.fixture(scope="module")
def tiny_run(server, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "activerm.bench", "--preset", "tiny", "--target", server.target, "--out", str(out)],
        capture_output=True, text=True, timeout=900)
    return proc, out


def test_tiny_preset_runs_without_errors(tiny_run):
    proc, out = tiny_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    header, errors = _read(out / "errors.csv")
    assert errors == []


def test_rounds_csv_has_every_run_round_and_finite_numbers(tiny_run):
    _, out = tiny_run
    header, rows = _read(out / "rounds.csv")
    assert tuple(header) == ROUND_COLUMNS
    cfg = preset("tiny")
    expected = {(sc.name, mode, strat, seed, r)
                for sc in cfg.scenarios for mode in sc.modes for strat in STRATEGIES
                for seed in range(cfg.seeds) for r in range(sc.rounds + 1)}
    got = {(r["scenario"], r["candidates"], r["strategy"], int(r["seed"]), int(r["round"])) for r in rows}
    assert got == expected
    assert len(rows) == len(expected)
    numeric = [c for c in ROUND_COLUMNS if c not in ("scenario", "head", "candidates", "strategy")]
    by_name = {sc.name: sc for sc in cfg.scenarios}
    for r in rows:
        for c in numeric:
            if c in ("log_det_gain", "relative_gain") and int(r["round"]) == 0:
                # Round 0's batch is chosen before the first model: no information measured.
                assert math.isnan(float(r[c])), (c, r)
                continue
            assert math.isfinite(float(r[c])), (c, r)
        sc = by_name[r["scenario"]]
        assert int(r["labels"]) == sc.labels_after(int(r["round"]))  # every selected pair was labeled
        assert -1 <= float(r["spearman"]) <= 1 and 0 <= float(r["pair_accuracy"]) <= 1
        assert float(r["select_s"]) >= 0 and float(r["fit_s"]) >= 0
        assert int(r["num_candidates"]) >= sc.batch_size
        # The server drew them from the round's prompts, capped at the within_prompt count; the
        # cross_prompt sampler fills the cap (8 prompts x 4 responses: 496 pairs for a cap of 48).
        cap = sc.prompts_per_round * sc.responses_per_prompt * (sc.responses_per_prompt - 1) // 2
        assert int(r["num_candidates"]) <= cap
        if r["candidates"] == "cross_prompt":
            assert int(r["num_candidates"]) == cap


def test_summary_and_markdown(tiny_run):
    _, out = tiny_run
    header, rows = _read(out / "summary.csv")
    assert tuple(header) == SUMMARY_COLUMNS
    assert rows and all(math.isfinite(float(r[c])) for r in rows for c in SUMMARY_COLUMNS[5:])
    assert {int(r["seeds"]) for r in rows} == {preset("tiny").seeds}
    md = (out / "results.md").read_text()
    for heading in ("### embedding, within_prompt", "### embedding, cross_prompt", "### toy2d, cross_prompt",
                    "### Targets, computed"):
        assert heading in md
    assert "failed (see errors)" not in md
    assert "restricted to each round's prompts (prompt_ids)" in md


def test_rebuild_rewrites_the_report_from_the_csv(tiny_run):
    _, out = tiny_run
    before = (out / "results.md").read_text()
    (out / "results.md").unlink()
    (out / "summary.csv").unlink()
    proc = subprocess.run([sys.executable, "-m", "activerm.bench", "--rebuild", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    after = (out / "results.md").read_text()
    assert after.splitlines()[:13] == before.splitlines()[:13]  # header, command, scenarios, first table header
    header, rows = _read(out / "summary.csv")
    assert tuple(header) == SUMMARY_COLUMNS and rows


def test_report_without_matplotlib_writes_csv_and_markdown_only(tiny_run, tmp_path, monkeypatch):
    from activerm.bench._report import read_rows, write_all
    from activerm.bench._runner import ERROR_COLUMNS
    _, out = tiny_run
    rows = read_rows(out / "rounds.csv", ROUND_COLUMNS)
    errors = read_rows(out / "errors.csv", ERROR_COLUMNS)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    paths = write_all(tmp_path, rows, errors, preset("tiny"), "cmd", 1.0)
    assert not any(k.startswith("png:") for k in paths) and not list(tmp_path.glob("*.png"))
    assert "![" not in (tmp_path / "results.md").read_text()
    assert (tmp_path / "summary.csv").stat().st_size > 0


def test_rankdata_and_spearman_match_direct_formulas():
    assert mx.rankdata(np.array([3.0, 1.0, 2.0, 2.0])).tolist() == [4.0, 1.0, 2.5, 2.5]
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(50), rng.standard_normal(50)
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))  # no ties: plain ranks
    d = rx - ry
    assert mx.spearman(x, y) == pytest.approx(1 - 6 * np.sum(d**2) / (50 * (50**2 - 1)), abs=1e-12)
    assert mx.spearman(x, 2 * x + 1) == pytest.approx(1.0)
    assert mx.spearman(x, np.zeros(50)) == 0.0


def test_pairwise_accuracy_and_best_of_n():
    rng = np.random.default_rng(1)
    gold = rng.standard_normal((3, 100))
    assert mx.pairwise_accuracy(gold, gold) == 1.0
    assert mx.pairwise_accuracy(-gold, gold) == 0.0
    assert mx.pairwise_accuracy(np.zeros_like(gold), gold) == 0.5
    subsets = mx.best_of_n_subsets(3, 100, draws=4, seed=0)
    assert sorted(subsets) == [5, 10, 50, 100] and subsets[100].shape == (3, 1, 100)
    oracle = mx.best_of_n(gold, gold, subsets)
    assert oracle[100] == pytest.approx(gold.max(axis=1).mean())
    assert oracle[5] == pytest.approx(np.mean([[gold[p, s].max() for s in subsets[5][p]] for p in range(3)]))
    assert mx.best_of_n(-gold, gold, subsets)[100] == pytest.approx(gold.min(axis=1).mean())


def test_round_candidates_respect_the_mode():
    w = make_world("embedding", dim=6, train_prompts=20, responses_per_prompt=4, eval_prompts=2,
                   eval_responses=10, response_scale=0.5, seed=3)
    prompts = np.array([1, 5, 7, 11])
    rows = set(np.concatenate([w.prompt_rows[p] for p in prompts]).tolist())
    wa, wb = round_candidates(w, prompts, "within_prompt", np.random.default_rng(0))
    ca, cb = round_candidates(w, prompts, "cross_prompt", np.random.default_rng(0))
    assert len(wa) == len(ca) == 4 * 6
    assert np.all(w.pool_prompt_index[wa] == w.pool_prompt_index[wb])
    assert np.all(w.pool_prompt_index[ca] != w.pool_prompt_index[cb])
    assert set(ca.tolist()) | set(cb.tolist()) <= rows and set(wa.tolist()) | set(wb.tolist()) == rows
    assert len({(min(a, b), max(a, b)) for a, b in zip(ca.tolist(), cb.tolist())}) == len(ca)


def test_round_prompt_ids_and_candidate_count_match_the_explicit_path():
    w = make_world("embedding", dim=6, train_prompts=20, responses_per_prompt=5, eval_prompts=2,
                   eval_responses=10, response_scale=0.5, seed=3)
    prompts = np.array([4, 0, 13])
    ids = round_prompt_ids(w, prompts)
    assert ids == ["p4", "p0", "p13"]
    assert all(w.pool_prompts[r] == pid for p, pid in zip(prompts, ids) for r in w.prompt_rows[p])
    a, _ = round_candidates(w, prompts, "within_prompt", np.random.default_rng(0))
    c, _ = round_candidates(w, prompts, "cross_prompt", np.random.default_rng(0))
    assert round_candidate_count(w, prompts) == len(a) == len(c) == 3 * 10


def test_explicit_candidates_path_still_runs(server, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "activerm.bench", "--preset", "tiny", "--target", server.target, "--out", str(tmp_path),
         "--seeds", "1", "--strategies", "random,greedy_dopt", "--scenarios", "embedding",
         "--candidates-from", "explicit"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    _, rows = _read(tmp_path / "rounds.csv")
    assert len(rows) == 2 * 2 * 3  # modes x strategies x rounds
    assert "explicit pairs built client-side" in (tmp_path / "results.md").read_text()


def test_dim_override_reaches_the_server_at_2048(server, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "activerm.bench", "--preset", "tiny", "--target", server.target, "--out", str(tmp_path),
         "--seeds", "1", "--strategies", "random,greedy_dopt", "--scenarios", "embedding", "--modes", "cross_prompt",
         "--dim", "2048"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    _, rows = _read(tmp_path / "rounds.csv")
    assert len(rows) == 2 * 3  # strategies x rounds
    assert all(math.isfinite(float(r["spearman"])) for r in rows)
    assert "D = 2048" in (tmp_path / "results.md").read_text()


def test_dim_override_touches_embedding_worlds_only_and_is_checked():
    from activerm.bench import narrowed
    full = narrowed(preset("full"), dim=1024)
    assert {s.name: s.dim for s in full.scenarios} == {"embedding": 1024, "embedding-mlp": 1024, "toy2d": 2}
    for bad in (1, 2049):
        with pytest.raises(ValueError, match="use 2..2048"):
            narrowed(preset("full"), dim=bad)


def test_world_and_annotator():
    w = make_world("toy", dim=2, train_prompts=10, responses_per_prompt=3, eval_prompts=2, eval_responses=5,
                   response_scale=0.5, seed=0)
    raw = toy_reward(w.pool_x)
    assert w.pool_gold.mean() == pytest.approx(0, abs=1e-9) and w.pool_gold.std() == pytest.approx(1)
    assert np.corrcoef(raw, w.pool_gold)[0, 1] == pytest.approx(1)
    assert toy_reward(np.array([[0.0, 1 / 3]]))[0] == pytest.approx(
        5 * (3 - 3 * np.exp(-(4 / 3) ** 2) - 10 * np.exp(-1 - 1 / 9)), rel=1e-12)
    labels = annotate(np.full(4000, 1.0), np.zeros(4000), beta=1.0, rng=np.random.default_rng(0))
    assert np.mean(np.array(labels) == "a") == pytest.approx(1 / (1 + np.exp(-1)), abs=0.03)


def test_extra_scenarios_only_when_named():
    from activerm.bench import narrowed
    fast = preset("fast")
    assert "embedding-linear-golden" not in {s.name for s in fast.scenarios}
    diag = narrowed(fast, scenarios=("embedding-linear-golden",), seeds=2)
    assert [s.name for s in diag.scenarios] == ["embedding-linear-golden"] and diag.seeds == 2
    with pytest.raises(ValueError, match="unknown scenario"):
        narrowed(fast, scenarios=("nope",))


def test_linear_golden_is_linear_and_teacher_is_not():
    def residual(golden):
        w = make_world("embedding", dim=8, train_prompts=50, responses_per_prompt=4, eval_prompts=2,
                       eval_responses=10, response_scale=0.5, seed=1, golden=golden)
        x = np.c_[w.pool_x.astype(np.float64), np.ones(len(w.pool_x))]
        coef, *_ = np.linalg.lstsq(x, w.pool_gold, rcond=None)
        return np.var(w.pool_gold - x @ coef)
    assert residual("linear") < 1e-10
    assert residual("teacher") > 0.01  # about 5% of the variance at D = 8


def test_stop_rule_on_hand_made_rounds():
    """_stop.stop_round against the rule written out (docs/operations.md): relative gain below
    0.35 and the pool variance falling by < 15% over the fit before, two rounds running."""
    from activerm.bench._stop import flat_labels, stop_round

    def run(gains, variances):
        return [{"round": r, "relative_gain": g, "pool_mean_variance": v} for r, (g, v) in
                enumerate(zip(gains, variances))]

    nan = float("nan")
    # Before round q's batch the latest fit is q-1: round 3 sees gain 0.3 but the variance of
    # fit 1 -> 2 fell 29%; round 4: 0.2 and 0.50 -> 0.45 (-10%); round 5: 0.1 and 0.45 -> 0.42: stop at 5.
    assert stop_round(run([nan, 1.0, 0.5, 0.3, 0.2, 0.1], [1.0, 0.7, 0.5, 0.45, 0.42, 0.41])) == 5
    # The gain is low but the variance still falls fast: no stop.
    assert stop_round(run([nan, 1.0, 0.3, 0.2, 0.1], [1.0, 0.5, 0.25, 0.12, 0.06])) is None
    # One quiet round is not enough (k = 2); the streak restarts after a loud one.
    assert stop_round(run([nan, 1.0, 0.3, 0.9, 0.3, 0.3], [1.0, 0.95, 0.94, 0.93, 0.92, 0.91])) == 5
    # Flattening: 0 -> 1 over labels 0..40 rising 0, 0.5, 0.9, 0.97, 1.0: 95% of the rise is between 20 and 30.
    assert flat_labels([(0, 0.0), (10, 0.5), (20, 0.9), (30, 0.97), (40, 1.0)]) == pytest.approx(20 + 10 * 0.05 / 0.07)


# --dataset on the committed pools (tests/data/make_bench_pools.py): the tiny preset's
# schedules, every strategy, in golden-reward mode (.npz) and replay mode (Parquet).
DATA = __import__("pathlib").Path(__file__).resolve().parent / "data"
DATASET_RUNS = {
    "golden": (["--dataset", str(DATA / "pool_golden.npz")], "pool_golden", ("within_prompt", "cross_prompt")),
    "replay": (["--dataset", str(DATA / "pool_replay.parquet"), "--preferences",
                str(DATA / "pool_replay_preferences.parquet")], "pool_replay", ("recorded",)),
}


@pytest.mark.parametrize("mode", sorted(DATASET_RUNS))
def test_tiny_preset_on_a_dataset_file(server, tmp_path, mode):
    from activerm.bench._dataset_world import with_dataset
    args, stem, modes = DATASET_RUNS[mode]
    proc = subprocess.run([sys.executable, "-m", "activerm.bench", "--preset", "tiny", "--target", server.target,
                           "--out", str(tmp_path)] + args, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert _read(tmp_path / "errors.csv")[1] == []
    cfg = with_dataset(preset("tiny"), *args[1::2])
    assert {sc.name for sc in cfg.scenarios} == {f"{stem}-linear", f"{stem}-mlp8x8"}
    expected = {(sc.name, m, strat, seed, r) for sc in cfg.scenarios for m in sc.modes for strat in STRATEGIES
                for seed in range(cfg.seeds) for r in range(sc.rounds + 1)}
    assert {m for sc in cfg.scenarios for m in sc.modes} <= set(modes)
    _, rows = _read(tmp_path / "rounds.csv")
    got = {(r["scenario"], r["candidates"], r["strategy"], int(r["seed"]), int(r["round"])) for r in rows}
    assert got == expected and len(rows) == len(expected)
    by_name = {sc.name: sc for sc in cfg.scenarios}
    for r in rows:
        sc = by_name[r["scenario"]]
        assert int(r["labels"]) == sc.labels_after(int(r["round"]))
        assert -1 <= float(r["spearman"]) <= 1 and 0 <= float(r["pair_accuracy"]) <= 1
        n = int(r["num_candidates"])
        if mode == "replay":  # recorded pairs of the round's 5 prompts (4 responses: 6 each), minus labeled ones
            assert sc.batch_size <= n <= sc.prompts_per_round * 6
            assert math.isnan(float(r["best_of_5"]))  # no held-out rewards: evaluated on recorded pairs
        else:
            assert n >= sc.batch_size and math.isfinite(float(r["best_of_5"]))
    md = (tmp_path / "results.md").read_text()
    assert f"dataset `{args[1]}`" in md and "failed (see errors)" not in md
    assert ("recorded preferences (replay)" in md) == (mode == "replay")
    header = md.splitlines()[0]  # where the candidates came from, said once for the run
    assert ("the server's within_prompt" in header) == (mode != "replay"), header
    assert ("recorded pairs of each round's prompts (replay)" in header) == (mode == "replay"), header


def _runs(rows):
    by_run = {}
    for r in rows:
        by_run.setdefault((r["scenario"], r["candidates"], r["strategy"], r["seed"]), []).append(r)
    return {k: sorted(v, key=lambda r: int(r["round"])) for k, v in by_run.items()}


def test_mlp_training_budget_is_the_same_in_every_round(tiny_run):
    """The MLP's optimiser steps per Fit must not grow with the labels (issue 12 §2): the tiny
    toy2d trains 20 full-batch Adam steps at 8, 14 and 20 labels. fit_steps comes from the
    server's FitReport (epochs run) and the trainer's min(batch, labels) minibatch rule."""
    _, out = tiny_run
    _, rows = _read(out / "rounds.csv")
    toy = {k: v for k, v in _runs(rows).items() if k[0] == "toy2d"}
    assert toy
    for key, run in toy.items():
        labels = [int(r["labels"]) for r in run]
        assert labels == sorted(set(labels)) and len(labels) == 3, key  # the labels grow ...
        assert [int(float(r["fit_steps"])) for r in run] == [20, 20, 20], key  # ... the budget does not
        assert all(math.isfinite(float(r["train_loss"])) for r in run)
    md = (out / "results.md").read_text()
    assert "Training budget per Fit: 20 full-batch Adam steps, lr 0.01, in every round (constant)" in md


def test_old_protocol_budget_grows_and_every_other_preset_is_constant():
    from activerm.bench._config import PRESETS, adam_steps, full_batch_adam
    old = preset("full-epochs")
    toy = next(s for s in old.scenarios if s.name == "toy2d")
    assert adam_steps(toy.fit, 60, 32) == 60 and adam_steps(toy.fit, 60, 512) == 480  # the numbers
    assert "grows with the labels" in toy.budget()
    assert adam_steps(full_batch_adam(1000), 1000, 10) == adam_steps(full_batch_adam(1000), 1000, 999_999) == 1000
    for name in PRESETS:
        if name.endswith("-epochs"):
            continue
        cfg = preset(name)
        for sc in cfg.scenarios + cfg.extra_scenarios:
            if sc.head != "mlp":
                continue
            epochs = sc.fit["epochs"]
            first, last = sc.labels_after(0), sc.labels_after(sc.rounds)
            assert adam_steps(sc.fit, epochs, first) == adam_steps(sc.fit, epochs, last) == epochs, (name, sc.name)


def test_every_mlp_scenario_sets_its_epochs():
    """The benchmark states each MLP scenario's schedule instead of inheriting the server's
    default (which may change, issue 12), and never asks for the until-converged schedule,
    whose step count depends on the labels."""
    from activerm.bench._config import PRESETS
    for name in PRESETS:
        cfg = preset(name)
        for sc in cfg.scenarios + cfg.extra_scenarios:
            if sc.head == "mlp":
                assert sc.fit.get("epochs", 0) > 0, (name, sc.name)
                assert not sc.fit.get("until_converged"), (name, sc.name)


def test_paper_preset_is_paper_sized():
    cfg = preset("paper")
    assert cfg.seeds >= 10
    for sc in cfg.scenarios:
        assert sc.batch_size in (125, 500)
        assert sc.labels_after(sc.rounds) >= 5000
        assert sc.prompts_per_round / sc.train_prompts == pytest.approx(0.01)
    assert {s.batch_size for s in cfg.scenarios} == {125, 500}
    # The well-specified control: the embedding scenario's world and sizes, a linear golden, only when named.
    emb = next(s for s in cfg.scenarios if s.name == "embedding")
    ctl = next(s for s in cfg.extra_scenarios if s.name == "embedding-linear-golden")
    assert "embedding-linear-golden" not in {s.name for s in cfg.scenarios}
    assert ctl.golden == "linear" and emb.golden == "teacher"
    from dataclasses import replace
    assert replace(ctl, name=emb.name, golden=emb.golden) == emb
    toy = next(s for s in preset("fast").extra_scenarios if s.name == "toy2d-512")
    assert toy.hidden_sizes == (512, 512, 512) and toy.fit == {"epochs": 1000, "batch_size": 1_000_000,
                                                               "learning_rate": 1e-3}


def test_betas_expand_every_scenario_and_are_checked():
    from activerm.bench import narrowed
    cfg = narrowed(preset("tiny"), betas=(0.1, 3))
    assert [(s.name, s.family, s.beta) for s in cfg.scenarios] == [
        ("embedding-beta0.1", "embedding", 0.1), ("embedding-beta3", "embedding", 3.0),
        ("toy2d-beta0.1", "toy2d", 0.1), ("toy2d-beta3", "toy2d", 3.0)]
    for bad in ((0.0,), (-1.0,), (float("inf"),)):
        with pytest.raises(ValueError, match="use finite values > 0"):
            narrowed(preset("tiny"), betas=bad)
    proc = subprocess.run([sys.executable, "-m", "activerm.bench", "--preset", "tiny", "--target", "127.0.0.1:1",
                           "--out", "/nonexistent", "--beta", "0.1,x"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "comma-separated list of numbers" in proc.stderr


def test_noise_sweep_runs_and_is_reported_per_beta(server, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "activerm.bench", "--preset", "tiny", "--target", server.target, "--out", str(tmp_path),
         "--seeds", "1", "--strategies", "random,greedy_dopt", "--scenarios", "embedding", "--modes", "cross_prompt",
         "--beta", "0.1,3"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    _, rows = _read(tmp_path / "rounds.csv")
    assert {(r["scenario"], float(r["beta"])) for r in rows} == {("embedding-beta0.1", 0.1), ("embedding-beta3", 3.0)}
    assert len(rows) == 2 * 2 * 3  # betas x strategies x rounds
    agree = {b: np.mean([float(r["label_agreement"]) for r in rows if float(r["beta"]) == b]) for b in (0.1, 3.0)}
    assert agree[0.1] > 0.9 and agree[3.0] < agree[0.1] - 0.15  # beta 3 labels are much noisier
    md = (tmp_path / "results.md").read_text()
    assert "### Label-noise sweep" in md and "| strategy | β = 0.1 | β = 3 |" in md
    assert "| greedy_dopt − random (final) |" in md


def test_paper_head_3x512_on_2d_inputs_is_accepted_by_every_fisher_strategy(server, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "activerm.bench", "--preset", "tiny", "--target", server.target, "--out", str(tmp_path),
         "--seeds", "1", "--strategies", "ols_dopt,dopt,past_aware_dopt,greedy_dopt,bald",
         "--scenarios", "toy2d-512"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    _, errors = _read(tmp_path / "errors.csv")
    assert errors == []
    _, rows = _read(tmp_path / "rounds.csv")
    assert len(rows) == 5 * 3 and {int(float(r["fit_steps"])) for r in rows} == {20}


def test_paired_interval_matches_the_t_formula():
    d = np.array([0.01, 0.03, -0.02, 0.05, 0.02])
    mean, sd, lo, hi = mx.paired_interval(d)
    assert mean == pytest.approx(0.018) and sd == pytest.approx(np.sqrt(np.sum((d - 0.018) ** 2) / 4))
    assert (hi - lo) / 2 == pytest.approx(2.776 * sd / np.sqrt(5), rel=1e-12)  # t_{0.975, 4} = 2.776
    assert mx.t975(1) == 12.706 and mx.t975(100) == 1.96
    one = mx.paired_interval(np.array([0.5]))
    assert one[:2] == (0.5, 0.0) and math.isnan(one[2])


def test_report_pairs_by_seed_over_rounds_and_reads_old_csvs(tmp_path):
    from activerm.bench._report import _Curves, read_rows
    rows = [{"scenario": "s", "candidates": "m", "strategy": st, "seed": seed, "round": r, "spearman": v}
            for st, vals in (("a", {0: [0.5, 0.7], 1: [0.2, 0.4]}), ("b", {0: [0.4, 0.4], 1: [0.3, 0.3]}))
            for seed, vs in vals.items() for r, v in enumerate(vs, 1)]
    d = _Curves(rows, []).paired_over_rounds("s", "m", "a", "m", "b", 2)
    assert d.tolist() == pytest.approx([0.2, 0.0])  # one mean difference per seed, not per (seed, round)
    old = tmp_path / "old.csv"
    old.write_text("scenario,seed,spearman\nx,1,0.5\n")
    (r,) = read_rows(old, ("scenario", "seed", "spearman", "fit_steps"))
    assert r["scenario"] == "x" and r["seed"] == 1 and r["spearman"] == 0.5 and math.isnan(r["fit_steps"])


def test_fit_steps_override_sets_a_constant_budget_on_mlp_heads_only():
    from activerm.bench import narrowed
    cfg = narrowed(preset("fast"), scenarios=("embedding", "toy2d-512"), fit_steps=200)
    emb, toy = cfg.scenarios
    assert emb.fit == {} and toy.fit == {"epochs": 200, "batch_size": 1_000_000, "learning_rate": 1e-3}
    assert toy.budget() == "200 full-batch Adam steps, lr 0.001, in every round (constant)"


def test_time_limit_reports_only_the_seeds_whose_every_run_finished(monkeypatch):
    """--time-limit: no run starts after the limit, and a seed cut part-way is dropped (the
    report pairs strategies by seed). A fake clock advanced by a fake run keeps it exact: the
    first run of seed 1 takes the clock past the limit, so seed 1's other runs never start."""
    from activerm.bench import _runner, narrowed
    cfg = narrowed(preset("tiny"), scenarios=("embedding",), modes=("cross_prompt",),
                   strategies=("random", "dopt"), seeds=3, workers=1)
    now = [0.0]
    started = []

    def fake_run(client, job, worlds):
        started.append((job.strategy, job.seed))
        if job.seed == 1:
            now[0] = 100.0  # this run ends after the limit
        return [{"scenario": job.scenario.name, "candidates": job.mode, "strategy": job.strategy,
                 "seed": job.seed, "round": 0}], []

    monkeypatch.setattr(_runner, "run_one", fake_run)
    rows, errors = _runner.run_all(cfg, "127.0.0.1:1", time_limit=10.0, clock=lambda: now[0])
    assert started == [("random", 0), ("dopt", 0), ("random", 1)]
    assert sorted((r["strategy"], r["seed"]) for r in rows) == [("dopt", 0), ("random", 0)] and errors == []
    assert _runner.complete_seeds(cfg, {("embedding", "cross_prompt", "random", 0)}) == []


def test_time_limit_with_no_complete_seed_says_so(server, tmp_path):
    out = tmp_path / "cut"
    proc = subprocess.run(
        [sys.executable, "-m", "activerm.bench", "--preset", "tiny", "--scenarios", "embedding", "--seeds", "1",
         "--strategies", "random", "--time-limit", "1e-9", "--target", server.target, "--out", str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "no seed finished all its runs within --time-limit" in proc.stderr and not out.exists()
