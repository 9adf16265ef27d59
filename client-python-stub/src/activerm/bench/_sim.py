"""Simulated worlds: prompts x responses, a golden reward, a Bradley–Terry annotator.

Two kinds of world, both with a prompt component plus a response component:

* ``embedding``: LLM-like embeddings. Prompt p has a centre u_p, response j of p is
  x = (u_p + s * e_pj) * spectrum, rotated by a fixed random orthogonal matrix; both
  u and e are standard normal, the spectrum decays like (1 + i)^-1/2 (a few dominant
  directions, as in real embeddings). The golden reward is a random two-layer tanh
  teacher network over x (plus a small linear part), standardised to mean 0 and variance 1
  on the training pool; golden="linear" swaps in a random linear function, a well-specified
  diagnostic for the LINEAR head.
* ``toy``: the 2-D toy of Shen, Sun & Ton (ICML 2025). A prompt is a centre drawn
  uniformly from [-2, 2]^2, its responses are the centre plus N(0, s^2 I) offsets, and the
  golden reward is their f(x, y) (standardised the same way).

The annotator prefers a over b with probability sigmoid((g_a - g_b) / beta), g the
standardised golden reward, so beta is the label noise in units of the reward's spread.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def toy_reward(xy: np.ndarray) -> np.ndarray:
    """The paper's 2-D golden reward f(x, y)."""
    x, y = xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64)
    return 5.0 * (3 * np.exp(-x**2 - (y - 1 / 3) ** 2) - 3 * np.exp(-x**2 - (y - 5 / 3) ** 2)
                  - 5 * np.exp(-(x - 1) ** 2 - y**2) - 5 * np.exp(-(x + 1) ** 2 - y**2)
                  + 0.2 * x**4 + 0.2 * (y - 1 / 3) ** 4)


@dataclass(frozen=True)
class World:
    """One seeded world: a training pool (uploaded to the server), held-out prompts
    (scored with embeddings=..., never stored) and the golden reward of every row."""

    kind: str
    dim: int
    pool_ids: list[str]
    pool_prompts: list[str]
    pool_prompt_index: np.ndarray  # int (n,): which training prompt each pool row answers
    pool_x: np.ndarray  # float32 (n, D)
    pool_gold: np.ndarray  # float64 (n,)
    prompt_rows: list[np.ndarray]  # pool rows of each training prompt
    eval_x: np.ndarray  # float32 (P_eval, M, D)
    eval_gold: np.ndarray  # float64 (P_eval, M)


class _Teacher:
    """g(x) = a^T tanh(W x / sqrt(D) + c) / sqrt(H) + 0.5 * b^T x / sqrt(D): nonlinear, with a
    linear part so a linear head can learn a useful (not the whole) share of it."""

    def __init__(self, dim: int, rng: np.random.Generator, hidden: int = 128) -> None:
        self.w = rng.standard_normal((dim, hidden)) * (2.0 / np.sqrt(dim))
        self.c = rng.standard_normal(hidden) * 0.5
        self.a = rng.standard_normal(hidden) / np.sqrt(hidden)
        self.b = rng.standard_normal(dim) * (0.5 / np.sqrt(dim))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64)
        return np.tanh(x @ self.w + self.c) @ self.a + x @ self.b


def make_world(kind: str, *, dim: int, train_prompts: int, responses_per_prompt: int, eval_prompts: int,
               eval_responses: int, response_scale: float, seed: int, golden: str = "teacher") -> World:
    """Builds the world of one seed; the same seed gives the same world for every strategy."""
    rng = np.random.default_rng([seed, 0x5EED])
    n_prompts = train_prompts + eval_prompts
    if kind == "toy":
        if dim != 2:
            raise ValueError(f"the toy world is 2-D; dim is {dim}")
        centres = rng.uniform(-2.0, 2.0, size=(n_prompts, 2))

        def respond(centre_rows: np.ndarray, m: int) -> np.ndarray:
            return centres[centre_rows][:, None, :] + response_scale * rng.standard_normal((len(centre_rows), m, 2))

        gold_fn = toy_reward
    elif kind == "embedding":
        spectrum = 1.0 / np.sqrt(1.0 + np.arange(dim))
        spectrum *= np.sqrt(dim / np.sum(spectrum**2))
        rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        centres = rng.standard_normal((n_prompts, dim))
        teacher = _Teacher(dim, rng)
        if golden == "linear":  # well-specified for a LINEAR head: a diagnostic, not the paper's setting
            direction = rng.standard_normal(dim) / np.sqrt(dim)
            teacher = lambda x: x.astype(np.float64) @ direction  # noqa: E731
        elif golden != "teacher":
            raise ValueError(f"unknown golden reward {golden!r}; use 'teacher' or 'linear'")

        def respond(centre_rows: np.ndarray, m: int) -> np.ndarray:
            e = rng.standard_normal((len(centre_rows), m, dim))
            return ((centres[centre_rows][:, None, :] + response_scale * e) * spectrum) @ rotation

        gold_fn = teacher
    else:
        raise ValueError(f"unknown world kind {kind!r}; use 'embedding' or 'toy'")

    train = respond(np.arange(train_prompts), responses_per_prompt)  # (P, k, D)
    held = respond(np.arange(train_prompts, n_prompts), eval_responses)  # (P_eval, M, D)
    pool_x = train.reshape(-1, dim).astype(np.float32)
    eval_x = held.astype(np.float32)
    raw_pool = gold_fn(pool_x)
    mu, sd = float(raw_pool.mean()), float(raw_pool.std()) or 1.0
    pool_gold = (raw_pool - mu) / sd
    eval_gold = ((gold_fn(eval_x.reshape(-1, dim)) - mu) / sd).reshape(eval_prompts, eval_responses)
    prompt_index = np.repeat(np.arange(train_prompts), responses_per_prompt)
    ids = [f"r{p}-{j}" for p in range(train_prompts) for j in range(responses_per_prompt)]
    prompts = [f"p{p}" for p in prompt_index]
    rows = [np.arange(p * responses_per_prompt, (p + 1) * responses_per_prompt) for p in range(train_prompts)]
    return World(kind, dim, ids, prompts, prompt_index, pool_x, pool_gold, rows, eval_x, eval_gold)


def round_prompt_ids(world: World, prompts: np.ndarray) -> list[str]:
    """The prompt ids (as uploaded) of this round's training prompts: SelectBatch's prompt_ids."""
    return [world.pool_prompts[world.prompt_rows[p][0]] for p in prompts]


def round_candidate_count(world: World, prompts: np.ndarray) -> int:
    """Candidates per round in either mode: as many as within_prompt has pairs,
    m prompts x k (k - 1) / 2 (the server's max_candidates in the default path)."""
    k = len(world.prompt_rows[0])
    return len(prompts) * k * (k - 1) // 2


def round_candidates(world: World, prompts: np.ndarray, mode: str, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (pool rows a, b) restricted to this round's prompts, built client-side
    (the benchmark's --candidates-from explicit path; by default it asks the server instead).

    within_prompt: every pair of responses to the same drawn prompt.
    cross_prompt: as many pairs as within_prompt would give, each of two responses to
    different drawn prompts, sampled uniformly without duplicates (equal candidate counts,
    so the two modes differ only in which pairs they offer).
    """
    k = len(world.prompt_rows[0])
    iu, ju = np.triu_indices(k, 1)
    rows = np.stack([world.prompt_rows[p] for p in prompts])  # (m, k)
    if mode == "within_prompt":
        return rows[:, iu].ravel(), rows[:, ju].ravel()
    if mode != "cross_prompt":
        raise ValueError(f"unknown candidate mode {mode!r}; use 'within_prompt' or 'cross_prompt'")
    want = round_candidate_count(world, prompts)
    flat = rows.ravel()
    owner = np.repeat(np.arange(len(prompts)), k)
    n_pool = len(world.pool_ids)
    ka = np.empty(0, dtype=np.int64)
    kb = np.empty(0, dtype=np.int64)
    while True:
        i = rng.integers(0, len(flat), size=2 * want + 16)
        j = rng.integers(0, len(flat), size=i.shape[0])
        ok = owner[i] != owner[j]
        ka = np.concatenate([ka, flat[i[ok]]])
        kb = np.concatenate([kb, flat[j[ok]]])
        key = np.minimum(ka, kb) * n_pool + np.maximum(ka, kb)
        _, first = np.unique(key, return_index=True)
        if len(first) >= want:
            keep = np.sort(first)[:want]  # first occurrences, in draw order
            return ka[keep], kb[keep]


def annotate(gold_a: np.ndarray, gold_b: np.ndarray, beta: float, rng: np.random.Generator) -> list[str]:
    """Bradley–Terry labels: "a" with probability sigmoid((g_a - g_b) / beta), else "b"."""
    p = 1.0 / (1.0 + np.exp(-(gold_a - gold_b) / beta))
    return np.where(rng.random(p.shape[0]) < p, "a", "b").tolist()
