#!/usr/bin/env bash
# Runs the Python client's tests against the packaged server jar.
#
#   scripts/run-tests.sh [SERVER_JAR] [pytest args...]     e.g. scripts/run-tests.sh -k aio
#
# Creates client-python-stub/.venv when missing (python3 -m venv; pip install -e '.[test]')
# and reinstalls when pyproject.toml changed. SERVER_JAR defaults to
# ../server/target/activerm-server.jar (build it with: mvn -B -pl server -am package).
# Exits non-zero when a test fails, and also when pytest collected no tests (exit 5).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

jar="${ACTIVERM_SERVER_JAR:-$here/../server/target/activerm-server.jar}"
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  jar="$1"
  shift
fi
if [ ! -f "$jar" ]; then
  echo "run-tests.sh: server jar not found at $jar; build it with: mvn -B -pl server -am package" >&2
  exit 1
fi

venv="$here/.venv"
stamp="$venv/.activerm-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  echo "run-tests.sh: creating $venv" >&2
  python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "run-tests.sh: installing activerm[test] into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
  echo "$want" > "$stamp"
fi

set +e
"$venv/bin/python" -m pytest -c "$here/pyproject.toml" --rootdir "$here" "--server-jar=$jar" "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "run-tests.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$code"
