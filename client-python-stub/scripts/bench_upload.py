#!/usr/bin/env python3
"""Upload benchmark: N x D float32 embeddings from Python through activerm.Client.add_responses.

    python scripts/bench_upload.py                       # starts ../server/target/activerm-server.jar
    python scripts/bench_upload.py --target 127.0.0.1:50051   # against a running server

Each repeat uploads into a fresh project (created and deleted around the timing) and
times the whole add_responses call: client-side checks, chunking, streaming, and the
server's durable commit (the call returns only after the rows are on disk). Payload
MB/s counts the embedding bytes only (N * D * 4, MB = 10^6 bytes).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import activerm

ROOT = pathlib.Path(__file__).resolve().parent.parent


def start_server(jar: pathlib.Path, heap: str, work: pathlib.Path):
    log = open(work / "server.log", "wb")
    proc = subprocess.Popen(
        ["java", f"-Xmx{heap}", "-jar", str(jar), "--bind", "127.0.0.1", "--port", "0",
         "--data-dir", str(work / "data")],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        m = re.search(r"activerm listening on port (\d+)", (work / "server.log").read_text(errors="replace"))
        if m:
            return proc, f"127.0.0.1:{m.group(1)}"
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start:\n" + (work / "server.log").read_text(errors="replace"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--chunk-mib", type=float, default=8.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--call-rows", type=int, default=0,
                    help="rows per add_responses call (each call is atomic); 0: all rows in one call")
    ap.add_argument("--target", help="use a running server instead of starting the jar")
    ap.add_argument("--jar", type=pathlib.Path, default=ROOT.parent / "server" / "target" / "activerm-server.jar")
    ap.add_argument("--heap", default="6g", help="server -Xmx when the script starts it")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    ids = [f"r{i}" for i in range(args.rows)]
    prompts = [f"p{i // 4}" for i in range(args.rows)]
    payload = x.nbytes

    work = pathlib.Path(tempfile.mkdtemp(prefix="activerm-bench-"))
    proc = None
    try:
        target = args.target
        if target is None:
            proc, target = start_server(args.jar, args.heap, work)
        print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores, "
              f"{args.rows} x {args.dim} float32 = {payload / 1e6:.0f} MB, chunks of {args.chunk_mib} MiB, "
              f"{args.call_rows or args.rows} rows per call, server {target}, "
              f"load average {os.getloadavg()[0]:.1f}")
        rates = []
        with activerm.Client(target, timeout=3600) as client:
            for k in range(args.repeat):
                project = client.create_project(f"bench-{os.getpid()}-{k}", embedding_dim=args.dim)
                step = args.call_rows or args.rows
                t0 = time.perf_counter()
                for a in range(0, args.rows, step):
                    result = project.add_responses(ids[a:a + step], prompts[a:a + step], x[a:a + step],
                                                   chunk_bytes=int(args.chunk_mib * (1 << 20)))
                dt = time.perf_counter() - t0
                assert result.num_responses == args.rows
                project.delete()
                rates.append(dt)
                print(f"  run {k + 1}: {dt:.2f} s, {payload / dt / 1e6:.0f} MB/s, {args.rows / dt:,.0f} rows/s")
        if proc is not None:
            durable = [int(m) for m in re.findall(r"durable in (\d+) ms", (work / "server.log").read_text())]
            if durable:
                print(f"  server-side commit (pool file + database), summed over all runs' calls: "
                      f"{sum(durable) / 1000:.2f} s")
        best, median = min(rates), sorted(rates)[len(rates) // 2]
        print(f"best {payload / best / 1e6:.0f} MB/s ({args.rows / best:,.0f} rows/s); "
              f"median {payload / median / 1e6:.0f} MB/s ({args.rows / median:,.0f} rows/s); "
              f"load average now {os.getloadavg()[0]:.1f}")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
