"""The stop rule (docs/operations.md, "When to stop labeling") applied to the benchmark's
rounds, next to where the learning curves flatten: a table and one PNG per (scenario, mode).

Signals per round r (rounds.csv): relative_gain is Selection.information.relative_gain_per_label
of round r's batch (chosen with the model fitted after round r-1; NaN in round 0, which has no
model); pool_mean_variance is Project.pool_uncertainty() after round r's fit.

Rule (STOP_X, STOP_Y, STOP_K): before labeling round r's batch, stop if for each of the last
STOP_K rounds q = r-STOP_K+1..r the batch's relative gain per label was below STOP_X and the
pool's mean posterior variance fell by less than STOP_Y (relative) over the fit before it
(round q-2 to q-1). Stopping at r means the labels of round r-1 are all that is labeled.
Flattening: the labels at which the seed-mean Spearman curve first reaches 95% of its rise
from round 0 to the last round (linear interpolation), the "enough" a stop should land near.
"""
from __future__ import annotations

import math
import pathlib
from collections import defaultdict

import numpy as np

from ._config import Config

STOP_X = 0.35  # relative gain per label below this (the first measured batch is 1)
STOP_Y = 0.15  # and the pool's mean posterior variance fell by less than this per round
STOP_K = 2  # for this many consecutive rounds
FLAT_LEVEL = 0.95  # of the Spearman curve's rise, round 0 to the last round


def stop_round(run: list[dict], x: float = STOP_X, y: float = STOP_Y, k: int = STOP_K) -> int | None:
    """The round whose batch the rule would not label, for one run's rows (any order), or None."""
    by = {int(r["round"]): r for r in run}
    streak = 0
    for q in sorted(by):
        if q < 2 or q - 1 not in by or q - 2 not in by:
            streak = 0
            continue
        gain = float(by[q]["relative_gain"])
        v0, v1 = float(by[q - 2]["pool_mean_variance"]), float(by[q - 1]["pool_mean_variance"])
        drop = (v0 - v1) / v0 if v0 > 0 else 0.0
        ok = math.isfinite(gain) and gain < x and drop < y
        streak = streak + 1 if ok else 0
        if streak >= k:
            return q
    return None


def _mean_curve(rows: list[dict], key: str) -> list[tuple[float, float]]:
    acc = defaultdict(list)
    for r in rows:
        if math.isfinite(float(r[key])):  # round 0 has no relative gain
            acc[int(r["labels"])].append(float(r[key]))
    return [(lab, float(np.mean(v))) for lab, v in sorted(acc.items())]


def _at(curve: list[tuple[float, float]], labels: float) -> float:
    xs, ys = zip(*curve)
    return float(np.interp(labels, xs, ys))


def flat_labels(curve: list[tuple[float, float]], level: float = FLAT_LEVEL) -> float:
    """Labels where the curve first reaches level of its rise (first to last point)."""
    (l0, s0), (_, s1) = curve[0], curve[-1]
    target = s0 + level * (s1 - s0)
    for (la, va), (lb, vb) in zip(curve, curve[1:]):
        if (vb - target) * (s1 - s0) >= 0:
            return float(lb) if vb == va else float(la + (target - va) / (vb - va) * (lb - la))
    return float(l0)


SENSITIVITY = ((0.35, 0.10), (0.35, 0.25), (0.5, 0.15), (0.25, 0.15))  # (x, y) besides the default


def analyse(rows: list[dict], cfg: Config, x: float = STOP_X, y: float = STOP_Y) -> list[dict]:
    """One line per (scenario, mode, strategy): where the rule stops and where the curve flattens."""
    runs = defaultdict(list)
    for r in rows:
        runs[(r["scenario"], r["candidates"], r["strategy"], int(r["seed"]))].append(r)
    out = []
    for sc in cfg.scenarios:
        for mode in sc.modes:
            for strat in cfg.strategies:
                group = [r for r in rows if r["scenario"] == sc.name and r["candidates"] == mode
                         and r["strategy"] == strat]
                if not group or "relative_gain" not in group[0]:
                    continue
                curve = _mean_curve(group, "spearman")
                stops = []
                for seed in sorted({int(r["seed"]) for r in group}):
                    run = runs[(sc.name, mode, strat, seed)]
                    q = stop_round(run, x, y)
                    stops.append(math.nan if q is None else float(sc.labels_after(q - 1)))
                stopped = [s for s in stops if math.isfinite(s)]
                med = float(np.median(stopped)) if stopped else math.nan
                out.append({"scenario": sc.name, "candidates": mode, "strategy": strat,
                            "seeds": len(stops), "stopped": len(stopped), "stop_labels": med,
                            "flat_labels": flat_labels(curve), "final_labels": curve[-1][0],
                            "spearman_at_stop": _at(curve, med) if stopped else math.nan,
                            "spearman_final": curve[-1][1]})
    return out


def markdown(result: list[dict], images: dict, others: dict | None = None) -> str:
    lines = ["## Stop rule",
             "",
             f"Rule: stop before labeling a batch when, for {STOP_K} consecutive rounds, the batch's relative gain per "
             f"label was below {STOP_X} and the pool's mean posterior variance fell by less than {STOP_Y:.0%} over "
             f"the fit before it. Flattening: where the seed-mean Spearman curve reaches {FLAT_LEVEL:.0%} of its "
             "rise from round 0 to the last round. stop labels: median over the seeds that stopped.",
             "",
             "| scenario | mode | strategy | stopped (seeds) | stop labels | flattens at | budget | Spearman at stop "
             "| Spearman at budget |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result:
        stop = "—" if math.isnan(r["stop_labels"]) else f"{r['stop_labels']:.0f}"
        at = "—" if math.isnan(r["spearman_at_stop"]) else f"{r['spearman_at_stop']:.3f}"
        lines.append(f"| {r['scenario']} | {r['candidates']} | {r['strategy']} | {r['stopped']}/{r['seeds']} | {stop} "
                     f"| {r['flat_labels']:.0f} | {r['final_labels']:.0f} | {at} | {r['spearman_final']:.3f} |")
    if others:
        head = " | ".join(f"x={x}, y={y:.0%}" for x, y in others)
        lines += ["", "The same rule with other thresholds (median stop labels; seeds stopped):", "",
                  f"| scenario | mode | strategy | {head} |", "| --- | --- | --- |" + " --- |" * len(others)]
        for i, r in enumerate(result):
            cells = []
            for res in others.values():
                o = res[i]
                cells.append("—" if math.isnan(o["stop_labels"]) else f"{o['stop_labels']:.0f} ({o['stopped']}/{o['seeds']})")
            lines.append(f"| {r['scenario']} | {r['candidates']} | {r['strategy']} | " + " | ".join(cells) + " |")
    for (scn, mode), name in sorted(images.items()):
        lines += ["", f"![stop rule {scn} {mode}]({name})"]
    return "\n".join(lines)


def plot(rows: list[dict], result: list[dict], cfg: Config, out: pathlib.Path) -> dict[tuple[str, str], str]:
    """stop_<scenario>_<mode>.png: Spearman with the stop (triangle) and the flattening (circle)
    per strategy, the relative gain per label and the pool's mean posterior variance."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    from ._report import STRATEGY_COLORS
    files = {}
    for sc in cfg.scenarios:
        for mode in sc.modes:
            mine = [r for r in result if r["scenario"] == sc.name and r["candidates"] == mode]
            if not mine:
                continue
            fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), dpi=80)
            for res in mine:
                strat = res["strategy"]
                group = [r for r in rows if r["scenario"] == sc.name and r["candidates"] == mode
                         and r["strategy"] == strat]
                color = STRATEGY_COLORS.get(strat)
                curve = _mean_curve(group, "spearman")
                axes[0].plot(*zip(*curve), color=color, label=strat, lw=1.4)
                axes[0].plot(res["flat_labels"], _at(curve, res["flat_labels"]), "o", color=color, mfc="none", ms=9)
                if not math.isnan(res["stop_labels"]):
                    axes[0].plot(res["stop_labels"], _at(curve, res["stop_labels"]), "v", color=color, ms=9)
                gain = _mean_curve(group, "relative_gain")
                if gain:
                    axes[1].semilogy(*zip(*gain), color=color, lw=1.4)
                axes[2].semilogy(*zip(*_mean_curve(group, "pool_mean_variance")), color=color, lw=1.4)
            axes[1].axhline(STOP_X, color="k", ls=":", lw=1)
            # What the gain would be from the label count alone (h log(1 + B/n) per batch):
            # n_ref / n, n the labels before the batch (the reference batch was chosen after the warm-up).
            xs = np.array([sc.labels_after(r) for r in range(1, sc.rounds + 1)], dtype=float)
            axes[1].semilogy(xs, sc.warmup / (xs - sc.batch_size), color="grey", ls="--", lw=1, label="n_ref / n")
            axes[1].legend(fontsize=7, loc="upper right")
            axes[0].set_title("mean Spearman (v: rule stops, o: 95% of rise)", fontsize=10)
            axes[1].set_title("relative gain per label of the batch", fontsize=10)
            axes[2].set_title("pool mean posterior variance of r_a - r_b", fontsize=10)
            for ax in axes:
                ax.set_xlabel("labeled comparisons")
                ax.grid(alpha=0.3)
            axes[0].legend(fontsize=7, loc="lower right")
            fig.suptitle(f"stop rule: {sc.name} ({sc.head}, D={sc.dim}), {mode}, {cfg.seeds} seeds", fontsize=10)
            fig.tight_layout()
            name = f"stop_{sc.name}_{mode}.png"
            fig.savefig(out / name)
            plt.close(fig)
            files[(sc.name, mode)] = name
    return files


def write(out: pathlib.Path, rows: list[dict], cfg: Config) -> pathlib.Path | None:
    """stop.md and the PNGs; None when the rows carry no stop signals (older rounds.csv)."""
    if not rows or not any(math.isfinite(float(r.get("relative_gain", math.nan))) for r in rows):
        return None
    result = analyse(rows, cfg)
    images = plot(rows, result, cfg, out)
    path = out / "stop.md"
    others = {xy: analyse(rows, cfg, *xy) for xy in SENSITIVITY}
    path.write_text(markdown(result, images, others) + "\n")
    return path
