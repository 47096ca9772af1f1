"""The DP sweep's section rendered through the real templates (HTML and Markdown)."""

from __future__ import annotations

from flint_bench.report.build import build
from flint_bench.report.render import render_html, render_markdown

# the shape `simulate --sweep` writes for configs/sim-dp.toml (summary.json's privacy_sweep), two lines
SWEEP = [
    {
        "privacy.dp.noise_multiplier": "no DP",
        "epsilon": None,
        "final_metric": 0.91,
        "virtual_hours_to_target": 0.07,
        "reached": 2,
    },
    {
        "privacy.dp.noise_multiplier": 1.0,
        "epsilon": 8.4,
        "epsilon_min": 8.4,
        "epsilon_max": 8.4,
        "final_metric": 0.88,
        "metric_drop": 0.03,
        "virtual_hours_to_target": 0.18,
        "tasks_to_target": 507.5,
        "reached": 2,
        "trials": 2,
    },
    # one trial of two missed the target: its time is not drawn (a median over another set of trials)
    {
        "privacy.dp.noise_multiplier": 2.0,
        "epsilon": 0.99,
        "final_metric": 0.83,
        "virtual_hours_to_target": 0.17,
        "reached": 1,
        "trials": 2,
    },
]


def test_privacy_rows_and_charts_render():
    ctx = build([], {}, budgets_source="-", sim_summary={"metric_name": "aupr", "privacy_sweep": SWEEP})
    html, md = render_html(ctx), render_markdown(ctx)
    assert "final metric against ε (DP sweep)" in html and "virtual hours to target against ε (DP sweep)" in html
    assert "privacy z=1.0: ε" in html  # a decimal, not z=1 · 0
    assert "| privacy z=1.0: metric lost to DP | 0.03 |" in md
    assert "| privacy no DP: final metric | 0.91 |" in md


def test_partly_reached_times_are_not_drawn():
    from flint_bench.report.privacy import privacy_charts

    metric, hours = privacy_charts({"privacy_sweep": SWEEP})
    assert [len(line.points.split()) for line in metric.lines] == [2, 2]  # z = 2 and z = 1; the flat no-DP line
    assert [len(line.points.split()) for line in hours.lines] == [1, 2]  # z = 1 only


def test_no_sweep_no_privacy_rows():
    ctx = build([], {}, budgets_source="-", sim_summary={"metric_name": "aupr"})
    assert "privacy" not in render_markdown(ctx)
