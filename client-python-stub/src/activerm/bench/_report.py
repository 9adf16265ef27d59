"""Aggregates the per-round rows: CSV, markdown table with target checks, PNG learning curves."""
from __future__ import annotations

import csv
import math
import pathlib
from collections import defaultdict

import numpy as np

from . import _stop
from . import _metrics as mx
from ._config import STRATEGIES, Config
from ._dataset_world import REPLAY_MODE
from ._runner import ERROR_COLUMNS, ROUND_COLUMNS

METRICS = ("spearman", "pair_accuracy", "best_of_5", "best_of_10", "best_of_50", "best_of_100")
TIMES = ("select_s", "fit_s", "select_rpc_s", "fit_rpc_s")
PROTOCOL = ("fit_steps", "train_loss", "label_agreement")  # what each round trained on and with
SUMMARY_COLUMNS = ("scenario", "head", "candidates", "strategy", "round", "labels", "seeds") + tuple(
    f"{m}_{s}" for m in METRICS + TIMES + PROTOCOL for s in ("mean", "std"))
BASELINES = ("random", "max_entropy", "coreset", "batchbald")


def write_csv(path: pathlib.Path, columns, rows) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="raise")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


def _std(v: np.ndarray) -> float:
    return float(np.std(v, ddof=1)) if len(v) > 1 else 0.0


def summarise(rows: list[dict], cfg: Config) -> list[dict]:
    """Mean and sample std over seeds for each (scenario, mode, strategy, round)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["scenario"], r["candidates"], r["strategy"], r["round"])].append(r)
    out = []
    for (scn, mode, strat, rnd), g in groups.items():
        s = {"scenario": scn, "head": g[0]["head"], "candidates": mode, "strategy": strat, "round": rnd,
             "labels": int(np.median([r["labels"] for r in g])), "seeds": len(g)}
        for m in METRICS + TIMES + PROTOCOL:
            v = np.array([r[m] for r in g], dtype=np.float64)
            s[f"{m}_mean"] = float(np.mean(v))
            s[f"{m}_std"] = _std(v)
        out.append(s)
    out.sort(key=lambda s: (s["scenario"], s["candidates"], cfg.strategies.index(s["strategy"]), s["round"]))
    return out


class _Curves:
    """Lookups over the per-round rows: mean curves and per-seed values."""

    def __init__(self, rows: list[dict], summary: list[dict]) -> None:
        self.mean: dict[tuple, list[tuple[int, float]]] = defaultdict(list)
        for s in summary:
            self.mean[(s["scenario"], s["candidates"], s["strategy"])].append((s["labels"], s["spearman_mean"]))
        self.per_seed: dict[tuple, dict[int, float]] = defaultdict(dict)
        for r in rows:
            self.per_seed[(r["scenario"], r["candidates"], r["strategy"], r["round"])][r["seed"]] = r["spearman"]

    def curve(self, scn, mode, strat) -> list[tuple[int, float]]:
        return sorted(self.mean.get((scn, mode, strat), []))

    def labels_to_reach(self, scn, mode, strat, level: float) -> float:
        """Labels at which the mean Spearman curve first reaches level (linear interpolation
        between rounds); nan if it never does."""
        c = self.curve(scn, mode, strat)
        for i, (lab, v) in enumerate(c):
            if v >= level:
                if i == 0:
                    return float(lab)
                l0, v0 = c[i - 1]
                return l0 + (level - v0) / (v - v0) * (lab - l0)
        return math.nan

    def paired(self, scn, mode_a, strat_a, mode_b, strat_b, rnd) -> np.ndarray:
        """Per-seed Spearman differences (a - b) at one round, over seeds both have."""
        a = self.per_seed.get((scn, mode_a, strat_a, rnd), {})
        b = self.per_seed.get((scn, mode_b, strat_b, rnd), {})
        return np.array([a[k] - b[k] for k in sorted(set(a) & set(b))])

    def paired_over_rounds(self, scn, mode_a, strat_a, mode_b, strat_b, fin) -> np.ndarray:
        """Per seed, the mean Spearman difference (a - b) over rounds 1..fin, over seeds that
        have every one of those rounds for both (one number per seed: the seeds are the
        independent replicates, the rounds of one seed are not)."""
        per_round = []
        for r in range(1, fin + 1):
            a = self.per_seed.get((scn, mode_a, strat_a, r), {})
            b = self.per_seed.get((scn, mode_b, strat_b, r), {})
            per_round.append({k: a[k] - b[k] for k in set(a) & set(b)})
        seeds = sorted(set.intersection(*(set(d) for d in per_round))) if per_round else []
        return np.array([np.mean([d[k] for d in per_round]) for k in seeds])


def _pm(mean: float, std: float, digits: int = 3) -> str:
    return "—" if math.isnan(mean) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _diff_cell(d: np.ndarray) -> str:
    """Paired per-seed differences: mean ± sample std [95% t-interval] (seeds ahead / seeds)."""
    if d.size == 0:
        return "—"
    mean, sd, lo, hi = mx.paired_interval(d)
    ci = "" if math.isnan(lo) else f" [{lo:+.3f}, {hi:+.3f}]"
    return f"{mean:+.3f} ± {sd:.3f}{ci} ({int((d > 0).sum())}/{d.size})"


def _steps_cell(rs: list[dict]) -> str:
    """Optimiser steps per Fit over rounds 0..R (mean over seeds): one number when constant."""
    steps = [s["fit_steps_mean"] for s in rs if not math.isnan(s["fit_steps_mean"])]
    if not steps:
        return "—"
    lo, hi = f"{min(steps):.0f}", f"{max(steps):.0f}"
    return lo if lo == hi else f"{lo}–{hi}"


REPLAY_LINE = "the recorded pairs of each round's prompts (replay), sent as explicit pairs."


def _candidates_line(cfg: Config) -> str:
    """Where the candidates came from; replay scenarios (--dataset with recorded preferences)
    always send their recorded pairs, whatever --candidates-from says."""
    replay = {sc.name for sc in cfg.scenarios if tuple(sc.modes) == (REPLAY_MODE,)}
    drawn = ("the server's within_prompt / cross_prompt restricted to each round's prompts (prompt_ids)."
             if cfg.candidates_from == "server" else "explicit pairs built client-side from each round's prompts.")
    if replay and len(replay) == len(cfg.scenarios):
        return REPLAY_LINE
    return drawn + (f" Replay scenarios ({', '.join(sorted(replay))}): {REPLAY_LINE}" if replay else "")


def markdown(rows: list[dict], summary: list[dict], errors: list[dict], cfg: Config, command: str,
             images: dict[tuple[str, str], str], wall_s: float) -> str:
    cur = _Curves(rows, summary)
    last_round = {sc.name: sc.rounds for sc in cfg.scenarios}
    by_key = {(s["scenario"], s["candidates"], s["strategy"], s["round"]): s for s in summary}
    lines: list[str] = []
    add = lines.append
    add(f"Preset `{cfg.preset}`: {cfg.seeds} seeds, strategies {', '.join(cfg.strategies)}; "
        f"{len(rows)} (run, round) rows in {wall_s:.0f} s wall. Candidates: " + _candidates_line(cfg))
    add("")
    add("```")
    add(command)
    add("```")
    add("")
    for sc in cfg.scenarios:
        if hasattr(sc, "describe"):  # a --dataset pool (_dataset_world.DatasetScenario)
            add(sc.describe())
            add("")
            continue
        add(f"Scenario `{sc.name}`: {sc.kind} world" + (" (linear golden reward)" if sc.golden == "linear" else "")
            + f", D = {sc.dim}, {sc.head.upper()} head"
            + (f" {list(sc.hidden_sizes)}" if sc.hidden_sizes else "")
            + f", λ = {sc.l2:g}, β = {sc.beta:g}; {sc.train_prompts} training prompts x {sc.responses_per_prompt} "
            f"responses, {sc.prompts_per_round} prompts per round, {sc.warmup} RANDOM warm-up labels then "
            f"{sc.rounds} rounds of B = {sc.batch_size}; held out: {sc.eval_prompts} prompts x {sc.eval_responses} "
            f"responses. Training budget per Fit: {sc.budget()}." + (f" Fit: {sc.fit}." if sc.fit else ""))
        add("")
    for sc in cfg.scenarios:
        fin = last_round[sc.name]
        for mode in sc.modes:
            rnd_level = by_key.get((sc.name, mode, "random", fin))
            add(f"### {sc.name}, {mode} (after {sc.labels_after(fin)} labels)")
            add("")
            add("| strategy | Spearman (final) | Spearman (mean over rounds 1..R) | pair acc. (final) "
                "| best-of-10 | best-of-100 | labels to RANDOM's final Spearman | select ms / round | "
                "fit ms / round | select / fit | optimiser steps / fit | train loss (final) |")
            add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for strat in cfg.strategies:
                f = by_key.get((sc.name, mode, strat, fin))
                if f is None:
                    add(f"| {strat} | failed (see errors) | | | | | | | | | | |")
                    continue
                every = [by_key[(sc.name, mode, strat, r)] for r in range(fin + 1) if (sc.name, mode, strat, r) in by_key]
                rs = [by_key[(sc.name, mode, strat, r)] for r in range(1, fin + 1)
                      if (sc.name, mode, strat, r) in by_key]
                auc = float(np.mean([s["spearman_mean"] for s in rs])) if rs else math.nan
                sel = float(np.mean([s["select_s_mean"] for s in rs])) * 1e3 if rs else math.nan
                fit = float(np.mean([s["fit_s_mean"] for s in rs])) * 1e3 if rs else math.nan
                if rnd_level is not None:
                    lab = cur.labels_to_reach(sc.name, mode, strat, rnd_level["spearman_mean"])
                    reach = "never" if math.isnan(lab) else f"{lab:.0f} ({100 * lab / rnd_level['labels']:.0f}%)"
                else:
                    reach = "—"
                add(f"| {strat} | {_pm(f['spearman_mean'], f['spearman_std'])} | {auc:.3f} "
                    f"| {_pm(f['pair_accuracy_mean'], f['pair_accuracy_std'])} "
                    f"| {f['best_of_10_mean']:.3f} | {f['best_of_100_mean']:.3f} | {reach} "
                    f"| {sel:.1f} | {fit:.1f} | {sel / fit:.2f} | {_steps_cell(every)} "
                    f"| {f['train_loss_mean']:.3f} |")
            add("")
            add(_by_round(cfg, sc, mode, by_key))
            if (sc.name, mode) in images:
                add(f"![{sc.name} {mode}]({images[(sc.name, mode)]})")
                add("")
    add(_checks(cfg, cur, by_key))
    if cfg.betas:
        add(_noise_sweep(cfg, cur, by_key, images))
    if errors:
        add("### Errors")
        add("")
        add("| scenario | candidates | strategy | seed | round | code | message |")
        add("| --- | --- | --- | --- | --- | --- | --- |")
        for e in errors:
            add(f"| {e['scenario']} | {e['candidates']} | {e['strategy']} | {e['seed']} | {e['round']} "
                f"| {e['code']} | {e['message'][:300]} |")
        add("")
    return "\n".join(lines)


def _by_round(cfg: Config, sc, mode: str, by_key: dict) -> str:
    """Mean Spearman over seeds at every round (the curves' numbers)."""
    labels = [sc.labels_after(r) for r in range(sc.rounds + 1)]
    out = ["Mean Spearman by labels:", "",
           "| strategy | " + " | ".join(str(x) for x in labels) + " |",
           "| --- |" + " ---: |" * len(labels)]
    for strat in cfg.strategies:
        cells = [by_key.get((sc.name, mode, strat, r)) for r in range(sc.rounds + 1)]
        out.append(f"| {strat} | " + " | ".join("—" if c is None else f"{c['spearman_mean']:.3f}" for c in cells)
                   + " |")
    out.append("")
    return "\n".join(out)


def _checks(cfg: Config, cur: _Curves, by_key: dict) -> str:
    """The issue's targets, computed: paired per-seed Spearman differences (mean, and in how
    many seeds the first is ahead) at every round 1..R and at the end."""
    lines = ["### Targets, computed", "",
             "Cells: Spearman difference (first minus second) paired by seed: \"all rounds\" takes each "
             "seed's mean difference over rounds 1..R at equal labels, \"final round\" the last round's; "
             "mean ± sample std over seeds [95% t-interval of the mean] (k/n) = seeds in which the first "
             "is ahead.", ""]
    add = lines.append

    def over_rounds(scn, ma, sa, mb, sb, fin):
        return cur.paired_over_rounds(scn, ma, sa, mb, sb, fin), cur.paired(scn, ma, sa, mb, sb, fin)

    have = set(cfg.strategies)
    for sc in cfg.scenarios:
        fin = sc.rounds
        for mode in sc.modes:
            pairs = [(a, b) for a in ("dopt", "past_aware_dopt", "greedy_dopt") for b in BASELINES + ("dopt",)
                     if a in have and b in have and a != b and not (a == "past_aware_dopt" and b == "dopt")]
            if not pairs:
                continue
            add(f"{sc.name}, {mode}:")
            add("")
            add("| first vs second | all rounds | final round |")
            add("| --- | --- | --- |")
            for a, b in pairs:
                allv, finv = over_rounds(sc.name, mode, a, mode, b, fin)
                add(f"| {a} vs {b} | {_diff_cell(allv)} | {_diff_cell(finv)} |")
            add("")
        if {"within_prompt", "cross_prompt"} <= set(sc.modes):
            add(f"{sc.name}, cross_prompt vs within_prompt (same strategy, same seed):")
            add("")
            add("| strategy | all rounds | final round |")
            add("| --- | --- | --- |")
            for s in cfg.strategies:
                allv, finv = over_rounds(sc.name, "cross_prompt", s, "within_prompt", s, fin)
                add(f"| {s} | {_diff_cell(allv)} | {_diff_cell(finv)} |")
            add("")
    return "\n".join(lines)


def _noise_sweep(cfg: Config, cur: _Curves, by_key: dict, images: dict) -> str:
    """Per scenario family and mode, one column per beta: final Spearman, and each strategy's
    paired difference against RANDOM (over rounds and final) with its spread."""
    lines = ["### Label-noise sweep", "",
             "beta: P(a ≻ b) = σ((g_a − g_b)/β) on the standardised golden reward; label agreement = share of "
             "labels that agree with the golden order (all strategies' rounds). Cells: final Spearman mean ± std; "
             "then the paired difference against RANDOM as in the targets table.", ""]
    add = lines.append
    families: dict[str, list] = defaultdict(list)
    for sc in cfg.scenarios:
        families[sc.family or sc.name].append(sc)
    for fam, scs in families.items():
        scs = sorted(scs, key=lambda s: s.beta)
        for mode in scs[0].modes:
            agree = []
            for sc in scs:
                v = [by_key[(sc.name, mode, st, r)]["label_agreement_mean"] for st in cfg.strategies
                     for r in range(sc.rounds + 1) if (sc.name, mode, st, r) in by_key]
                agree.append(f"{np.nanmean(v):.2f}" if v else "—")
            add(f"{fam}, {mode} (after {scs[0].labels_after(scs[0].rounds)} labels):")
            add("")
            add("| strategy | " + " | ".join(f"β = {sc.beta:g}" for sc in scs) + " |")
            add("| --- |" + " --- |" * len(scs))
            add("| label agreement | " + " | ".join(agree) + " |")
            for strat in cfg.strategies:
                cells = []
                for sc in scs:
                    f = by_key.get((sc.name, mode, strat, sc.rounds))
                    cells.append("—" if f is None else _pm(f["spearman_mean"], f["spearman_std"]))
                add(f"| {strat} (final Spearman) | " + " | ".join(cells) + " |")
            if "random" in cfg.strategies:
                for strat in cfg.strategies:
                    if strat == "random":
                        continue
                    for label, fn in (("all rounds", lambda sc: cur.paired_over_rounds(
                            sc.name, mode, strat, mode, "random", sc.rounds)),
                                      ("final", lambda sc: cur.paired(sc.name, mode, strat, mode, "random", sc.rounds))):
                        add(f"| {strat} − random ({label}) | " + " | ".join(_diff_cell(fn(sc)) for sc in scs) + " |")
            add("")
            if ("noise:" + fam, mode) in images:
                add(f"![{fam} {mode} noise sweep]({images[('noise:' + fam, mode)]})")
                add("")
    return "\n".join(lines)


# The first ten strategies keep matplotlib's ten cycle colours; later ones (batch_dopt, vopt) get their
# own, because "C10" would repeat "C0" (random's).
STRATEGY_COLORS = {s: f"C{i}" if i < 10 else c
                   for i, (s, c) in enumerate(zip(STRATEGIES, [None] * 10 + ["black", "darkgoldenrod"]))}
PANELS = (("spearman", "mean per-prompt Spearman"), ("pair_accuracy", "held-out pairwise accuracy"),
          ("best_of_50", "best-of-50 golden reward"))


def plot(summary: list[dict], cfg: Config, out: pathlib.Path) -> dict[tuple[str, str], pathlib.Path]:
    """One PNG per (scenario, mode): metric vs labels, a line per strategy, mean ± std bands.
    Returns {} when matplotlib is not installed (pip install 'activerm[bench]')."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    files = {}
    for sc in cfg.scenarios:
        for mode in sc.modes:
            fig, axes = plt.subplots(1, len(PANELS), figsize=(13, 3.8), dpi=80)
            for ax, (metric, title) in zip(axes, PANELS):
                if metric == "best_of_50" and not any(  # --dataset pools may hold fewer than 50 per prompt
                        s["scenario"] == sc.name and math.isfinite(s["best_of_50_mean"]) for s in summary):
                    metric, title = "best_of_10", "best-of-10 golden reward"
                for strat in cfg.strategies:
                    pts = [s for s in summary if s["scenario"] == sc.name and s["candidates"] == mode
                           and s["strategy"] == strat]
                    if not pts:
                        continue
                    x = np.array([p["labels"] for p in pts])
                    m = np.array([p[f"{metric}_mean"] for p in pts])
                    sd = np.array([p[f"{metric}_std"] for p in pts])
                    style = "-" if strat in ("dopt", "past_aware_dopt", "greedy_dopt") else "--"
                    ax.plot(x, m, style, color=STRATEGY_COLORS.get(strat), label=strat, lw=1.4)
                    ax.fill_between(x, m - sd, m + sd, color=STRATEGY_COLORS.get(strat), alpha=0.08, lw=0)
                ax.set_title(title, fontsize=10)
                ax.set_xlabel("labeled comparisons")
                ax.grid(alpha=0.3)
            axes[-1].legend(fontsize=7, loc="lower right", ncol=2)
            fig.suptitle(f"{sc.name} ({sc.head}, D={sc.dim}), {mode}: mean ± std over {cfg.seeds} seeds", fontsize=10)
            fig.tight_layout()
            path = out / f"curves_{sc.name}_{mode}.png"
            fig.savefig(path)
            plt.close(fig)
            files[(sc.name, mode)] = path
    return files


def plot_noise_sweep(summary: list[dict], cfg: Config, out: pathlib.Path) -> dict[tuple[str, str], pathlib.Path]:
    """With --beta: one PNG per (scenario family, mode), a Spearman-vs-labels panel per beta.
    Keys ("noise:" + family, mode); {} without matplotlib or without a sweep."""
    if not cfg.betas:
        return {}
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    families: dict[str, list] = defaultdict(list)
    for sc in cfg.scenarios:
        families[sc.family or sc.name].append(sc)
    files = {}
    for fam, scs in families.items():
        scs = sorted(scs, key=lambda s: s.beta)
        for mode in scs[0].modes:
            fig, axes = plt.subplots(1, len(scs), figsize=(3.4 * len(scs), 3.4), dpi=80, sharey=True, squeeze=False)
            for ax, sc in zip(axes[0], scs):
                for strat in cfg.strategies:
                    pts = [x for x in summary if x["scenario"] == sc.name and x["candidates"] == mode
                           and x["strategy"] == strat]
                    if not pts:
                        continue
                    x = np.array([q["labels"] for q in pts])
                    m = np.array([q["spearman_mean"] for q in pts])
                    sd = np.array([q["spearman_std"] for q in pts])
                    style = "-" if strat in ("dopt", "past_aware_dopt", "greedy_dopt") else "--"
                    ax.plot(x, m, style, color=STRATEGY_COLORS.get(strat), label=strat, lw=1.4)
                    ax.fill_between(x, m - sd, m + sd, color=STRATEGY_COLORS.get(strat), alpha=0.08, lw=0)
                ax.set_title(f"β = {sc.beta:g}", fontsize=10)
                ax.set_xlabel("labeled comparisons")
                ax.grid(alpha=0.3)
            axes[0][0].set_ylabel("mean per-prompt Spearman")
            axes[0][-1].legend(fontsize=7, loc="lower right")
            fig.suptitle(f"{fam}, {mode}: label-noise sweep, mean ± std over {cfg.seeds} seeds", fontsize=10)
            fig.tight_layout()
            path = out / f"noise_{fam}_{mode}.png"
            fig.savefig(path)
            plt.close(fig)
            files[("noise:" + fam, mode)] = path
    return files


def read_rows(path: pathlib.Path, columns) -> list[dict]:
    """rounds.csv / errors.csv back into the dicts the runner made (numbers as numbers)."""
    text = {"scenario", "head", "candidates", "strategy", "code", "message"}
    ints = {"seed", "round", "labels", "num_candidates"}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    # Columns added since a run was written (fit_steps, beta, ...) come back as nan.
    return [{c: (r[c] if c in text else int(r[c]) if c in ints else float(r[c]) if c in r else math.nan)
             for c in columns} for r in rows]


def write_all(out: pathlib.Path, rows, errors, cfg: Config, command: str, wall_s: float) -> dict[str, pathlib.Path]:
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows, cfg)
    paths = {"rounds": out / "rounds.csv", "summary": out / "summary.csv", "errors": out / "errors.csv",
             "markdown": out / "results.md"}
    write_csv(paths["rounds"], ROUND_COLUMNS, rows)
    write_csv(paths["summary"], SUMMARY_COLUMNS, summary)
    write_csv(paths["errors"], ERROR_COLUMNS, errors)
    images = plot(summary, cfg, out)
    images.update(plot_noise_sweep(summary, cfg, out))
    rel = {k: v.name for k, v in images.items()}
    paths["markdown"].write_text(markdown(rows, summary, errors, cfg, command, rel, wall_s) + "\n")
    for k, v in images.items():
        paths[f"png:{k[0]}:{k[1]}"] = v
    stop = _stop.write(out, rows, cfg)
    if stop is not None:
        paths["stop"] = stop
    return paths
