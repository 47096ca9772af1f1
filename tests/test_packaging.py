"""The built wheel carries the zoo and the contract: `models list` works outside the checkout."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_ships_models_and_schemas_and_lists_the_zoo_from_any_folder(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("flint_bench-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "flint_bench/models/d_cnn_embedding.py").is_file()
    assert (site / "flint_bench/contract_schemas/result.schema.json").is_file()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = os.environ | {"PYTHONPATH": str(site), "PYTHONWARNINGS": "ignore"}  # the unpacked wheel wins over the checkout
    proc = subprocess.run(
        [sys.executable, "-m", "flint_bench.cli", "models", "list", "--format", "json"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    models = json.loads(proc.stdout)
    assert [m["name"] for m in models] == ["A", "B", "C", "D", "E"]
    assert all(m["source"].startswith(str(site)) for m in models)
