"""python -m activerm.bench: see activerm/bench/__init__.py."""
from __future__ import annotations

import argparse
import json
import pathlib
import shlex
import sys
import time
from dataclasses import asdict, replace

from ._config import CANDIDATE_SOURCES, MODES, PRESETS, STRATEGIES, narrowed, preset
from ._dataset import DatasetError
from ._dataset_world import with_dataset
from ._report import read_rows, write_all
from ._runner import ERROR_COLUMNS, ROUND_COLUMNS, run_all
from ._server import JarServer


def _csv_list(allowed):
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(t.strip() for t in text.split(",") if t.strip())
        bad = [t for t in items if allowed is not None and t not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; use some of {', '.join(allowed)}")
        return items
    return parse


def _betas(text: str) -> tuple[float, ...]:
    try:
        items = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers, e.g. 0.1,0.3,1,3")
    if not items or any(not (b > 0 and b < float("inf")) for b in items):
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more finite betas > 0, e.g. 0.1,0.3,1,3")
    return items


def _config(args):
    cfg = preset(args.preset)
    if args.dataset:  # the preset's schedules on the file's pool (activerm/bench/_dataset.py)
        cfg = with_dataset(cfg, args.dataset, args.preferences)
    return narrowed(cfg, seeds=args.seeds, strategies=args.strategies, scenarios=args.scenarios,
                    modes=args.modes, workers=args.workers, candidates_from=args.candidates_from, dim=args.dim,
                    betas=getattr(args, "beta", None), fit_steps=getattr(args, "fit_steps", None))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m activerm.bench", description=__doc__)
    ap.add_argument("--preset", choices=PRESETS, default="fast",
                    help="fast-epochs / full-epochs: the old protocol (minibatch epochs, Adam steps grow with labels)")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--target", help="HOST:PORT of a running server")
    where.add_argument("--server-jar", help="start this packaged server jar on a free loopback port (temp data dir)")
    ap.add_argument("--out", required=True, type=pathlib.Path, help="output directory")
    ap.add_argument("--seeds", type=int, help="override the preset's number of seeds")
    ap.add_argument("--strategies", type=_csv_list(STRATEGIES), help="comma-separated subset")
    ap.add_argument("--scenarios", type=_csv_list(None), help="comma-separated scenario names")
    ap.add_argument("--modes", type=_csv_list(MODES), help="within_prompt,cross_prompt")
    ap.add_argument("--workers", type=int, help="runs in flight at once (default 2)")
    ap.add_argument("--dim", type=int, help="embedding dimension D of the embedding worlds, 2..2048 "
                    "(default: the preset's; the toy world stays 2-D)")
    ap.add_argument("--candidates-from", choices=CANDIDATE_SOURCES,
                    help="server (default): SelectBatch within_prompt / cross_prompt restricted to the round's "
                         "prompts with prompt_ids; explicit: pairs built client-side, sent as explicit pairs")
    ap.add_argument("--dataset", help="run on your own pool: .npz, .parquet, .arrow/.feather or a datasets "
                    "save_to_disk folder with response_id, prompt_id, embedding, split and reward (golden) or "
                    "recorded preferences (replay); see docs/benchmarks.md")
    ap.add_argument("--preferences", help="with --dataset: recorded comparisons a_id, b_id, label to replay "
                    "(an .npz --dataset may hold them itself)")
    ap.add_argument("--beta", type=_betas, help="label-noise sweep: comma-separated betas (e.g. 0.1,0.3,1,3); "
                    "every scenario runs once per beta as NAME-betaB, reported per beta")
    ap.add_argument("--fit-steps", type=int, help="MLP heads: this many full-batch Adam steps per Fit in every "
                    "round instead of the preset's budget (1..100000)")
    ap.add_argument("--time-limit", type=float, help="seconds: start no run after this (runs in flight finish) "
                    "and report only the seeds whose every run finished, stated in the report and run.json")
    ap.add_argument("--java-opt", action="append", default=None, help="JVM option for --server-jar (repeatable)")
    ap.add_argument("--rebuild", action="store_true",
                    help="no runs: rewrite summary, markdown and PNGs from OUT's rounds.csv, errors.csv, run.json")
    args = ap.parse_args(argv)
    if args.rebuild:
        run = json.loads((args.out / "run.json").read_text())
        args = ap.parse_args(run["argv"])
        # Runs written before the benchmark could ask the server for candidates sent explicit pairs.
        args.candidates_from = run.get("candidates_from", "explicit")
        # Runs written before the constant training budget used the old protocol's presets.
        if "protocol" not in run and args.preset in ("fast", "full"):
            args.preset += "-epochs"
        cfg = _config(args)
        if "seeds_complete" in run:  # a run cut by --time-limit reports the seeds it finished
            cfg = replace(cfg, seeds=run["seeds_complete"])
        rows = read_rows(args.out / "rounds.csv", ROUND_COLUMNS)
        errors = read_rows(args.out / "errors.csv", ERROR_COLUMNS)
        write_all(args.out, rows, errors, cfg, run["command"], run["wall_s"])
        return 1 if errors else 0
    if args.time_limit is not None and not args.time_limit > 0:
        ap.error(f"--time-limit is {args.time_limit:g}; use a number of seconds > 0")
    if args.fit_steps is not None and not 1 <= args.fit_steps <= 100_000:
        ap.error(f"--fit-steps is {args.fit_steps}; use 1..100000 (the server's epoch limit)")
    if not (args.target or args.server_jar):
        ap.error("give --target HOST:PORT or --server-jar PATH (or --rebuild)")
    if args.preferences and not args.dataset:
        ap.error("--preferences needs --dataset")
    try:
        cfg = _config(args)
    except DatasetError as e:
        ap.error(str(e))
    argv = list(argv if argv is not None else sys.argv[1:])
    command = "python -m activerm.bench " + " ".join(shlex.quote(a) for a in argv)
    started = time.perf_counter()
    if args.server_jar:
        with JarServer(args.server_jar, java_opts=tuple(args.java_opt or ("-Xmx2g",))) as server:
            rows, errors = run_all(cfg, server.target, time_limit=args.time_limit)
    else:
        rows, errors = run_all(cfg, args.target, time_limit=args.time_limit)
    wall = time.perf_counter() - started
    seeds_done = len({r["seed"] for r in rows} | {e["seed"] for e in errors})
    cut = seeds_done < cfg.seeds
    if seeds_done == 0:
        print(f"[bench] no seed finished all its runs within --time-limit {args.time_limit:g} s; nothing to report. "
              "Raise --time-limit or narrow --seeds / --strategies", file=sys.stderr)
        return 1
    if cut:  # complete seeds are 0..k-1: runs start seed by seed
        cfg = replace(cfg, seeds=seeds_done)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    run = {"argv": argv, "command": command, "wall_s": wall, "candidates_from": cfg.candidates_from,
           "protocol": "constant-budget"}
    if cut:
        run["seeds_complete"] = seeds_done
    (args.out / "run.json").write_text(json.dumps(run) + "\n")
    paths = write_all(args.out, rows, errors, cfg, command, wall)
    print(f"[bench] {len(rows)} rows, {len(errors)} errors, {wall:.0f} s; wrote "
          + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
