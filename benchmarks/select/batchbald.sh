#!/usr/bin/env bash
# BATCHBALD timing and joint-MI check (server/src/test/.../BaldBench.java).
# Usage: benchmarks/select/batchbald.sh [R P D THREADS B...]   (from the repo root, after mvn -B -q -DskipTests package)
set -euo pipefail
ARGS=("$@"); [ ${#ARGS[@]} -eq 0 ] && ARGS=(2000 14000 256 1 64 128)
cd "$(dirname "$0")/../.."
CP=/tmp/batchbald-bench.cp
mvn -q -o -pl server -am dependency:build-classpath -Dmdep.outputFile="$CP" -Dmdep.includeScope=test
mvn -q -o -pl server -am test-compile
java -Xmx4g -cp "proto/target/classes:server/target/classes:server/target/test-classes:$(cat "$CP")" \
  dev.activerm.server.core.strategy.BaldBench "${ARGS[@]}"
