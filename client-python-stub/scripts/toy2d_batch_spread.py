"""One-off diagnostic behind docs/benchmarks.md (label efficiency, reading 1): on the full preset's
toy2d world, after 6 rounds (RANDOM warm-up, then GREEDY_DOPT), where do DOPT, GREEDY_DOPT and
RANDOM put a batch of 32 CROSS_PROMPT pairs? Prints distinct endpoints and their spread.

Usage (from client-python-stub/, after mvn -B -q -DskipTests package): python scripts/toy2d_batch_spread.py
"""
import pathlib

import numpy as np

import activerm
from activerm.bench._server import JarServer
from activerm.bench._sim import make_world, annotate
from activerm.bench._config import preset

sc = [s for s in preset("full").scenarios if s.name == "toy2d"][0]
with JarServer(str(pathlib.Path(__file__).resolve().parents[2] / "server/target/activerm-server.jar")) as srv, activerm.Client(srv.target) as c:
    for seed in range(3):
        w = make_world("toy", dim=2, train_prompts=2000, responses_per_prompt=8, eval_prompts=10, eval_responses=10,
                       response_scale=sc.response_scale, seed=seed, golden="teacher")
        ids = list(w.pool_ids); row = {r: i for i, r in enumerate(ids)}
        p = c.create_project(f"red{seed}", embedding_dim=2, head="mlp", hidden_sizes=list(sc.hidden_sizes))
        p.add_responses(ids, w.pool_prompts, w.pool_x)
        rng = np.random.default_rng(seed)
        for rnd in range(6):
            prompts = sorted(set(rng.choice(sorted(set(w.pool_prompts)), 500, replace=False)))
            strat = "random" if rnd == 0 else "greedy_dopt"
            s = p.select_batch(32, strategy=strat, candidates="cross_prompt", prompt_ids=prompts, max_candidates=14000, seed=rnd)
            a = np.array([row[i] for i in s.a_ids]); b = np.array([row[i] for i in s.b_ids])
            p.add_comparisons(s.a_ids, s.b_ids, annotate(w.pool_gold[a], w.pool_gold[b], 1.0, rng))
            p.fit(seed=seed, **sc.fit)
        prompts = sorted(set(rng.choice(sorted(set(w.pool_prompts)), 500, replace=False)))
        out = []
        for strat in ("dopt", "greedy_dopt", "random"):
            s = p.select_batch(32, strategy=strat, candidates="cross_prompt", prompt_ids=prompts, max_candidates=14000,
                               seed=99, include_pending=True)
            ends = [row[i] for i in s.a_ids] + [row[i] for i in s.b_ids]
            xy = w.pool_x[ends]
            spread = np.mean(np.linalg.norm(xy - xy.mean(0), axis=1))
            out.append(f"{strat}: {len(set(ends))} distinct responses of 64 endpoints, mean dist to centroid {spread:.2f}")
        print(f"seed {seed}: " + "; ".join(out), flush=True)
        p.delete()
