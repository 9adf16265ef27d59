"""SelectBatch timed at the Python client against a running server, next to numpy doing the
same math on the same data (benchmarks/select/numpy_select.py).

Part 1: DOPT, PAST_AWARE_DOPT and GREEDY_DOPT over P CROSS_PROMPT candidates sampled by the
server from R responses (LINEAR head, D dims). The server samples its own candidates, so
numpy gets an equally large uniform sample of the same kind (cross-prompt, labeled and
pending pairs excluded) from the same pool, and numpy's time does NOT include that sampling
(the server's does). Both sides see the same labeled + pending pairs and the same rewards
(numpy reads them back with Score).
Part 2: DOPT over PAPER_P explicit pairs among the responses of PAPER_PROMPTS prompts, vs the
paper's formulation (a PAPER_P x h x h tensor) in numpy: time and chosen sets.

Usage: python client_bench.py (--server-jar JAR | --target HOST:PORT) [options]
"""
import argparse
import sys
import time

import numpy as np

import activerm
from activerm.bench._server import JarServer

import numpy_select as ns


def cross_pairs(rng, rows, prompt_of, n, excluded):
    """n distinct pairs of rows with different prompts, none in excluded (set of (lo, hi))."""
    got = np.empty((0, 2), dtype=np.int64)
    R = int(prompt_of.size)
    while got.shape[0] < n:
        i = rows[rng.integers(0, rows.size, 2 * n)]
        j = rows[rng.integers(0, rows.size, 2 * n)]
        ok = prompt_of[i] != prompt_of[j]
        lo, hi = np.minimum(i[ok], j[ok]), np.maximum(i[ok], j[ok])
        got = np.concatenate([got, np.stack([lo, hi], 1)])
        key = got[:, 0] * R + got[:, 1]
        _, first = np.unique(key, return_index=True)
        got = got[np.sort(first)]
        if excluded:
            bad = np.fromiter(((int(x), int(y)) in excluded for x, y in got), dtype=bool, count=got.shape[0])
            got = got[~bad]
    return got[:n, 0], got[:n, 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server-jar")
    ap.add_argument("--target")
    ap.add_argument("--xmx", default="1g", help="server heap (default 1g: the selection must fit in O(R*h + P))")
    ap.add_argument("--R", type=int, default=100_000)
    ap.add_argument("--P", type=int, default=1_000_000)
    ap.add_argument("--D", type=int, default=512)
    ap.add_argument("--B", type=int, default=100)
    ap.add_argument("--labeled", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--per-prompt", type=int, default=10)
    ap.add_argument("--paper-P", type=int, default=7600, help="7600 x 512 x 512 x 4 B = 7.97 GB")
    ap.add_argument("--paper-prompts", type=int, default=400)
    args = ap.parse_args()
    R, P, D, B = args.R, args.P, args.D, args.B
    rng = np.random.default_rng(1)
    prompt_of = np.arange(R) // args.per_prompt
    u = rng.standard_normal((prompt_of[-1] + 1, D), dtype=np.float32)
    X = u[prompt_of] + 0.5 * rng.standard_normal((R, D), dtype=np.float32)
    ids = np.array([f"r{i}" for i in range(R)], dtype=object)
    pids = [f"p{j}" for j in prompt_of]
    w_true = rng.standard_normal(D) / np.sqrt(D)

    server = JarServer(args.server_jar, java_opts=(f"-Xmx{args.xmx}",)) if args.server_jar else None
    target = server.target if server else args.target
    try:
        with activerm.Client(target, timeout=900) as client:
            run(client, args, rng, X, ids, pids, prompt_of, w_true)
    finally:
        if server:
            server.stop()


def run(client, args, rng, X, ids, pids, prompt_of, w_true):
    R, P, D, B = args.R, args.P, args.D, args.B
    name = f"select-bench-{int(time.time())}"
    project = client.create_project(name, embedding_dim=D, head="linear", l2=1.0)
    t = time.perf_counter()
    project.add_responses(list(ids), pids, X)
    print(f"uploaded R={R} x D={D} in {time.perf_counter() - t:.1f} s", flush=True)
    all_rows = np.arange(R)
    la, lb = cross_pairs(rng, all_rows, prompt_of, args.labeled, set())
    g = X @ w_true
    pa = 1 / (1 + np.exp(-(g[la] - g[lb])))
    outcomes = np.where(rng.random(la.size) < pa, "a", "b")
    project.add_comparisons(list(ids[la]), list(ids[lb]), list(outcomes))
    rep = project.fit(seed=0)
    r = project.score(list(ids)).astype(np.float32)
    print(f"labeled {la.size}, LINEAR fit {rep.wall_time_s * 1000:.0f} ms; numpy {np.__version__}", flush=True)
    row_of = {s: i for i, s in enumerate(ids)}
    pend_a, pend_b = [], []

    def state():
        """labeled + pending pairs as the server sees them, weights 1."""
        a = np.concatenate([la, np.array(pend_a, dtype=np.int64)])
        b = np.concatenate([lb, np.array(pend_b, dtype=np.int64)])
        return a, b

    print("\n| strategy | call | server at client ms | server wall ms | numpy ms | client / numpy |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    results = {}
    for strategy in ("dopt", "past_aware_dopt", "greedy_dopt"):
        for i in range(args.reps):
            sa, sb = state()
            excluded = {(int(min(x, y)), int(max(x, y))) for x, y in zip(sa, sb)}
            t = time.perf_counter()
            sel = project.select_batch(B, strategy=strategy, candidates="cross_prompt", max_candidates=P,
                                       seed=100 + i, timeout=900)
            t_client = time.perf_counter() - t
            assert sel.num_candidates == P, sel.num_candidates
            ca, cb = cross_pairs(np.random.default_rng([7, i]), all_rows, prompt_of, P, excluded)
            t = time.perf_counter()
            if strategy == "dopt":
                ns.dopt(X, r, ca, cb, B)
            elif strategy == "past_aware_dopt":
                ns.dopt(X, r, ca, cb, B, past=ns.labeled_fisher(X, r, sa, sb, np.ones(sa.size)))
            else:
                ns.greedy(X, r, ca, cb, B, ns.labeled_fisher(X, r, sa, sb, np.ones(sa.size)) + np.eye(D))
            t_np = time.perf_counter() - t
            pend_a.extend(row_of[s] for s in sel.a_ids)
            pend_b.extend(row_of[s] for s in sel.b_ids)
            results.setdefault(strategy, []).append((t_client, t_np))
            print(f"| {strategy.upper()} | {i + 1}{' (first)' if i == 0 else ''} | {t_client * 1000:.0f} | "
                  f"{sel.wall_time_s * 1000:.0f} | {t_np * 1000:.0f} | {t_client / t_np:.2f} |", flush=True)
    print("\nmedian client / numpy: " + ", ".join(
        f"{s.upper()} {np.median([c / n for c, n in v]):.2f}" for s, v in results.items()))

    # Part 2: the paper's P x h x h tensor.
    rows = np.flatnonzero(prompt_of < args.paper_prompts)
    sa, sb = state()
    excluded = {(int(min(x, y)), int(max(x, y))) for x, y in zip(sa, sb)}
    pa_, pb_ = cross_pairs(np.random.default_rng(11), rows, prompt_of, args.paper_P, excluded)
    pairs = list(zip(ids[pa_], ids[pb_]))
    server_times = []
    for i in range(3):  # include_pending: every call sees the same candidates (its own picks are pending)
        t = time.perf_counter()
        sel = project.select_batch(B, strategy="dopt", candidates=pairs, seed=5, include_pending=True, timeout=900)
        server_times.append(time.perf_counter() - t)
    t_server = float(np.median(server_times))
    index = {(x, y): k for k, (x, y) in enumerate(pairs)}
    server_set = {index[(x, y)] for x, y in zip(sel.a_ids, sel.b_ids)}
    t = time.perf_counter()
    ours = ns.dopt(X, r, pa_, pb_, B)
    t_ours = time.perf_counter() - t
    gib = args.paper_P * D * D * 4 / 2**30
    t = time.perf_counter()
    theirs = ns.paper(X, r, pa_, pb_, B)
    t_paper = time.perf_counter() - t
    print(f"\npaper form: P={args.paper_P} explicit pairs over {rows.size} responses ({args.paper_prompts} prompts), "
          f"h={D}, tensor {gib:.2f} GiB")
    print("| method | ms | paper / method | same chosen set as paper |")
    print("| --- | ---: | ---: | --- |")
    print(f"| paper (numpy, P x h x h) | {t_paper * 1000:.0f} | 1 | - |")
    print(f"| activerm DOPT at the client (median of 3; first {server_times[0] * 1000:.0f} ms) | {t_server * 1000:.0f} | {t_paper / t_server:.0f}x | "
          f"{server_set == set(theirs.tolist())} |")
    print(f"| numpy psi/Laplacian form | {t_ours * 1000:.0f} | {t_paper / t_ours:.0f}x | "
          f"{set(ours.tolist()) == set(theirs.tolist())} |")
    project.delete()


if __name__ == "__main__":
    sys.exit(main())
