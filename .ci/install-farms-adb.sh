#!/usr/bin/env bash
# The adb farm tests need a real adb server binary. adbutils (a project dependency) ships one in
# adbutils/binaries/adb; when that is missing or cannot run here, install Debian's `adb` package.
# Idempotent, non-interactive; run from the repo root with the project's venv active.
set -euo pipefail

python - <<'PY' && exit 0
import os, subprocess, sys
from pathlib import Path
import adbutils
exe = Path(adbutils.__file__).parent / "binaries" / "adb"
if not exe.is_file():
    sys.exit(1)
if not os.access(exe, os.X_OK):
    exe.chmod(0o755)
out = subprocess.run([str(exe), "version"], capture_output=True, text=True, timeout=30)
print(f"install-farms-adb: using {exe}: {out.stdout.splitlines()[1] if out.returncode == 0 else 'does not run'}")
sys.exit(out.returncode)
PY

if command -v adb >/dev/null 2>&1 && adb version >/dev/null 2>&1; then
  echo "install-farms-adb: using $(command -v adb)"
  exit 0
fi
echo "install-farms-adb: adbutils' adb is not usable here; installing Debian's adb"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq adb
adb version
