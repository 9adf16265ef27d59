#!/usr/bin/env bash
# SelectBatch benchmark: Java (activerm core) and numpy on the same data, side by side.
# Usage: benchmarks/select/run.sh [R P D B SMALL_P THREADS]   (from the repo root)
set -euo pipefail
R=${1:-100000}; P=${2:-1000000}; D=${3:-512}; B=${4:-100}; SP=${5:-2000}; T=${6:-2}
PY=${PYTHON:-/tmp/select-venv/bin/python}
OUT=${OUT:-/tmp/select-bench}
cd "$(dirname "$0")/../.."
# test-compile in the same reactor: the proto module resolves from its target/ (nothing is installed;
# `-pl server -am dependency:build-classpath` looked for an installed proto jar and failed offline)
mvn -q -o -pl proto,server test-compile dependency:build-classpath -Dmdep.outputFile="$OUT.cp" -Dmdep.includeScope=test
mkdir -p "$OUT"
java -Xmx8g -cp "proto/target/classes:server/target/classes:server/target/test-classes:$(cat "$OUT.cp")" dev.activerm.server.core.strategy.SelectBench "$OUT" "$R" "$P" "$D" "$B" "$SP" "$T"
OPENBLAS_NUM_THREADS=$T "$PY" benchmarks/select/select_bench.py "$OUT" "$R" "$P" "$D" "$B" "$SP"
