"""--dataset: the loader's formats and error paths, and the dataset world's candidates,
labels and metrics against direct references (no server; tests/test_bench.py runs the
tiny preset on the committed files against the real server)."""
from __future__ import annotations

import itertools
import json
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from activerm.bench import _metrics as mx
from activerm.bench import preset
from activerm.bench._dataset import DatasetError, load_pool
from activerm.bench._dataset_world import REPLAY_MODE, DatasetWorld, with_dataset

DATA = pathlib.Path(__file__).resolve().parent / "data"


def _columns(n_train=3, n_test=2, k=3, d=4, seed=0):
    rng = np.random.default_rng(seed)
    rid, pid, split = [], [], []
    for p in range(n_train + n_test):
        for j in range(k):
            rid.append(f"p{p}-{j}")
            pid.append(f"p{p}")
            split.append("train" if p < n_train else "test")
    n = len(rid)
    return {"response_id": np.array(rid), "prompt_id": np.array(pid), "split": np.array(split),
            "embedding": rng.standard_normal((n, d)).astype(np.float32), "reward": rng.standard_normal(n)}


def _arrow(cols: dict) -> pa.Table:
    out = {}
    for k, v in cols.items():
        if isinstance(v, np.ndarray) and v.ndim == 2:
            out[k] = pa.array(list(v), type=pa.list_(pa.from_numpy_dtype(v.dtype)))
        elif isinstance(v, pa.Array):
            out[k] = v
        else:
            out[k] = pa.array(v)
    return pa.table(out)


def _write(tmp_path: pathlib.Path, fmt: str, cols: dict, name="pool") -> str:
    if fmt == "npz":
        path = tmp_path / f"{name}.npz"
        np.savez(path, **cols)
    elif fmt == "parquet":
        path = tmp_path / f"{name}.parquet"
        pq.write_table(_arrow(cols), path)
    elif fmt == "feather":
        path = tmp_path / f"{name}.feather"
        feather.write_feather(_arrow(cols), path)
    elif fmt == "hf":  # what Dataset.save_to_disk writes: Arrow streams listed in state.json
        path = tmp_path / name
        path.mkdir()
        table = _arrow(cols)
        with pa.OSFile(str(path / "data-00000-of-00001.arrow"), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
            w.write_table(table)
        (path / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}))
    else:
        raise AssertionError(fmt)
    return str(path)


def _load(tmp_path, fmt, cols, prefs=None):
    load_pool.cache_clear()
    path = _write(tmp_path, fmt, cols)
    pref_path = _write(tmp_path, fmt, prefs, name="prefs") if prefs is not None else None
    return load_pool(path, pref_path)


FORMATS = ("npz", "parquet", "feather", "hf")


# ---------------------------------------------------------------- formats

@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_the_same_pool(tmp_path, fmt):
    cols = _columns()
    pool = _load(tmp_path, fmt, cols)
    assert pool.response_ids.tolist() == cols["response_id"].tolist()
    assert pool.prompt_ids.tolist() == cols["prompt_id"].tolist()
    np.testing.assert_array_equal(pool.embeddings, cols["embedding"])  # float32 in, float32 out: exact
    np.testing.assert_array_equal(pool.reward, cols["reward"])
    np.testing.assert_array_equal(pool.held_out, cols["split"] == "test")
    assert not pool.replay


def test_saved_datasets_folder_is_read_like_load_from_disk(tmp_path):
    datasets = pytest.importorskip("datasets")
    cols = _columns(n_train=4, k=5)
    ds = datasets.Dataset.from_dict({k: (v.tolist()) for k, v in cols.items()}).shuffle(seed=1)  # an indices map
    ds.save_to_disk(str(tmp_path / "saved"))
    load_pool.cache_clear()
    pool = load_pool(str(tmp_path / "saved"))
    ref = datasets.load_from_disk(str(tmp_path / "saved"))
    assert pool.response_ids.tolist() == ref["response_id"]
    np.testing.assert_allclose(pool.embeddings, np.asarray(ref["embedding"], dtype=np.float64), rtol=0, atol=0)
    np.testing.assert_array_equal(pool.reward, np.asarray(ref["reward"]))


def test_npz_may_hold_its_preferences(tmp_path):
    cols = _columns()
    cols.pop("reward")
    cols.update(a_id=np.array(["p0-0", "p3-0"]), b_id=np.array(["p0-1", "p3-2"]), label=np.array(["a", "b"]))
    pool = _load(tmp_path, "npz", cols)
    assert pool.replay and pool.pref_label.tolist() == ["a", "b"]
    assert pool.response_ids[pool.pref_b].tolist() == ["p0-1", "p3-2"]


def test_integer_ids_are_read_as_strings(tmp_path):
    cols = _columns()
    cols["prompt_id"] = np.repeat(np.arange(5), 3)
    pool = _load(tmp_path, "parquet", cols)
    assert pool.prompt_ids[:4].tolist() == ["0", "0", "0", "1"]


# ---------------------------------------------------------------- error paths

def _raises(tmp_path, fmt, cols, *needles, prefs=None):
    with pytest.raises(DatasetError) as e:
        _load(tmp_path, fmt, cols, prefs)
    for s in needles:
        assert s in str(e.value), str(e.value)
    return str(e.value)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("column", ("response_id", "prompt_id", "embedding", "split"))
def test_missing_column_is_named_with_what_was_found(tmp_path, fmt, column):
    cols = _columns()
    cols.pop(column)
    _raises(tmp_path, fmt, cols, f"no column {column!r}", "found [", "'reward'")


@pytest.mark.parametrize("fmt", ("npz", "parquet"))
def test_no_reward_and_no_preferences(tmp_path, fmt):
    cols = _columns()
    cols.pop("reward")
    _raises(tmp_path, fmt, cols, "no column 'reward' and no preferences", "--preferences")


@pytest.mark.parametrize("fmt", ("npz", "parquet"))
@pytest.mark.parametrize("column,value,expect", [
    ("reward", np.array(["x"] * 15), "'reward'"),
    ("response_id", np.linspace(0, 1, 15), "ids must be strings or integers"),
    ("split", np.zeros(15, dtype=np.int64), "'split'"),
    ("embedding", np.array(["a"] * 15), "'embedding'"),
])
def test_wrong_dtype_names_the_column_and_the_type(tmp_path, fmt, column, value, expect):
    cols = _columns()
    cols[column] = value
    msg = _raises(tmp_path, fmt, cols, expect)
    assert ("string" in msg or "double" in msg or "int64" in msg or "float64" in msg or "<U" in msg), msg


def test_wrong_split_value(tmp_path):
    cols = _columns()
    cols["split"] = np.where(cols["split"] == "test", "validation", "train")
    _raises(tmp_path, "parquet", cols, "'split'", "'validation'", "['train', 'test']")


@pytest.mark.parametrize("fmt", ("parquet", "feather", "hf"))
def test_ragged_embeddings_name_the_rows(tmp_path, fmt):
    cols = _columns()
    rows = list(cols["embedding"])
    rows[5] = rows[5][:3]
    cols["embedding"] = pa.array(rows, type=pa.list_(pa.float32()))
    _raises(tmp_path, fmt, cols, "ragged column 'embedding'", "row 0 has 4 values, row 5 has 3")


def test_ragged_npz_embeddings(tmp_path):
    path = tmp_path / "pool.npz"
    cols = _columns()
    cols["embedding"] = np.array([np.zeros(4), np.zeros(3)] * 7 + [np.zeros(4)], dtype=object)
    np.savez(path, **cols)  # numpy writes the object array with pickle
    load_pool.cache_clear()
    with pytest.raises(DatasetError, match="key 'embedding' is an object array .ragged"):
        load_pool(str(path))


def test_npz_embedding_must_be_two_dimensional(tmp_path):
    cols = _columns()
    cols["embedding"] = cols["embedding"].ravel()
    _raises(tmp_path, "npz", cols, "key 'embedding'", "shape (60,)", "(n, D)")


@pytest.mark.parametrize("fmt", ("npz", "parquet"))
@pytest.mark.parametrize("bad", (np.nan, np.inf))
def test_non_finite_values(tmp_path, fmt, bad):
    cols = _columns()
    cols["embedding"][7, 2] = bad
    _raises(tmp_path, fmt, cols, "'embedding'", "non-finite", "first row 7")
    cols = _columns()
    cols["reward"][4] = -bad
    _raises(tmp_path, fmt, cols, "'reward'", "non-finite", "first at row 4")


def test_nulls_are_named(tmp_path):
    cols = _columns()
    cols["reward"] = pa.array([None] + cols["reward"][1:].tolist(), type=pa.float64())
    _raises(tmp_path, "parquet", cols, "'reward'", "null", "row 0")


@pytest.mark.parametrize("fmt", ("npz", "parquet"))
def test_prompt_with_one_response(tmp_path, fmt):
    cols = _columns()
    cols["prompt_id"] = cols["prompt_id"].astype(object)
    cols["prompt_id"][4] = "lonely"
    cols["prompt_id"] = cols["prompt_id"].astype(str)
    _raises(tmp_path, fmt, cols, "prompt_id 'lonely' has 1 response (row 4", "at least 2")


def test_duplicate_response_ids(tmp_path):
    cols = _columns()
    cols["response_id"][6] = cols["response_id"][2]
    _raises(tmp_path, "parquet", cols, "response_id 'p0-2' appears 2 times (rows [2, 6])", "unique")


def test_prompt_in_both_splits(tmp_path):
    cols = _columns()
    cols["split"][1] = "test"
    _raises(tmp_path, "npz", cols, "prompt_id 'p0' has responses in both splits")


def test_no_held_out_prompt(tmp_path):
    cols = _columns()
    cols["split"][:] = "train"
    _raises(tmp_path, "npz", cols, "0 held-out ('test') prompts")


def _prefs(a, b, label):
    return {"a_id": np.array(a), "b_id": np.array(b), "label": np.array(label)}


@pytest.mark.parametrize("fmt", ("npz", "parquet", "hf"))
def test_preference_naming_an_unknown_response(tmp_path, fmt):
    prefs = _prefs(["p0-0", "p1-0", "p3-0"], ["p0-1", "ghost", "p3-1"], ["a", "b", "a"])
    _raises(tmp_path, fmt, _columns(), "preferences table", "row 1: b_id 'ghost' names no response",
            "drop those rows", prefs=prefs)


def test_preference_wrong_label_and_self_and_leak(tmp_path):
    cols = _columns()
    _raises(tmp_path, "parquet", cols, "'label' row 0 is 'A'", "['a', 'b', 'tie']",
            prefs=_prefs(["p0-0"], ["p0-1"], ["A"]))
    _raises(tmp_path, "parquet", cols, "row 0 compares response 'p0-0' with itself",
            prefs=_prefs(["p0-0"], ["p0-0"], ["a"]))
    _raises(tmp_path, "parquet", cols, "compares a training response with a held-out one",
            prefs=_prefs(["p0-0"], ["p4-0"], ["a"]))
    _raises(tmp_path, "parquet", cols, "no comparison between training responses",
            prefs=_prefs(["p4-0"], ["p4-1"], ["a"]))
    cols.pop("reward")
    _raises(tmp_path, "parquet", cols, "nothing to evaluate on",
            prefs=_prefs(["p0-0", "p4-0"], ["p0-1", "p4-1"], ["a", "tie"]))


def test_preference_table_missing_column(tmp_path):
    prefs = _prefs(["p0-0"], ["p0-1"], ["a"])
    prefs.pop("label")
    _raises(tmp_path, "parquet", _columns(), "preferences table", "no column 'label'", prefs=prefs)


def test_unknown_format_and_datasetdict_folder(tmp_path):
    (tmp_path / "pool.csv").write_text("x\n")
    load_pool.cache_clear()
    with pytest.raises(DatasetError, match="unknown format '.csv'"):
        load_pool(str(tmp_path / "pool.csv"))
    (tmp_path / "dd").mkdir()
    (tmp_path / "dd" / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    with pytest.raises(DatasetError, match="DatasetDict folder with splits \\['train', 'test'\\]"):
        load_pool(str(tmp_path / "dd"))


def test_cli_reports_a_bad_file_before_contacting_a_server(tmp_path, capsys):
    from activerm.bench.__main__ import main
    cols = _columns()
    cols.pop("split")
    path = _write(tmp_path, "npz", cols)
    load_pool.cache_clear()
    with pytest.raises(SystemExit) as e:
        main(["--preset", "tiny", "--target", "127.0.0.1:1", "--out", str(tmp_path / "o"), "--dataset", path])
    assert e.value.code == 2
    assert "no column 'split'" in capsys.readouterr().err


# ---------------------------------------------------------------- the world

def _world(path, prefs=None, draws=3):
    load_pool.cache_clear()
    return DatasetWorld(load_pool(str(path), prefs), draws)


def test_golden_world_layout_and_standardised_reward():
    z = np.load(DATA / "pool_golden.npz")
    w = _world(DATA / "pool_golden.npz")
    train = z["split"] == "train"
    assert w.pool_ids == z["response_id"][train].tolist()
    g = z["reward"][train].astype(np.float64)
    np.testing.assert_allclose(w.pool_gold, (g - g.mean()) / g.std(), rtol=0, atol=1e-12)
    assert len(w.prompt_rows) == 20 and [len(r) for r in w.prompt_rows[:3]] == [3, 4, 5]
    for p, rows in enumerate(w.prompt_rows):
        assert {w.pool_prompts[r] for r in rows} == {f"p{p}"}


def test_golden_candidates_like_the_simulated_worlds():
    w = _world(DATA / "pool_golden.npz")
    prompts = np.array([0, 1, 7])
    a, b = w.round_candidates(prompts, "within_prompt", np.random.default_rng(0))
    expect = {tuple(sorted(p)) for q in prompts for p in itertools.combinations(w.prompt_rows[q], 2)}
    assert {tuple(sorted(p)) for p in zip(a, b)} == expect and len(a) == len(expect) == w.round_candidate_count(prompts)
    a, b = w.round_candidates(prompts, "cross_prompt", np.random.default_rng(0))
    assert len(a) == len(expect)
    assert np.all(w.pool_prompt_index[a] != w.pool_prompt_index[b])
    assert set(w.pool_prompt_index[np.r_[a, b]]) <= set(prompts)
    assert len({(min(x, y), max(x, y)) for x, y in zip(a, b)}) == len(a)
    assert w.round_prompt_ids(prompts) == ["p0", "p1", "p7"]


def test_evaluate_against_direct_formulas():
    w = _world(DATA / "pool_golden.npz", draws=4)
    rng = np.random.default_rng(5)
    pred = rng.standard_normal(len(w.eval_x))
    got = w.evaluate(pred)
    z = np.load(DATA / "pool_golden.npz")
    test, train = z["split"] == "test", z["split"] == "train"
    g = z["reward"].astype(np.float64)
    g = (g[test] - g[train].mean()) / g[train].std()
    prompts = z["prompt_id"][test]
    rhos, agree, total = [], 0, 0
    for p in dict.fromkeys(prompts):
        m = prompts == p
        rhos.append(mx.spearman(pred[m], g[m]))
        for i, j in itertools.combinations(np.flatnonzero(m), 2):
            if g[i] != g[j]:
                total += 1
                agree += (pred[i] - pred[j]) * (g[i] - g[j]) > 0
    assert got["spearman"] == pytest.approx(np.mean(rhos), abs=1e-12)
    assert got["pair_accuracy"] == pytest.approx(agree / total, abs=1e-12)
    # 4 held-out prompts of 4, 5, 6, 4 responses: best-of-5 over the three with >= 5, best-of-10 over none.
    assert math_isnan(got["best_of_10"]) and not math_isnan(got["best_of_5"])
    assert got["best_of_5"] <= np.mean([g[prompts == p].max() for p in ("p21", "p22")]) + 1e-12
    perfect = w.evaluate(g)  # the golden reward itself: every metric at its best
    assert perfect["spearman"] == pytest.approx(1.0) and perfect["pair_accuracy"] == pytest.approx(1.0)


def math_isnan(x):
    return x != x


def test_replay_world_candidates_labels_and_metric():
    w = _world(DATA / "pool_replay.parquet", str(DATA / "pool_replay_preferences.parquet"))
    prefs = pq.read_table(DATA / "pool_replay_preferences.parquet").to_pydict()
    rec = dict(zip(zip(prefs["a_id"], prefs["b_id"]), prefs["label"]))
    ids = np.array(w.pool_ids)
    prompts = np.array([2, 9])
    a, b = w.round_candidates(prompts, REPLAY_MODE, np.random.default_rng(0))
    got = set(zip(ids[a], ids[b]))
    assert got == {k for k in rec if k[0].split("-")[0] in ("p2", "p9")}  # 2 prompts x 6 recorded pairs
    assert len(got) == 12
    assert w.label(a, b, 1.0, None) == [rec[k] for k in zip(ids[a], ids[b])]
    assert w.label(b, a, 1.0, None) == [{"a": "b", "b": "a"}[rec[k]] for k in zip(ids[a], ids[b])]
    # Kendall tau over held-out recorded pairs: predicting the recorded winner everywhere gives 1.
    load_pool.cache_clear()
    pool = load_pool(str(DATA / "pool_replay.parquet"), str(DATA / "pool_replay_preferences.parquet"))
    held = pool.held_out[pool.pref_a]
    score = np.zeros(len(pool.response_ids))
    # Score each held-out response by its number of recorded wins (a Copeland score) and compare
    # with a direct count of the pairs it orders like the record.
    for x, y, lab in zip(pool.pref_a[held], pool.pref_b[held], pool.pref_label[held]):
        score[x if lab == "a" else y] += 1
    pred = score[pool.held_out]
    local = {r: i for i, r in enumerate(np.flatnonzero(pool.held_out))}
    wins = [(pred[local[x]] - pred[local[y]]) * (1 if lab == "a" else -1)
            for x, y, lab in zip(pool.pref_a[held], pool.pref_b[held], pool.pref_label[held])]
    acc = np.mean([1.0 if d > 0 else 0.5 if d == 0 else 0.0 for d in wins])
    out = w.evaluate(pred)
    assert out["pair_accuracy"] == pytest.approx(acc, abs=1e-12)
    assert out["spearman"] == pytest.approx(2 * acc - 1, abs=1e-12)
    assert math_isnan(out["best_of_5"])


def test_with_dataset_keeps_each_heads_schedule():
    load_pool.cache_clear()
    cfg = with_dataset(preset("tiny"), str(DATA / "pool_golden.npz"))
    tiny = preset("tiny")
    assert [s.name for s in cfg.scenarios] == ["pool_golden-linear", "pool_golden-mlp8x8"]
    for s, t in zip(cfg.scenarios, tiny.scenarios):
        assert (s.head, s.hidden_sizes, s.warmup, s.batch_size, s.rounds, s.fit, s.modes) == (
            t.head, t.hidden_sizes, t.warmup, t.batch_size, t.rounds, t.fit, t.modes)
        assert (s.dim, s.train_prompts, s.eval_prompts) == (6, 20, 4)
        assert s.prompts_per_round == round(t.prompts_per_round / t.train_prompts * 20)
    cfg = with_dataset(preset("tiny"), str(DATA / "pool_replay.parquet"),
                       str(DATA / "pool_replay_preferences.parquet"))
    assert {s.modes for s in cfg.scenarios} == {(REPLAY_MODE,)}


# ---------------------------------------------------------------- the real-data scenario

REAL = DATA.parent.parent.parent / "benchmarks" / "data" / "fortunes_minilm_vader.npz"


def _builder():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "build_real_scenario", DATA.parent.parent / "scripts" / "build_real_scenario.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_real_scenario_file_is_a_valid_golden_pool():
    load_pool.cache_clear()
    pool = load_pool(str(REAL))
    assert pool.embeddings.shape[1] == 384 and not pool.replay
    assert np.allclose(np.linalg.norm(pool.embeddings, axis=1), 1, atol=2e-3)  # L2-normalised, stored as float16
    assert np.all(np.abs(pool.reward) <= 1)  # VADER compound


def test_builders_erf_and_linear_r2_against_references():
    import math
    b = _builder()
    x = np.linspace(-6, 6, 2001)
    assert np.max(np.abs(b._erf(x) - np.array([math.erf(v) for v in x]))) < 2e-7
    rng = np.random.default_rng(0)
    xs, g = rng.standard_normal((400, 5)), np.repeat(np.arange(100), 4)
    w = rng.standard_normal(5)
    assert b.linear_r2(xs[:300], xs[:300] @ w + 3, None, xs[300:], xs[300:] @ w + 3, None) == pytest.approx((1, 1))
    # A per-prompt offset is invisible within prompts and unexplained over the pool.
    y = xs @ w + 5 * rng.standard_normal(100)[g]
    pool_r2, _ = b.linear_r2(xs[:300], y[:300], None, xs[300:], y[300:], None)
    assert b.linear_r2(xs[:300], y[:300], g[:300], xs[300:], y[300:], g[300:]) == pytest.approx((1, 1))
    ref = 1 - np.sum((y[:300] - np.c_[xs[:300], np.ones(300)] @ np.linalg.lstsq(
        np.c_[xs[:300], np.ones(300)], y[:300], rcond=None)[0]) ** 2) / np.sum((y[:300] - y[:300].mean()) ** 2)
    assert pool_r2 == pytest.approx(ref, abs=1e-12) and pool_r2 < 0.5
