"""Writes the small pools that tests/test_bench.py runs `--dataset` on (committed; rerun
this to regenerate them byte-for-byte with the same numpy and pyarrow):

* pool_golden.npz: golden-reward mode. 20 training prompts with 3..5 responses, 4 held-out
  prompts with 4..6, D = 6, reward = a nonlinear function of the embedding.
* pool_replay.parquet + pool_replay_preferences.parquet: replay mode. The same kind of pool
  without rewards; every within-prompt pair recorded once with a Bradley–Terry label drawn
  from a hidden reward (held-out prompts' pairs are the evaluation).
"""
from __future__ import annotations

import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = pathlib.Path(__file__).resolve().parent
D = 6


def _pool(rng: np.random.Generator, train_sizes, test_sizes):
    rid, pid, split, emb = [], [], [], []
    for p, k in enumerate(list(train_sizes) + list(test_sizes)):
        centre = rng.standard_normal(D)
        for j in range(k):
            rid.append(f"p{p}-r{j}")
            pid.append(f"p{p}")
            split.append("train" if p < len(train_sizes) else "test")
            emb.append(centre + 0.5 * rng.standard_normal(D))
    emb = np.asarray(emb, dtype=np.float32)
    reward = np.tanh(emb[:, 0] - 0.5 * emb[:, 1]) + 0.3 * emb[:, 2] ** 2
    return np.array(rid), np.array(pid), np.array(split), emb, reward


def main() -> None:
    rng = np.random.default_rng(12)
    train, test = [3 + (p % 3) for p in range(20)], [4, 5, 6, 4]
    rid, pid, split, emb, reward = _pool(rng, train, test)
    np.savez(HERE / "pool_golden.npz", response_id=rid, prompt_id=pid, split=split, embedding=emb,
             reward=reward.astype(np.float32))

    rid, pid, split, emb, hidden = _pool(rng, [4] * 20, [5] * 4)
    pq.write_table(pa.table({"response_id": rid, "prompt_id": pid, "split": split,
                             "embedding": pa.array(list(emb), type=pa.list_(pa.float32()))}),
                   HERE / "pool_replay.parquet")
    a, b = [], []
    for p in np.unique(pid):
        rows = np.flatnonzero(pid == p)
        i, j = np.triu_indices(len(rows), 1)
        a += rows[i].tolist()
        b += rows[j].tolist()
    a, b = np.array(a), np.array(b)
    win = rng.random(len(a)) < 1 / (1 + np.exp(-(hidden[a] - hidden[b]) / 0.3))
    pq.write_table(pa.table({"a_id": rid[a], "b_id": rid[b], "label": np.where(win, "a", "b")}),
                   HERE / "pool_replay_preferences.parquet")


if __name__ == "__main__":
    main()
