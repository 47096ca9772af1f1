"""The decision's outputs: decision.json (validated against the versioned schema kept next to this
module, then written atomically), decision.md (GitHub-flavoured, fit for $GITHUB_STEP_SUMMARY), the
HTML report with the decision on top, and the rows of the table the command prints."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..core.fileio import write_json_atomic, write_text_atomic
from ..report.decision import DETAIL_COLUMNS, coverage_line, detail_rows, pct, table_rows

SCHEMA_FILE = "decision.schema.json"


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(resources.files("flint_bench.assess").joinpath(SCHEMA_FILE).read_text())
    return loaded


def validate_decision(doc: dict[str, Any]) -> None:
    """A document the schema rejects is a bug of this tool, not the user's: it raises."""
    import jsonschema

    jsonschema.validate(doc, schema())


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]


def markdown(doc: dict[str, Any]) -> str:
    e = doc["eligibility"]
    lines = [
        "## flint-bench assess: decision",
        "",
        f"Config `{doc['config']}` · {e['devices']} devices, {e['sessions']} sessions in the log · "
        f"{pct(e['eligible_share'])} of devices eligible under the rules · tool {doc['tool_version']} · {doc['generated']}",
        "",
        *_md_table(*table_rows(doc)),
        "",
        coverage_line(doc),
        "",
        "### Reasons",
        "",
    ]
    for d in doc["decisions"]:
        lines.append(f"- **{d['model']} / {d['target']}: {d['verdict']}**: " + "; ".join(_md_cell(r) for r in d["reasons"]))
    detail = detail_rows(doc)
    if detail:
        lines += ["", "### Simulation (median [min–max] over trials)", "", *_md_table(DETAIL_COLUMNS, detail)]
    missing = sorted({x for d in doc["decisions"] for x in d["not_available"]})
    if missing:
        lines += ["", "### Not available", "", *[f"- {_md_cell(x)}" for x in missing]]
    return "\n".join(lines) + "\n"


def write_outputs(doc: dict[str, Any], out: Path, report_inputs: dict[str, Any]) -> dict[str, str]:
    """decision.json (validated first), decision.md and report.html in `out`."""
    from ..report.inputs import make_context
    from ..report.render import write_report

    validate_decision(doc)
    json_path = write_json_atomic(out / "decision.json", doc, indent=2)
    md_path = write_text_atomic(out / "decision.md", markdown(doc))
    context = make_context(**report_inputs, decision=json_path)
    report = write_report(context, out / "report.html")
    return {"decision_json": str(json_path), "decision_md": str(md_path), "report": str(report.path)}
