"""The MLP head's default schedule (issue 12): the default (10 epochs of 256, sent
explicitly) against the until-converged schedule (mlp.until_converged: until the penalised
objective stops improving; measured as a candidate default, kept opt-in on these numbers), and optionally a long explicit run, on the
same project, labels and seed (paired; the three fits run back to back, interleaved per cell).

Worlds: activerm.bench's toy 2-D world (head 3 x 64, as the "full" preset) and its embedding
world (D = 256, head 2 x 128, as "full"'s embedding-mlp). N labels: random within-prompt pairs,
Bradley–Terry labels at beta = 1; "fortunes" is the real-data pool of benchmarks/data
(its golden reward for the labels, its held-out prompts for the metrics). Held-out: pairwise accuracy and mean per-prompt Spearman on
the world's evaluation prompts (never stored).

  cd client-python-stub && PYTHONPATH=$PWD/src .venv/bin/python ../benchmarks/fit/default_schedule.py \\
      --server-jar ../server/target/activerm-server.jar --seeds 5 --sizes 32,64,128,256,512 --out runs.csv
  python ../benchmarks/fit/default_schedule.py --summarise runs.csv    # the markdown table
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import pathlib
import sys
import uuid

import numpy as np

import activerm
from activerm.bench import _metrics as mx
from activerm.bench._dataset import load_pool
from activerm.bench._dataset_world import DatasetWorld
from activerm.bench._server import JarServer
from activerm.bench._sim import annotate, make_world

WORLDS = {
    "toy": dict(kind="toy", dim=2, hidden=(64, 64, 64)),
    "embedding": dict(kind="embedding", dim=256, hidden=(128, 128)),
    # The real-data pool (fortunes texts, all-MiniLM-L6-v2 D = 384, VADER golden reward).
    "fortunes": dict(kind="dataset", dim=384, hidden=(128, 128),
                     path=str(pathlib.Path(__file__).resolve().parents[1] / "data" / "fortunes_minilm_vader.npz")),
}
OLD_DEFAULT = {"epochs": 10, "batch_size": 256}
NEW_DEFAULT: dict = {"until_converged": True}  # measured as the default in c0746ed (epochs unset then)


def steps(fit: dict, epochs_run: int, labels: int) -> int:
    batch = min(int(fit.get("batch_size") or 256), labels)
    return epochs_run * math.ceil(labels / batch)


_DATASETS: dict = {}


def _dataset(path: str):
    if path not in _DATASETS:
        _DATASETS[path] = DatasetWorld(load_pool(path, None), bon_draws=1)
    return _DATASETS[path]


def one_cell(client, world_name: str, seed: int, n: int, long_steps: int) -> list[dict]:
    w = WORLDS[world_name]
    if w["kind"] == "dataset":
        world = _dataset(w["path"])
    else:
        world = make_world(w["kind"], dim=w["dim"], train_prompts=2000, responses_per_prompt=8, eval_prompts=100,
                           eval_responses=100, response_scale=0.5, seed=seed)
    rng = np.random.default_rng([seed, n, 7])
    prompts = rng.integers(0, len(world.prompt_rows), size=n)
    pick = [rng.choice(world.prompt_rows[p], size=2, replace=False) for p in prompts]
    ra = np.array([q[0] for q in pick])
    rb = np.array([q[1] for q in pick])
    outcomes = annotate(world.pool_gold[ra], world.pool_gold[rb], 1.0, rng)
    ids = np.asarray(world.pool_ids, dtype=object)
    project = client.create_project(f"sched-{world_name}-{seed}-{n}-{uuid.uuid4().hex[:6]}",
                                    embedding_dim=w["dim"], head="mlp", l2=1.0, hidden_sizes=w["hidden"])
    try:
        project.add_responses(world.pool_ids, world.pool_prompts, world.pool_x)
        project.add_comparisons(list(ids[ra]), list(ids[rb]), outcomes)
        eval_x = world.eval_x.reshape(-1, w["dim"])
        schedules = [("old", OLD_DEFAULT), ("new", NEW_DEFAULT)]
        if seed % 2:  # alternate the order so neither schedule always runs first
            schedules.reverse()
        if long_steps:
            schedules.append(("long", {"epochs": long_steps, "batch_size": 1_000_000}))
        rows = []
        for name, fit in schedules:
            r = project.fit(seed=seed, **fit)
            pred = project.score(embeddings=eval_x)
            if w["kind"] == "dataset":
                m = world.evaluate(pred)
                acc, rho = m["pair_accuracy"], m["spearman"]
            else:
                pred = pred.reshape(world.eval_gold.shape)
                acc, rho = mx.pairwise_accuracy(pred, world.eval_gold), mx.mean_spearman(pred, world.eval_gold)
            rows.append(dict(world=world_name, n=n, seed=seed, schedule=name, epochs=r.iterations,
                             steps=steps(fit, r.iterations, n), converged=r.converged, fit_s=r.wall_time_s,
                             train_loss=r.loss, train_acc=r.train_accuracy,
                             heldout_acc=acc, spearman=rho))
        return rows
    finally:
        project.delete()


def _fmt(v: np.ndarray, spec: str) -> str:
    return f"{np.median(v):{spec}} [{v.min():{spec}}..{v.max():{spec}}]"


def summarise(path: str) -> None:
    """The markdown table of docs/benchmarks.md: per world and N, old vs new, median [min..max]
    over seeds, and the paired held-out differences new - old."""
    rows = list(csv.DictReader(open(path)))
    print("| world | N | steps old / new | new converged | fit s old / new | train loss old / new "
          "| held-out acc old / new | Spearman old / new | paired acc new - old | paired Spearman new - old |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for world in dict.fromkeys(r["world"] for r in rows):
        for n in sorted({int(r["n"]) for r in rows if r["world"] == world}):
            cell = {(r["schedule"], int(r["seed"])): r for r in rows if r["world"] == world and int(r["n"]) == n}
            seeds = sorted({s for _, s in cell})
            col = lambda sch, k: np.array([float(cell[(sch, s)][k]) for s in seeds])  # noqa: E731
            conv = sum(cell[("new", s)]["converged"] == "True" for s in seeds)
            print(f"| {world} | {n} | {_fmt(col('old', 'steps'), '.0f')} / {_fmt(col('new', 'steps'), '.0f')} "
                  f"| {conv}/{len(seeds)} | {_fmt(col('old', 'fit_s'), '.3f')} / {_fmt(col('new', 'fit_s'), '.2f')} "
                  f"| {_fmt(col('old', 'train_loss'), '.3f')} / {_fmt(col('new', 'train_loss'), '.3f')} "
                  f"| {_fmt(col('old', 'heldout_acc'), '.3f')} / {_fmt(col('new', 'heldout_acc'), '.3f')} "
                  f"| {_fmt(col('old', 'spearman'), '.3f')} / {_fmt(col('new', 'spearman'), '.3f')} "
                  f"| {_fmt(col('new', 'heldout_acc') - col('old', 'heldout_acc'), '+.3f')} "
                  f"| {_fmt(col('new', 'spearman') - col('old', 'spearman'), '+.3f')} |")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--summarise":
        summarise(sys.argv[2])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--server-jar", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--sizes", default="32,64,128,256,512")
    ap.add_argument("--worlds", default="toy,embedding")
    ap.add_argument("--long", type=int, default=0, help="also a long explicit full-batch run of this many steps")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    print("uptime before:", os.popen("uptime").read().strip(), file=sys.stderr)
    rows = []
    with JarServer(a.server_jar) as s, activerm.Client(s.target, timeout=600) as client:
        for world_name in a.worlds.split(","):
            for n in (int(x) for x in a.sizes.split(",")):
                for seed in range(1, a.seeds + 1):
                    for row in one_cell(client, world_name, seed, n, a.long):
                        rows.append(row)
                        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in row.items()), file=sys.stderr, flush=True)
    print("uptime after:", os.popen("uptime").read().strip(), file=sys.stderr)
    out = open(a.out, "w", newline="") if a.out else sys.stdout
    wr = csv.DictWriter(out, fieldnames=list(rows[0]))
    wr.writeheader()
    wr.writerows(rows)


if __name__ == "__main__":
    main()
