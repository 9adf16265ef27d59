#!/usr/bin/env python3
"""Active reward modeling on simulated data: rounds of select -> label -> fit.

A golden reward (a small random nonlinear teacher with a prompt part and a response part)
plays the human annotators: a pair (a, b) is labeled "a" with the Bradley–Terry probability
sigma(r*(a) - r*(b)). Each strategy gets its own project over the same pool and the same
random warm-up labels, then spends the same labeling budget round by round; after every
Fit the script prints the held-out Spearman correlation between the fitted reward and the
golden one (responses to prompts never seen in training, scored with embeddings=).

    java -jar server/target/activerm-server.jar &            # from the repo root
    python client-python-stub/examples/rlhf_loop.py          # --target localhost:50051
    python client-python-stub/examples/rlhf_loop.py --strategies random,dopt,greedy_dopt --rounds 12

It creates one project per strategy (named --project-prefix-<strategy>-<random suffix>)
and deletes them at the end unless --keep.
"""
from __future__ import annotations

import argparse
import sys
import uuid

import numpy as np

import activerm


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--target", default="localhost:50051", help="host:port of the activerm server")
    p.add_argument("--strategies", default="random,greedy_dopt",
                   help="comma-separated SelectBatch strategies to compare")
    p.add_argument("--prompts", type=int, default=60, help="prompts in the training pool")
    p.add_argument("--per-prompt", type=int, default=5, help="responses per prompt")
    p.add_argument("--holdout-prompts", type=int, default=30, help="unseen prompts for the held-out Spearman")
    p.add_argument("--dim", type=int, default=24, help="embedding dimension D")
    p.add_argument("--rounds", type=int, default=15, help="select -> label -> fit rounds after the warm-up")
    p.add_argument("--batch", type=int, default=16, help="pairs labeled per round")
    p.add_argument("--warmup", type=int, default=12, help="random pairs labeled before round 1 (same for all)")
    p.add_argument("--candidates", default="cross_prompt", choices=["cross_prompt", "within_prompt"])
    p.add_argument("--max-candidates", type=int, default=20_000, help="candidate pairs sampled per selection")
    p.add_argument("--prompts-per-round", type=int, default=0,
                   help="draw this many training prompts each round and offer only their responses "
                        "(SelectBatch prompt_ids); 0: every prompt")
    p.add_argument("--head", default="linear", choices=["linear", "mlp"])
    p.add_argument("--hidden", default="32,32", help="MLP hidden sizes (with --head mlp)")
    p.add_argument("--epochs", type=int, default=40, help="MLP epochs per fit (with --head mlp)")
    p.add_argument("--l2", type=float, default=1.0, help="prior precision lambda of the head")
    p.add_argument("--reward-scale", type=float, default=3.0,
                   help="std of the golden reward over the pool (larger: less label noise)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--project-prefix", default="rlhf-loop")
    p.add_argument("--keep", action="store_true", help="keep the projects instead of deleting them at the end")
    return p.parse_args(argv)


class World:
    """Embeddings x = prompt part + response part and the golden reward
    r*(x) = scale * (g(prompt part) + h(response part)), g and h random one-hidden-layer tanh nets."""

    def __init__(self, dim: int, reward_scale: float, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.dim = dim
        width = 16
        self.wp = self.rng.standard_normal((dim, width)) / np.sqrt(dim)
        self.up = self.rng.standard_normal(width)
        self.wr = self.rng.standard_normal((dim, width)) / np.sqrt(dim)
        self.ur = self.rng.standard_normal(width)
        self.reward_scale = reward_scale
        self.norm = 1.0

    def responses(self, prompts: int, per_prompt: int, tag: str):
        prompt_part = self.rng.standard_normal((prompts, self.dim)) * 0.7
        response_part = self.rng.standard_normal((prompts * per_prompt, self.dim))
        which = np.repeat(np.arange(prompts), per_prompt)
        x = (prompt_part[which] + response_part) / np.sqrt(1.49)
        raw = np.tanh(prompt_part[which] @ self.wp) @ self.up + np.tanh(response_part @ self.wr) @ self.ur
        ids = [f"{tag}-p{p}-r{i}" for i, p in enumerate(which)]
        prompt_ids = [f"{tag}-p{p}" for p in which]
        return ids, prompt_ids, x.astype(np.float32), raw

    def calibrate(self, raw_pool: np.ndarray) -> None:
        self.norm = self.reward_scale / np.std(raw_pool)

    def golden(self, raw: np.ndarray) -> np.ndarray:
        return raw * self.norm


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx = np.argsort(np.argsort(x)).astype(np.float64)
    ry = np.argsort(np.argsort(y)).astype(np.float64)
    rx -= rx.mean()
    ry -= ry.mean()
    denom = np.sqrt((rx @ rx) * (ry @ ry))
    return float(rx @ ry / denom) if denom > 0 else float("nan")


class Run:
    """One strategy's project, its label stream and its history."""

    def __init__(self, client, args, strategy: str, pool, golden_pool: dict[str, float]) -> None:
        self.args = args
        self.strategy = strategy
        self.golden = golden_pool
        hidden = [int(h) for h in args.hidden.split(",")] if args.head == "mlp" else None
        self.project = client.create_project(
            f"{args.project_prefix}-{strategy}-{uuid.uuid4().hex[:8]}", embedding_dim=args.dim, head=args.head,
            l2=args.l2, hidden_sizes=hidden)
        ids, prompt_ids, x = pool
        self.project.add_responses(ids, prompt_ids, x)
        self.labels = np.random.default_rng(args.seed + 1)  # the same annotator noise stream for every strategy
        self.num_labels = 0

    def step(self, strategy: str, size: int, seed: int, prompt_ids: list[str] | None = None) -> None:
        batch = self.project.select_batch(size=size, strategy=strategy, candidates=self.args.candidates,
                                          max_candidates=self.args.max_candidates, seed=seed, prompt_ids=prompt_ids)
        a, b = batch.a_ids, batch.b_ids
        diff = np.array([self.golden[i] - self.golden[j] for i, j in zip(a, b)])
        p_a = 1.0 / (1.0 + np.exp(-diff))
        outcomes = np.where(self.labels.random(len(a)) < p_a, "a", "b").tolist()
        self.project.add_comparisons(a, b, outcomes)
        self.num_labels += len(a)
        if self.args.head == "mlp":
            self.project.fit(seed=self.args.seed, epochs=self.args.epochs, learning_rate=3e-3, batch_size=64)
        else:
            self.project.fit(seed=self.args.seed, warm_start=True)

    def heldout_spearman(self, x_heldout: np.ndarray, golden_heldout: np.ndarray) -> float:
        return spearman(self.project.score(embeddings=x_heldout), golden_heldout)


def main(argv=None) -> int:
    args = parse_args(argv)
    strategies = [s.strip().lower() for s in args.strategies.split(",") if s.strip()]
    world = World(args.dim, args.reward_scale, args.seed)
    ids, prompt_ids, x, raw = world.responses(args.prompts, args.per_prompt, "train")
    world.calibrate(raw)
    golden_pool = dict(zip(ids, world.golden(raw)))
    _, _, x_heldout, raw_heldout = world.responses(args.holdout_prompts, args.per_prompt, "heldout")
    golden_heldout = world.golden(raw_heldout)

    print(f"activerm RLHF loop against {args.target}: pool {len(ids)} responses "
          f"({args.prompts} prompts x {args.per_prompt}), D={args.dim}, {args.head} head, "
          f"held-out {len(x_heldout)} responses to {args.holdout_prompts} unseen prompts")
    print(f"{args.warmup} random warm-up labels, then {args.rounds} rounds of {args.batch} "
          f"({args.candidates} candidates)")
    print("held-out Spearman(fitted reward, golden reward)")
    print(f"{'round':>5} {'labels':>6} " + " ".join(f"{s:>14}" for s in strategies), flush=True)

    with activerm.Client(args.target, timeout=120) as client:
        runs = []
        history: list[list[float]] = []
        try:
            for s in strategies:
                runs.append(Run(client, args, s, (ids, prompt_ids, x), golden_pool))
            prompt_rng = np.random.default_rng(args.seed + 2)  # the same round prompts for every strategy
            all_prompts = sorted(set(prompt_ids))
            for r in range(args.rounds + 1):
                row = []
                drawn = None
                if r > 0 and 0 < args.prompts_per_round < len(all_prompts):
                    drawn = prompt_rng.choice(all_prompts, size=args.prompts_per_round, replace=False).tolist()
                for run in runs:
                    if r == 0:  # the same random pairs for every strategy: same pool, same seed
                        run.step("random", args.warmup, args.seed)
                    else:
                        run.step(run.strategy, args.batch, args.seed + r, drawn)
                    row.append(run.heldout_spearman(x_heldout, golden_heldout))
                history.append(row)
                print(f"{r:>5} {runs[0].num_labels:>6} " + " ".join(f"{v:>14.4f}" for v in row), flush=True)
            if args.rounds > 0:
                mean = np.mean(np.array(history[1:]), axis=0)
                print(f"{'mean':>5} {'1..' + str(args.rounds):>6} " + " ".join(f"{v:>14.4f}" for v in mean))
        finally:
            if not args.keep:
                for run in runs:
                    run.project.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
