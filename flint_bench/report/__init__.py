"""The device-compatibility report: content from results and optional inputs (build.py, pure),
inline-SVG plot geometry (svg.py), reading inputs and rendering the jinja2 templates to one
self-contained HTML file or Markdown (render.py). The CLI is flint_bench/cli/report.py."""
