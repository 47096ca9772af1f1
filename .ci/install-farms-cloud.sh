#!/usr/bin/env bash
# What tests/farms/cloud needs: boto3 (the `aws` extra, for botocore's Stubber) and the pinned
# Appium 3 server from tests/farms/cloud/appium/package-lock.json. Idempotent, non-interactive;
# run from the repo root with the project's venv active.
set -euo pipefail
cd "$(dirname "$0")/.."

# boto3: the `aws` extra (botocore's Stubber); PyYAML: the tests parse the rendered test spec
python -m pip install --quiet --disable-pip-version-check 'boto3>=1.34' 'PyYAML>=6'

if ! command -v npm >/dev/null 2>&1; then
  echo "install-farms-cloud: npm not found; the Appium server tests will be skipped (install Node.js >= 20.19)" >&2
  exit 0
fi
# --ignore-scripts: appium's postinstall would otherwise try to download drivers named in env vars;
# the tests install their own driver into a private APPIUM_HOME.
(cd tests/farms/cloud/appium && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
echo "install-farms-cloud: appium $(node tests/farms/cloud/appium/node_modules/appium/index.js --version) ready"
