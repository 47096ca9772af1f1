"""docs/api.md's notebook session runs as written (its ```python cells in order, one namespace)."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_docs_api_example_runs(tmp_path, monkeypatch, capsys):
    cells = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "api.md").read_text(), flags=re.S)
    assert len(cells) >= 4
    (tmp_path / "configs").symlink_to(REPO / "configs")  # "from a checkout": configs/ is there, no farm_configs/
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for cell in cells:
        exec(compile(cell, "docs/api.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "gate passed: True" in out and "mean_s_per_5000" in out
    assert (tmp_path / "api-example" / "report.html").stat().st_size > 10_000
    assert os.path.isfile(tmp_path / "api-example" / "sim" / "summary.json")


def test_the_cli_commands_call_the_api():
    """Each command module reaches its work through flint_bench.api (the CLI is parse -> api -> output)."""
    for module, function in [
        ("bench", "api.run("),
        ("profiles", "api.profiles("),
        ("profiles", "api.compat("),
        ("eligibility", "api.eligibility("),
        ("assess", "api.assess("),
        ("report", "api.report("),
        ("gate", "api.gate("),
    ]:
        assert function in (REPO / "flint_bench" / "cli" / f"{module}.py").read_text(), (module, function)
