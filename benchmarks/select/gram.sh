#!/usr/bin/env bash
# F = Phi^T L Phi: the double accumulation LaplacianGram uses (full product and lower-triangle
# panels) against the float32 path it replaced (issue 12), same data, same run.
# Usage: benchmarks/select/gram.sh [T P THREADS D...]   (from the repo root, after mvn -pl server -am test-compile)
set -euo pipefail
T=${1:-20000}; P=${2:-200000}; TH=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
DS=${*:-256 512 1024}
OUT=${OUT:-/tmp/gram-bench}
cd "$(dirname "$0")/../.."
# test-compile in the same reactor: the proto module resolves from its target/ (nothing is installed)
mvn -q -o -pl proto,server test-compile dependency:build-classpath -Dmdep.outputFile="$OUT.cp" -Dmdep.includeScope=test
java -Xmx4g ${JAVA_OPTS:-} -cp "proto/target/classes:server/target/classes:server/target/test-classes:$(cat "$OUT.cp")" \
  dev.activerm.server.core.linalg.LaplacianGramBench "$T" "$P" "$TH" $DS
