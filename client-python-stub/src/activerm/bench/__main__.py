"""python -m activerm.bench: see activerm/bench/__init__.py."""
from __future__ import annotations

import argparse
import json
import pathlib
import shlex
import sys
import time
from dataclasses import asdict

from ._config import MODES, STRATEGIES, narrowed, preset
from ._report import write_all
from ._runner import run_all
from ._server import JarServer


def _csv_list(allowed):
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(t.strip() for t in text.split(",") if t.strip())
        bad = [t for t in items if allowed is not None and t not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; use some of {', '.join(allowed)}")
        return items
    return parse


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m activerm.bench", description=__doc__)
    ap.add_argument("--preset", choices=("tiny", "fast", "full"), default="fast")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--target", help="HOST:PORT of a running server")
    where.add_argument("--server-jar", help="start this packaged server jar on a free loopback port (temp data dir)")
    ap.add_argument("--out", required=True, type=pathlib.Path, help="output directory")
    ap.add_argument("--seeds", type=int, help="override the preset's number of seeds")
    ap.add_argument("--strategies", type=_csv_list(STRATEGIES), help="comma-separated subset")
    ap.add_argument("--scenarios", type=_csv_list(None), help="comma-separated scenario names")
    ap.add_argument("--modes", type=_csv_list(MODES), help="within_prompt,cross_prompt")
    ap.add_argument("--workers", type=int, help="runs in flight at once (default 2)")
    ap.add_argument("--java-opt", action="append", default=None, help="JVM option for --server-jar (repeatable)")
    args = ap.parse_args(argv)
    cfg = narrowed(preset(args.preset), seeds=args.seeds, strategies=args.strategies, scenarios=args.scenarios,
                   modes=args.modes, workers=args.workers)
    command = "python -m activerm.bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    started = time.perf_counter()
    if args.server_jar:
        with JarServer(args.server_jar, java_opts=tuple(args.java_opt or ("-Xmx2g",))) as server:
            rows, errors = run_all(cfg, server.target)
    else:
        rows, errors = run_all(cfg, args.target)
    wall = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    paths = write_all(args.out, rows, errors, cfg, command, wall)
    print(f"[bench] {len(rows)} rows, {len(errors)} errors, {wall:.0f} s; wrote "
          + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
