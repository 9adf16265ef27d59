"""Strategy screen (issue 12 section 4): the bench protocol on one preset scenario with Fit
overrides (e.g. --fit '{"weight_decay": 1.0}'), printing per strategy the mean Spearman over
rounds 1..R, the final round, and the paired difference against RANDOM (same seeds, rounds).

    python scripts/strategy_screen.py --server-jar ../server/target/activerm-server.jar \
        --preset fast --scenario toy2d --seeds 10 --strategies random,dopt,greedy_dopt,batch_dopt
"""
import argparse, json, sys, time
from dataclasses import replace
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "src"))
from activerm.bench import _config as C
from activerm.bench._runner import run_all
from activerm.bench._server import JarServer

ap = argparse.ArgumentParser()
ap.add_argument("--preset", default="full")
ap.add_argument("--scenario", default="toy2d")
ap.add_argument("--strategies", default="random,dopt,greedy_dopt,batch_dopt")
ap.add_argument("--modes", default="cross_prompt")
ap.add_argument("--seeds", type=int, default=3)
ap.add_argument("--rounds", type=int, default=None)
ap.add_argument("--fit", default="{}")
ap.add_argument("--workers", type=int, default=2)
ap.add_argument("--out", default=None, help="write the rows as JSON here")
ap.add_argument("--server-jar", required=True)
a = ap.parse_args()
cfg = C.preset(a.preset)
sc = [s for s in cfg.scenarios + cfg.extra_scenarios if s.name == a.scenario][0]
fit = dict(sc.fit); fit.update(json.loads(a.fit))
sc = replace(sc, fit=fit, modes=tuple(a.modes.split(",")), **({"rounds": a.rounds} if a.rounds else {}))
strats = tuple(a.strategies.split(","))
C.STRATEGIES = C.STRATEGIES + tuple(s for s in strats if s not in C.STRATEGIES)
cfg = replace(cfg, scenarios=(sc,), extra_scenarios=(), strategies=strats, seeds=a.seeds, workers=a.workers)
t0 = time.time()
with JarServer(a.server_jar, java_opts=("-Xmx2g",)) as srv:
    rows, errors = run_all(cfg, srv.target, log=open("/dev/null", "w"))
print(f"# {a.scenario} {a.modes} fit={fit} seeds={a.seeds} wall={time.time()-t0:.0f}s errors={len(errors)}")
for e in errors[:3]: print("ERR", e)
if a.out: json.dump(rows, open(a.out, "w"))
for mode in sc.modes:
    R = {}
    for r in rows:
        if r["candidates"] == mode:
            R.setdefault(r["strategy"], {})[(r["seed"], r["round"])] = r
    rnd = R.get("random", {})
    for s in strats:
        d = R.get(s, {})
        cells = [k for k in d if k[1] >= 1 and k in rnd]
        over = np.mean([d[k]["spearman"] for k in cells])
        last = max(k[1] for k in d)
        fin = np.mean([d[k]["spearman"] for k in d if k[1] == last])
        diff = [d[k]["spearman"] - rnd[k]["spearman"] for k in cells]
        tacc = np.mean([d[k]["train_accuracy"] for k in d if k[1] == last])
        curve = [np.mean([d[k]["spearman"] for k in d if k[1] == i]) for i in range(last + 1)]
        print(f"{mode:13s} {s:16s} over={over:.3f} final={fin:.3f} vsRANDOM={np.mean(diff):+.3f} "
              f"ahead={sum(x>0 for x in diff)}/{len(diff)} train_acc={tacc:.2f} curve={' '.join(f'{c:.2f}' for c in curve)}")
