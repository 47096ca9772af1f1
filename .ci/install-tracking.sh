#!/usr/bin/env bash
# The MLflow tracking server the tests start on loopback (tests/tracking/). The project's venv has only
# the client (mlflow-skinny, the `mlflow` extra): the full `mlflow` package pins an older pyarrow than the
# project's, so the server lives in its own venv outside the work tree. Idempotent, non-interactive.
set -euo pipefail
MLFLOW_VERSION="3.17.2"
TOOLS="${FLINT_BENCH_TOOLS:-$HOME/.cache/flint-bench-tools}"
VENV="$TOOLS/mlflow-server"

if [ -x "$VENV/bin/mlflow" ] && "$VENV/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')"; then
  echo "install-tracking: mlflow $MLFLOW_VERSION server in $VENV"
  exit 0
fi
mkdir -p "$TOOLS"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "mlflow==$MLFLOW_VERSION"
echo "install-tracking: installed mlflow $("$VENV/bin/mlflow" --version | awk '{print $NF}') server in $VENV"
