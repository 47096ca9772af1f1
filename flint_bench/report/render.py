"""Render the report context with the jinja2 templates: one self-contained HTML file (autoescape,
inline CSS and SVG, no script, no external URL) or Markdown; `write_report` writes it atomically."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.fileio import write_text_atomic

if TYPE_CHECKING:
    import jinja2


class ReportFormat(str, enum.Enum):
    html = "html"
    markdown = "markdown"

    @classmethod
    def for_path(cls, path: Path) -> ReportFormat:
        """Markdown for a .md or .markdown file, else HTML."""
        return cls.markdown if path.suffix.lower() in (".md", ".markdown") else cls.html


def _env(autoescape: bool) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flint_bench.report", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = md_escape
    return env


def md_escape(value: Any) -> str:
    """Markdown table cells: user text must not turn into tables, links or raw HTML."""
    from ..gate import md_cell

    return md_cell(value).replace("[", "\\[").replace("]", "\\]").replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


def render_html(context: dict[str, Any]) -> str:
    return _env(autoescape=True).get_template("report.html.j2").render(**context)


def render_markdown(context: dict[str, Any]) -> str:
    return _env(autoescape=False).get_template("report.md.j2").render(**context)


@dataclass(frozen=True)
class WrittenReport:
    path: Path
    format: ReportFormat
    bytes: int
    models: int
    devices: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.path),
            "format": self.format.value,
            "bytes": self.bytes,
            "models": self.models,
            "devices": self.devices,
        }


def write_report(context: dict[str, Any], out: Path, format: ReportFormat | None = None) -> WrittenReport:
    """Render and write atomically: a reader never sees half a report."""
    format = format or ReportFormat.for_path(out)
    text = render_html(context) if format is ReportFormat.html else render_markdown(context)
    data = text.encode("utf-8")
    write_text_atomic(out, text)
    return WrittenReport(out, format, len(data), len(context["models"]), len(context["devices"]))
