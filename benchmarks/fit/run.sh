#!/usr/bin/env bash
# Fit benchmark, Java and Python side by side in one run (see docs/benchmarks.md, "## Fit").
#   PYTHON=/path/to/venv/bin/python benchmarks/fit/run.sh
# The venv needs numpy, scipy, scikit-learn, and torch for the PyTorch comparison (numpy is used without it).
# BENCH_THREADS (default 2) sets both sides' threads; BENCH_ONLY=mlp skips LINEAR on both sides;
# BENCH_MLP_EPOCHS (default 10) shortens the MLP schedule on both sides (for runs under heavy load).
# BENCH_MLP_PRIOR (default anchored) gives the Python MLP activerm's objective, the anchored prior
# (lambda/2N) sum_l ||W_l - W_l0||^2 on the hidden weights included; none is the objective before
# session 6 (only (lambda/2N) ||w||^2), the variant the benchmarks up to session 9 timed.
# For an "at once" run started by hand (docs/benchmarks.md), -Dactiverm.bench.start.at=<Unix seconds>
# on the Java side and BENCH_START_AT=<same> on the Python side hold both timed fits until then.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/activerm-fitbench}
PYTHON=${PYTHON:-python3}
THREADS=${BENCH_THREADS:-2}
EPOCHS=${BENCH_MLP_EPOCHS:-10}
ONLY=${BENCH_ONLY:-all}
PRIOR=${BENCH_MLP_PRIOR:-anchored}
mkdir -p "$OUT"
mvn -B -q -pl server -am verify -Dtest=FitBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dactiverm.bench.dir="$OUT" -Dactiverm.bench.threads="$THREADS" \
  -Dactiverm.bench.mlp.epochs="$EPOCHS" -Dactiverm.bench.only="$ONLY" > "$OUT/maven.log" 2>&1
echo "== Java (activerm) =="; cat "$OUT/java.txt"
echo "== Python =="
BENCH_MLP_EPOCHS=$EPOCHS BENCH_ONLY=$ONLY BENCH_MLP_PRIOR=$PRIOR \
OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS BENCH_THREADS=$THREADS \
  "$PYTHON" benchmarks/fit/bench_python.py "$OUT"
