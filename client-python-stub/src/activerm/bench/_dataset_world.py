"""A world backed by a user's pool (--dataset): the same protocol as _sim's worlds.

Golden mode (the file has a 'reward' column and no preferences): the training split is
the pool, the reward is standardised on it (mean 0, variance 1, as in _sim) and the
annotator is Bradley–Terry, P(a over b) = sigmoid((g_a - g_b) / beta). Candidates come from
SelectBatch within_prompt / cross_prompt restricted to the round's prompts (prompt_ids),
or are built client-side with --candidates-from explicit, exactly as for the simulated
worlds.

Replay mode (recorded preferences): a round's candidates are the recorded comparisons
whose two responses answer drawn prompts, sent as explicit pairs (whatever
--candidates-from says: the server cannot know which pairs have a record); the label of a
selected pair is the recorded one (the first record of a pair that was recorded more than
once), so no label is simulated. The server leaves labeled pairs out of later candidates
(include_labeled false), so each record is used at most once. Evaluation uses held-out
rewards when the file has them, else the held-out recorded comparisons.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, fields

import numpy as np

from . import _metrics as mx
from ._config import MODES, Config, Scenario
from ._dataset import Pool, load_pool
from ._sim import annotate

REPLAY_MODE = "recorded"  # the candidates column of replay runs


@dataclass(frozen=True)
class DatasetScenario(Scenario):
    """A preset scenario's schedule (head, budget, fit, beta) on the pool of a file."""

    dataset: str = ""
    preferences: str | None = None

    def __post_init__(self) -> None:  # the sizes come from the file, validated by load_pool
        for m in self.modes:
            if m not in MODES + (REPLAY_MODE,):
                raise ValueError(f"scenario {self.name}: unknown mode {m!r}")


    def describe(self) -> str:
        """The results.md line of this scenario (the sizes are the file's)."""
        pool = load_pool(self.dataset, self.preferences)
        k = np.unique(pool.prompt_ids[~pool.held_out].astype(str), return_counts=True)[1]
        labels = ("recorded preferences (replay)" if pool.replay
                  else f"simulated Bradley–Terry annotators on its reward, β = {self.beta:g}")
        return (f"Scenario `{self.name}`: dataset `{self.dataset}`" + (f" + `{self.preferences}`" if self.preferences
                                                                        else "")
                + f", D = {self.dim}, {self.head.upper()} head" + (f" {list(self.hidden_sizes)}" if self.hidden_sizes
                                                                     else "")
                + f", λ = {self.l2:g}; labels: {labels}; {self.train_prompts} training prompts x {k.min()}..{k.max()} "
                f"responses ({int(k.sum())} rows), {self.prompts_per_round} prompts per round, {self.warmup} RANDOM "
                f"warm-up labels then {self.rounds} rounds of B = {self.batch_size}; held out: {self.eval_prompts} "
                f"prompts ({int(pool.held_out.sum())} responses)." + (f" Fit: {self.fit}." if self.fit else ""))


def _tag(sc: Scenario) -> str:
    return sc.head if not sc.hidden_sizes else sc.head + "x".join(str(h) for h in sc.hidden_sizes)


def with_dataset(cfg: Config, path: str, preferences: str | None = None) -> Config:
    """cfg's scenarios replaced by one dataset scenario per distinct head of the preset.

    Each keeps its scenario's warmup, batch size, rounds, beta, l2 and fit; prompts per
    round keep the scenario's share of the training prompts (at least 2). Reads and
    validates the file (DatasetError before any server is contacted).
    """
    pool = load_pool(path, preferences)
    train_prompts = len(np.unique(pool.prompt_ids[~pool.held_out].astype(str)))
    eval_prompts = len(np.unique(pool.prompt_ids[pool.held_out].astype(str)))
    stem = pathlib.Path(path).name.split(".")[0]
    out: list[DatasetScenario] = []
    for sc in cfg.scenarios:
        name = f"{stem}-{_tag(sc)}"
        if any(o.name == name for o in out):
            continue
        share = sc.prompts_per_round / sc.train_prompts
        kw = {f.name: getattr(sc, f.name) for f in fields(Scenario)}
        kw.update(name=name, kind="dataset", dim=pool.embeddings.shape[1], train_prompts=train_prompts,
                  eval_prompts=eval_prompts, prompts_per_round=min(train_prompts, max(2, round(share * train_prompts))),
                  modes=(REPLAY_MODE,) if pool.replay else sc.modes)
        out.append(DatasetScenario(**kw, dataset=str(path), preferences=preferences))
    return Config(**{**{f.name: getattr(cfg, f.name) for f in fields(Config)},
                     "scenarios": tuple(out), "extra_scenarios": ()})


class DatasetWorld:
    """The pool of a file laid out like _sim.World (pool_* for upload, prompt_rows per
    training prompt, eval_x for Score), plus the round's candidates, labels and metrics."""

    def __init__(self, pool: Pool, bon_draws: int) -> None:
        train = np.flatnonzero(~pool.held_out)
        test = np.flatnonzero(pool.held_out)
        self.dim = pool.embeddings.shape[1]
        self.pool_ids = pool.response_ids[train].tolist()
        self.pool_prompts = pool.prompt_ids[train].tolist()
        self.pool_x = np.ascontiguousarray(pool.embeddings[train])
        _, first, inv = np.unique(pool.prompt_ids[train].astype(str), return_index=True, return_inverse=True)
        order = np.argsort(first)  # training prompts in file order
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.pool_prompt_index = rank[inv]
        self.prompt_rows = [np.flatnonzero(self.pool_prompt_index == p) for p in range(len(order))]
        self.eval_x = np.ascontiguousarray(pool.embeddings[test])
        _, efirst, einv = np.unique(pool.prompt_ids[test].astype(str), return_index=True, return_inverse=True)
        self.eval_rows = [np.flatnonzero(einv == p) for p in np.argsort(efirst)]
        self.pool_gold = self.eval_gold = None
        if pool.reward is not None:
            mu, sd = float(pool.reward[train].mean()), float(pool.reward[train].std()) or 1.0
            self.pool_gold = (pool.reward[train] - mu) / sd
            self.eval_gold = (pool.reward[test] - mu) / sd
        self.replay = pool.replay
        if self.replay:
            local = np.full(len(pool.response_ids), -1, dtype=np.int64)
            local[train] = np.arange(len(train))
            local[test] = np.arange(len(test))
            on_train = ~pool.held_out[pool.pref_a]
            a, b, lab = local[pool.pref_a], local[pool.pref_b], pool.pref_label
            self._rec = {}  # (row a, row b) of the training pool -> recorded label, first record wins
            for i in np.flatnonzero(on_train):
                key = (int(a[i]), int(b[i]))
                if key not in self._rec and key[::-1] not in self._rec:
                    self._rec[key] = str(lab[i])
            self._rec_a = np.array([k[0] for k in self._rec], dtype=np.int64)
            self._rec_b = np.array([k[1] for k in self._rec], dtype=np.int64)
            held = np.flatnonzero(~on_train & (lab != "tie"))
            self.eval_pref_a, self.eval_pref_b = a[held], b[held]
            self.eval_pref_a_wins = lab[held] == "a"
        self._subsets = self._bon_subsets(bon_draws)

    def _bon_subsets(self, draws: int) -> dict[int, list[np.ndarray]]:
        """For each N: per held-out prompt with >= N responses, (draws, N) indices into its rows
        (one draw when N is all of them); drawn once, so every strategy sees the same."""
        rng = np.random.default_rng(0xB0F)
        out: dict[int, list[np.ndarray]] = {}
        for n in mx.BEST_OF:
            sets = []
            for rows in self.eval_rows:
                k = len(rows)
                if k >= n:
                    sets.append(np.stack([rng.choice(k, size=n, replace=False) for _ in range(1 if n == k else draws)]))
            if sets:
                out[n] = sets
        return out

    # ------------------------------------------------------------ one round

    def round_prompt_ids(self, prompts: np.ndarray) -> list[str]:
        return [self.pool_prompts[self.prompt_rows[p][0]] for p in prompts]

    def round_candidate_count(self, prompts: np.ndarray) -> int:
        k = np.array([len(self.prompt_rows[p]) for p in prompts])
        return int(np.sum(k * (k - 1) // 2))

    def round_candidates(self, prompts: np.ndarray, mode: str, rng: np.random.Generator
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Pool rows (a, b) of this round's candidates: the recorded pairs in replay, else as
        _sim.round_candidates (within_prompt: every pair of a drawn prompt's responses;
        cross_prompt: as many pairs of responses to two different drawn prompts)."""
        drawn = np.zeros(len(self.prompt_rows), dtype=bool)
        drawn[prompts] = True
        if self.replay:
            keep = drawn[self.pool_prompt_index[self._rec_a]] & drawn[self.pool_prompt_index[self._rec_b]]
            return self._rec_a[keep], self._rec_b[keep]
        if mode == "within_prompt":
            pairs = [np.triu_indices(len(self.prompt_rows[p]), 1) for p in prompts]
            a = np.concatenate([self.prompt_rows[p][i] for p, (i, _) in zip(prompts, pairs)])
            b = np.concatenate([self.prompt_rows[p][j] for p, (_, j) in zip(prompts, pairs)])
            return a, b
        if mode != "cross_prompt":
            raise ValueError(f"unknown candidate mode {mode!r}")
        flat = np.concatenate([self.prompt_rows[p] for p in prompts])
        owner = self.pool_prompt_index[flat]
        want, n = self.round_candidate_count(prompts), len(self.pool_ids)
        ka = kb = np.empty(0, dtype=np.int64)
        while True:
            i = rng.integers(0, len(flat), size=2 * want + 16)
            j = rng.integers(0, len(flat), size=i.shape[0])
            ok = owner[i] != owner[j]
            ka, kb = np.concatenate([ka, flat[i[ok]]]), np.concatenate([kb, flat[j[ok]]])
            _, first = np.unique(np.minimum(ka, kb) * n + np.maximum(ka, kb), return_index=True)
            if len(first) >= want:
                keep = np.sort(first)[:want]
                return ka[keep], kb[keep]

    def label(self, ra: np.ndarray, rb: np.ndarray, beta: float, rng: np.random.Generator) -> list[str]:
        """The recorded labels in replay (flipped when the server returns a pair as (b, a)),
        else Bradley–Terry draws on the golden reward."""
        if not self.replay:
            return annotate(self.pool_gold[ra], self.pool_gold[rb], beta, rng)
        flip = {"a": "b", "b": "a", "tie": "tie"}
        return [self._rec[(a, b)] if (a, b) in self._rec else flip[self._rec[(b, a)]]
                for a, b in zip(ra.tolist(), rb.tolist())]

    def evaluate(self, pred: np.ndarray) -> dict[str, float]:
        """Held-out metrics on ragged prompts. With rewards: mean per-prompt Spearman, pairwise
        accuracy over within-prompt pairs with different rewards, best-of-N (standardised
        golden reward of the model's pick among N). Replay without rewards: pair_accuracy is the
        agreement with the held-out recorded (non-tie) comparisons and the spearman column holds
        their Kendall tau, 2 * accuracy - 1; best-of-N is nan."""
        pred = np.asarray(pred, dtype=np.float64).ravel()
        out = {f"best_of_{n}": float("nan") for n in mx.BEST_OF}
        if self.eval_gold is None:
            d = pred[self.eval_pref_a] - pred[self.eval_pref_b]
            acc = float(np.mean(np.where(d == 0, 0.5, (d > 0) == self.eval_pref_a_wins)))
            out.update(spearman=2 * acc - 1, pair_accuracy=acc)
            return out
        rho, agree, total = [], 0.0, 0
        for rows in self.eval_rows:
            p, g = pred[rows], self.eval_gold[rows]
            rho.append(mx.spearman(p, g))
            iu, ju = np.triu_indices(len(rows), 1)
            dg, dp = np.sign(g[iu] - g[ju]), np.sign(p[iu] - p[ju])
            valid = dg != 0
            agree += float(np.sum(np.where(dp == 0, 0.5, dp == dg)[valid]))
            total += int(np.sum(valid))
        out.update(spearman=float(np.mean(rho)), pair_accuracy=agree / total if total else float("nan"))
        for n, sets in self._subsets.items():
            picks = []
            for rows, idx in zip((r for r in self.eval_rows if len(r) >= n), sets):
                p, g = pred[rows][idx], self.eval_gold[rows][idx]  # (draws, N)
                picks.append(np.take_along_axis(g, np.argmax(p, axis=1)[:, None], axis=1).mean())
            out[f"best_of_{n}"] = float(np.mean(picks))
        return out


def dataset_world(sc: DatasetScenario, bon_draws: int) -> DatasetWorld:
    return DatasetWorld(load_pool(sc.dataset, sc.preferences), bon_draws)
