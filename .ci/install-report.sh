#!/usr/bin/env bash
# Headless Chromium + its WebDriver for the report's browser test (tests/report/test_report_browser.py).
# Idempotent and non-interactive; run as root from the repo root by .ci/run.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "install-report: chromium $(chromium --version 2>/dev/null | awk '{print $2}') and chromedriver already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
echo "install-report: installed $(chromium --version 2>/dev/null) / $(chromedriver --version 2>/dev/null | awk '{print $1, $2}')"
