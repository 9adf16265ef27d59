"""Drives the server through the public client: one project per (scenario, mode, strategy, seed)."""
from __future__ import annotations

import math
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

import activerm

from . import _metrics as mx
from ._config import Config, Scenario, adam_steps
from ._dataset_world import DatasetScenario, DatasetWorld, dataset_world
from ._sim import World, annotate, make_world, round_candidate_count, round_candidates, round_prompt_ids

ROUND_COLUMNS = (
    "scenario", "head", "candidates", "strategy", "seed", "round", "labels",
    "spearman", "pair_accuracy", "best_of_5", "best_of_10", "best_of_50", "best_of_100",
    "train_accuracy", "num_candidates", "select_s", "fit_s", "select_rpc_s", "fit_rpc_s",
    # The stop signals (_stop.py): the batch's information, and the pool's uncertainty after the fit.
    "log_det_gain", "relative_gain", "pool_mean_variance", "pool_p90_variance", "pool_mean_bernoulli",
    "beta", "label_agreement", "fit_steps", "train_loss",
)
STOP_PAIRS = 2048  # pool pairs per round for pool_uncertainty (the same seeded sample every round)
ERROR_COLUMNS = ("scenario", "candidates", "strategy", "seed", "round", "code", "message")


@dataclass(frozen=True)
class _Job:
    scenario: Scenario
    mode: str
    strategy: str
    seed: int
    candidates_from: str = "server"  # see _config.CANDIDATE_SOURCES


class _Worlds:
    """One world (and its best-of-N subsets) per (world parameters, seed), built once, shared by
    all runs (a noise sweep's betas and scenarios that differ only in head or schedule share it)."""

    def __init__(self, bon_draws: int) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple[World, dict, dict]] = {}
        self._bon_draws = bon_draws

    def get(self, sc: Scenario, seed: int) -> tuple[World, dict, dict]:
        key = (sc.kind, sc.dim, sc.train_prompts, sc.responses_per_prompt, sc.eval_prompts, sc.eval_responses,
               sc.response_scale, sc.golden, seed)
        with self._lock:
            if key not in self._cache and isinstance(sc, DatasetScenario):  # the file's pool, every seed
                w = dataset_world(sc, self._bon_draws)
                self._cache[key] = (w, {}, {rid: i for i, rid in enumerate(w.pool_ids)})
            if key not in self._cache:
                w = make_world(sc.kind, dim=sc.dim, train_prompts=sc.train_prompts,
                               responses_per_prompt=sc.responses_per_prompt, eval_prompts=sc.eval_prompts,
                               eval_responses=sc.eval_responses, response_scale=sc.response_scale, seed=seed,
                               golden=sc.golden)
                subsets = mx.best_of_n_subsets(sc.eval_prompts, sc.eval_responses, self._bon_draws, seed)
                row_of = {rid: i for i, rid in enumerate(w.pool_ids)}
                self._cache[key] = (w, subsets, row_of)
            return self._cache[key]


def evaluate(pred: np.ndarray, world: World | DatasetWorld, subsets: dict) -> dict[str, float]:
    if isinstance(world, DatasetWorld):
        return world.evaluate(pred)
    pred = pred.reshape(world.eval_gold.shape)
    out = {"spearman": mx.mean_spearman(pred, world.eval_gold),
           "pair_accuracy": mx.pairwise_accuracy(pred, world.eval_gold)}
    bon = mx.best_of_n(pred, world.eval_gold, subsets)
    for n in mx.BEST_OF:
        out[f"best_of_{n}"] = bon.get(n, float("nan"))
    return out


def _stop_signals(sel: activerm.Selection, unc: activerm.PoolUncertainty) -> dict[str, float]:
    info = sel.information  # None in round 0: chosen before the first model
    return {"log_det_gain": info.log_det_gain if info else float("nan"),
            "relative_gain": info.relative_gain_per_label if info else float("nan"),
            "pool_mean_variance": unc.mean_variance, "pool_p90_variance": unc.p90_variance,
            "pool_mean_bernoulli": unc.mean_bernoulli_variance}


def fit_steps(sc: Scenario, iterations: int, labels: int) -> int:
    """Optimiser steps of one Fit from its report: Newton iterations (LINEAR) or Adam steps
    (MLP: epochs run x minibatches per epoch), so the rounds' training budgets can be compared."""
    return iterations if sc.head == "linear" else adam_steps(sc.fit, iterations, labels)


def label_agreement(gold_a: np.ndarray, gold_b: np.ndarray, outcomes: list[str]) -> float:
    """Fraction of this round's labels that agree with the golden order (how noisy beta made them)."""
    a_better = gold_a > gold_b
    said_a = np.asarray(outcomes) == "a"
    return float(np.mean(a_better == said_a)) if len(outcomes) else float("nan")


def run_one(client: activerm.Client, job: _Job, worlds: _Worlds) -> tuple[list[dict], list[dict]]:
    """One active-learning run; returns (per-round rows, errors). A failed RPC ends the run
    and is reported with its gRPC code; the rounds before it are kept."""
    sc, seed = job.scenario, job.seed
    world, subsets, row_of = worlds.get(sc, seed)
    ids = np.asarray(world.pool_ids, dtype=object)
    rows: list[dict] = []
    errors: list[dict] = []
    pid = f"bench-{sc.name}-{job.mode}-{job.strategy}-s{seed}-{uuid.uuid4().hex[:8]}"
    round_ = -1
    project = None
    try:
        project = client.create_project(pid, embedding_dim=sc.dim, head=sc.head, l2=sc.l2,
                                        hidden_sizes=sc.hidden_sizes or None)
        project.add_responses(world.pool_ids, world.pool_prompts, world.pool_x)
        prompt_rng = np.random.default_rng([seed, 1])  # same prompts per round for every strategy
        eval_x = world.eval_x.reshape(-1, sc.dim)
        for round_ in range(sc.rounds + 1):
            prompts = prompt_rng.choice(sc.train_prompts, size=sc.prompts_per_round, replace=False)
            strategy = "random" if round_ == 0 else job.strategy
            size = sc.warmup if round_ == 0 else sc.batch_size
            if isinstance(world, DatasetWorld) and (world.replay or job.candidates_from == "explicit"):
                a, b = world.round_candidates(prompts, job.mode, np.random.default_rng([seed, 2, round_]))
                candidates = dict(candidates=list(zip(ids[a], ids[b])))
            elif isinstance(world, DatasetWorld):
                candidates = dict(candidates=job.mode, prompt_ids=world.round_prompt_ids(prompts),
                                  max_candidates=world.round_candidate_count(prompts))
            elif job.candidates_from == "explicit":
                a, b = round_candidates(world, prompts, job.mode, np.random.default_rng([seed, 2, round_]))
                candidates = dict(candidates=list(zip(ids[a], ids[b])))
            else:  # the server draws them from the round's prompts; the same count as the explicit path
                candidates = dict(candidates=job.mode, prompt_ids=round_prompt_ids(world, prompts),
                                  max_candidates=round_candidate_count(world, prompts))
            t0 = time.perf_counter()
            sel = project.select_batch(size, strategy=strategy, seed=seed * 1000 + round_, **candidates)
            select_rpc = time.perf_counter() - t0
            ra = np.fromiter((row_of[i] for i in sel.a_ids), dtype=np.int64, count=len(sel))
            rb = np.fromiter((row_of[i] for i in sel.b_ids), dtype=np.int64, count=len(sel))
            label_rng = np.random.default_rng([seed, 3, round_])
            if isinstance(world, DatasetWorld):  # recorded labels in replay, else Bradley–Terry as below
                outcomes = world.label(ra, rb, sc.beta, label_rng)
            else:
                outcomes = annotate(world.pool_gold[ra], world.pool_gold[rb], sc.beta, label_rng)
            project.add_comparisons(sel.a_ids, sel.b_ids, outcomes)
            t0 = time.perf_counter()
            report = project.fit(seed=seed, **sc.fit)
            fit_rpc = time.perf_counter() - t0
            pred = project.score(embeddings=eval_x)
            row = {"scenario": sc.name, "head": sc.head, "candidates": job.mode, "strategy": job.strategy,
                   "seed": seed, "round": round_, "labels": report.num_comparisons}
            row.update(evaluate(pred, world, subsets))
            row.update(train_accuracy=report.train_accuracy, num_candidates=sel.num_candidates,
                       select_s=sel.wall_time_s, fit_s=report.wall_time_s, select_rpc_s=select_rpc,
                       fit_rpc_s=fit_rpc, beta=sc.beta,
                       label_agreement=(label_agreement(world.pool_gold[ra], world.pool_gold[rb], outcomes)
                                        if world.pool_gold is not None else math.nan),  # replay: no golden
                       fit_steps=fit_steps(sc, report.iterations, report.num_comparisons),
                       train_loss=report.loss)
            row.update(_stop_signals(sel, project.pool_uncertainty(num_pairs=STOP_PAIRS, seed=seed)))
            rows.append(row)
    except activerm.ActiveRmError as e:
        errors.append({"scenario": sc.name, "candidates": job.mode, "strategy": job.strategy, "seed": seed,
                       "round": round_, "code": e.code.name if e.code is not None else "",
                       "message": str(e).replace("\n", " ")})
    finally:
        if project is not None:
            try:
                project.delete()
            except activerm.ActiveRmError:
                pass
    return rows, errors


def complete_seeds(cfg: Config, finished: set[tuple]) -> list[int]:
    """Seeds whose every (scenario, mode, strategy) run finished (rows or an error). A time
    limit can stop a run part-way through a seed; comparisons are paired by seed, so only
    these seeds are reported (the jobs run seed by seed, so at most the last one is cut)."""
    return [seed for seed in range(cfg.seeds)
            if all((sc.name, mode, strat, seed) in finished
                   for sc in cfg.scenarios for mode in sc.modes for strat in cfg.strategies)]


def run_all(cfg: Config, target: str, *, log=sys.stderr, timeout: float = 600.0,
            time_limit: float | None = None, clock=time.perf_counter) -> tuple[list[dict], list[dict]]:
    """Every (scenario, mode, strategy, seed) of the config; rows sorted for stable output.
    With time_limit (seconds), no run starts after it (runs in flight finish) and only the
    seeds all of whose runs finished are returned: a bounded long benchmark then reports the
    seeds it completed instead of nothing (clock: the time source, a parameter for tests)."""
    jobs = [_Job(sc, mode, strat, seed, cfg.candidates_from)
            for seed in range(cfg.seeds) for sc in cfg.scenarios for mode in sc.modes for strat in cfg.strategies]
    worlds = _Worlds(cfg.bon_draws)
    rows: list[dict] = []
    errors: list[dict] = []
    started = clock()
    deadline = math.inf if time_limit is None else started + time_limit
    finished: set[tuple] = set()

    def bounded(job: _Job):
        if clock() >= deadline:
            return None  # not started: past the time limit
        return run_one(client, job, worlds)

    with activerm.Client(target, timeout=timeout) as client, ThreadPoolExecutor(cfg.workers) as pool:
        futures = {pool.submit(bounded, j): j for j in jobs}
        for done, fut in enumerate(as_completed(futures), 1):
            out = fut.result()
            if out is None:
                continue
            j = futures[fut]
            finished.add((j.scenario.name, j.mode, j.strategy, j.seed))
            r, e = out
            rows.extend(r)
            errors.extend(e)
            for err in e:
                print(f"[bench] ERROR {err['scenario']}/{err['candidates']}/{err['strategy']} seed {err['seed']} "
                      f"round {err['round']}: {err['code']} {err['message']}", file=log, flush=True)
            if done % max(1, len(jobs) // 20) == 0 or done == len(jobs):
                print(f"[bench] {done}/{len(jobs)} runs, {clock() - started:.0f} s", file=log, flush=True)
    if len(finished) < len(jobs):
        keep = set(complete_seeds(cfg, finished))
        print(f"[bench] time limit {time_limit:g} s: {len(finished)} of {len(jobs)} runs finished; reporting the "
              f"{len(keep)} complete seed(s) {sorted(keep)} of {cfg.seeds}", file=log, flush=True)
        rows = [r for r in rows if r["seed"] in keep]
        errors = [e for e in errors if e["seed"] in keep]
    key = lambda r: (r["scenario"], r["candidates"], cfg.strategies.index(r["strategy"]), r["seed"], r["round"])  # noqa: E731
    rows.sort(key=key)
    errors.sort(key=lambda r: (r["scenario"], r["candidates"], cfg.strategies.index(r["strategy"]), r["seed"]))
    return rows, errors
