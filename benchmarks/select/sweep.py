"""SelectBatch sweep over D and R: activerm in-process (SelectBench) next to numpy/OpenBLAS
(sweep_numpy.py) on the same data in the same run, one process per (strategy, size) so that
/usr/bin/time -v gives each one's peak RSS. Writes sweep.csv, the log-log slopes and a plot.

Usage (repo root, after
`mvn -q -o -pl proto,server test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/sweep.cp -Dmdep.includeScope=test`,
one reactor so the proto module resolves from its target/ with nothing installed):
  python benchmarks/select/sweep.py --out /tmp/sweep --cp /tmp/sweep.cp \
      --grid 10000:256,512,1024,2048,4096 --grid 100000:256,512,1024,2048 --plot docs/img/select_sweep.png
Each grid entry is R:D,D,...; P = 10 R candidates (CROSS_PROMPT), 1 000 labeled pairs, B = 100,
2 threads for both sides, best of --reps runs each (the JVM's first run includes JIT warm-up).
Rows are appended to OUT/sweep.csv as they finish; --from-csv redoes slopes and plot. Not part of CI.
"""
import argparse
import csv
import math
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STRATS = ["DOPT", "PAST_AWARE_DOPT", "GREEDY_DOPT"]


def timed_run(cmd, env=None):
    """Runs cmd under /usr/bin/time -v: (stdout, peak RSS in MB)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return p.stdout, rss


def load():
    return os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/sweep")
    ap.add_argument("--cp", default="/tmp/sweep.cp")
    ap.add_argument("--grid", action="append", default=[])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--xmx", default="14g")
    ap.add_argument("--plot")
    ap.add_argument("--reps", type=int, default=2, help="best of this many runs, both sides")
    ap.add_argument("--from-csv", help="only slopes and plot from an earlier run's sweep.csv")
    args = ap.parse_args()
    if args.from_csv:
        with open(args.from_csv) as f:
            rows = [dict(r, R=int(r["R"]), D=int(r["D"]), java_ms=float(r["java_ms"]), numpy_ms=float(r["numpy_ms"]))
                    for r in csv.DictReader(f)]
        slopes(rows)
        if args.plot:
            plot(rows, args.plot)
        return
    repo = os.path.dirname(os.path.dirname(HERE))
    cp = ":".join([f"{repo}/proto/target/classes", f"{repo}/server/target/classes",
                   f"{repo}/server/target/test-classes", open(args.cp).read().strip()])
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    rows = []
    for g in args.grid:
        r_s, ds = g.split(":")
        R = int(r_s)
        for D in map(int, ds.split(",")):
            P = 10 * R
            data = f"{args.out}/R{R}_D{D}"
            os.makedirs(data, exist_ok=True)
            for i, s in enumerate(STRATS):
                l0 = load()
                out, jrss = timed_run(["java", f"-Xmx{args.xmx}", "-cp", cp, "dev.activerm.server.core.strategy.SelectBench",
                                       data, str(R), str(P), str(D), str(args.batch), "0", str(args.threads), s, "1000",
                                       str(args.reps), "1" if i == 0 else "0"], env)
                m = re.search(r"java \S+\s+(\d+) ms .* form=(\w+)", out)
                jms, form = float(m.group(1)), m.group(2)
                # Each strategy's second numpy variant: for DOPT / PAST_AWARE the same math as
                # activerm (F in float64, issue 12), for GREEDY its Woodbury form.
                names = [s, "GREEDY_DOPT_WOODBURY" if s == "GREEDY_DOPT" else s + "_F64"]
                for nm in names:
                    nout, nrss = timed_run([sys.executable, f"{HERE}/sweep_numpy.py", data, str(R), str(P), str(D),
                                            str(args.batch), nm, str(args.reps)], env)
                    mm = re.search(r"numpy \S+ (\d+) ms same_set=(\w+)", nout)
                    row = dict(R=R, P=P, D=D, strategy=s, java_form=form, java_ms=jms, java_rss_mb=round(jrss),
                               numpy_variant=nm, numpy_ms=float(mm.group(1)), numpy_rss_mb=round(nrss),
                               ratio=round(jms / float(mm.group(1)), 3), same_set=mm.group(2),
                               load=round((l0 + load()) / 2, 1), utc=time.strftime("%H:%M:%S", time.gmtime()))
                    print(row, flush=True)
                    rows.append(row)
                    new = not os.path.exists(f"{args.out}/sweep.csv")
                    with open(f"{args.out}/sweep.csv", "a", newline="") as f:
                        wr = csv.DictWriter(f, fieldnames=list(row.keys()))
                        if new:
                            wr.writeheader()
                        wr.writerow(row)
            for f in os.listdir(data):
                if f == "x.f32":
                    os.remove(f"{data}/{f}")
    slopes(rows)
    if args.plot:
        plot(rows, args.plot)


def fit(xs, ys):
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def slopes(rows):
    """Log-log slope of time in D (per R) and in R (per D, where two R were run)."""
    print("log-log slopes (time ~ D^s at fixed R; ~ R^s at fixed D)")
    for s in STRATS:
        for variant in sorted({r["numpy_variant"] for r in rows if r["strategy"] == s}):
            sel = [r for r in rows if r["strategy"] == s and r["numpy_variant"] == variant]
            for R in sorted({r["R"] for r in sel}):
                pts = sorted((r["D"], r["java_ms"], r["numpy_ms"]) for r in sel if r["R"] == R)
                big = [p for p in pts if p[0] >= 1024]
                if len(pts) >= 2:
                    msg = (f"  {variant:22s} R={R:<7d} in D: activerm {fit([p[0] for p in pts], [p[1] for p in pts]):.2f}"
                           f" numpy {fit([p[0] for p in pts], [p[2] for p in pts]):.2f}")
                    if len(big) >= 2:
                        msg += (f" | D>=1024: activerm {fit([p[0] for p in big], [p[1] for p in big]):.2f}"
                                f" numpy {fit([p[0] for p in big], [p[2] for p in big]):.2f}")
                    print(msg)
            for D in sorted({r["D"] for r in sel}):
                pts = sorted((r["R"], r["java_ms"], r["numpy_ms"]) for r in sel if r["D"] == D)
                if len(pts) >= 2:
                    print(f"  {variant:22s} D={D:<5d} in R: activerm {fit([p[0] for p in pts], [p[1] for p in pts]):.2f}"
                          f" numpy {fit([p[0] for p in pts], [p[2] for p in pts]):.2f}")


def variant_label(variant):
    if "WOODBURY" in variant:
        return "Woodbury"
    if variant.endswith("_F64"):
        return "F in float64"
    return "whitened" if variant.startswith("GREEDY") else "F in float32"


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(STRATS), figsize=(5 * len(STRATS), 4), sharey=True)
    for ax, s in zip(axes, STRATS):
        sel = [r for r in rows if r["strategy"] == s]
        for R in sorted({r["R"] for r in sel}):
            jp = sorted({(r["D"], r["java_ms"]) for r in sel if r["R"] == R})
            ax.plot([p[0] for p in jp], [p[1] / 1000 for p in jp], "o-", label=f"activerm R={R:g}")
            for variant in sorted({r["numpy_variant"] for r in sel}):
                npp = sorted((r["D"], r["numpy_ms"]) for r in sel if r["R"] == R and r["numpy_variant"] == variant)
                ax.plot([p[0] for p in npp], [p[1] / 1000 for p in npp], "x--",
                        label=f"numpy {variant_label(variant)} R={R:g}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{s} (P = 10 R, B = 100)")
        ax.set_xlabel("D")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("wall time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print("plot:", path)


if __name__ == "__main__":
    main()
