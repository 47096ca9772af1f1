"""The device-compatibility report. Content from results and optional inputs is built by pure
modules (table5, compat, charts, sections, assembled by build); inputs.py reads the files, svg.py
lays out the inline plots, and render.py renders the jinja2 templates and writes the file.
The CLI is flint_bench/cli/report.py."""
