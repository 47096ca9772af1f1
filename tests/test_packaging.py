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


def _lint_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("lint_actions", REPO / ".ci" / "lint_actions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _linters():
    import pytest

    lint = _lint_module()
    linter, schema = lint.actionlint(), Path(sys.executable).parent / "check-jsonschema"
    if linter is None or not schema.is_file():
        pytest.skip("actionlint or check-jsonschema missing: run .ci/install-actionlint.sh and pip install -e '.[test]'")
    return lint, linter, schema


def test_action_and_workflows_pass_actionlint_and_the_action_schema():
    _linters()
    proc = subprocess.run([sys.executable, str(REPO / ".ci" / "lint_actions.py")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("Checking 1 workflow file(s)") == 1 + len(list((REPO / ".github" / "workflows").glob("*.yml")))


def test_the_linters_catch_a_broken_action(tmp_path):
    """The same linters fail on an action whose step reads an undeclared input, passes an input the used
    action does not have, and leaves out a run step's shell (composite actions require it)."""
    import yaml

    lint, linter, schema = _linters()
    action = yaml.safe_load((REPO / "action.yml").read_text())
    action["runs"]["steps"].append({"name": "typo", "shell": "bash", "run": "echo ${{ inputs.modles }}"})
    action["runs"]["steps"].append({"uses": "actions/upload-artifact@v4", "with": {"name": "x", "paht": "y"}})
    workflow = tmp_path / "steps.yml"
    workflow.write_text(yaml.safe_dump(lint.action_as_workflow(action), sort_keys=False))
    proc = subprocess.run([linter, str(workflow)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and 'property "modles" is not defined' in proc.stdout and '"paht" is not defined' in proc.stdout
    action["runs"]["steps"].append({"name": "no shell", "run": "echo hi"})
    broken = tmp_path / "action.yml"
    broken.write_text(yaml.safe_dump(action, sort_keys=False))
    checked = subprocess.run(
        [str(schema), "--builtin-schema", "vendor.github-actions", str(broken)], capture_output=True, text=True, timeout=300
    )
    assert checked.returncode == 1, checked.stdout


def test_model_pr_uses_the_action_and_builds_the_android_app():
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "model-pr.yml").read_text())
    local = workflow["jobs"]["local"]["steps"]
    assert any(step.get("uses") == "./" for step in local)  # the gate is action.yml, not a copy of it
    cloud = workflow["jobs"]["cloud"]["steps"]
    assert any(str(step.get("uses", "")).startswith("gradle/actions/setup-gradle@") for step in cloud)
    build = next(step for step in cloud if step.get("name") == "Build the Android benchmark app")
    assert "assembleRelease" in build["run"] and "warning" not in build["run"]
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {"models", "farm", "budgets", "threshold", "rounds"} <= set(action["inputs"])
