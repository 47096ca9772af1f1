"""The decision per model and deployment target: the figures the stages produced, and a verdict
(go / no-go / needs-measurement) with its reasons. Pure: stage documents in, a JSON-able dict out.

- no-go: no measured device within the target's budgets (the breaches are the reasons), no session
  of the log on a deployable device, no eligible session on one, or no simulated mode reaching the
  target metric in any trial;
- needs-measurement: otherwise, when too many sessions run on device models no measurement stands
  for (the coverage), a limited figure of a measured device is unknown, or a mode reaches the
  target in some trials only;
- go: otherwise.

A figure a stage did not produce is null, and `not_available` says why; nothing is filled in.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from .. import __version__
from .config import AssessConfig

SCHEMA = "flint-bench/decision"
SCHEMA_VERSION = 1
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _first_number(text: str) -> float:
    m = _NUMBER.search(text)
    return float(m.group()) if m else 0.0


def _compat_reasons(rows: list[dict[str, Any]], target: str) -> tuple[list[str], list[str], int]:
    """(no-go reasons, needs-measurement reasons, devices within the device budgets) of one model x
    target. One line per kind of breach (the numbers stripped), showing the worst device's figure."""
    devices = {r["device_model"] for r in rows}
    ok = {r["device_model"] for r in rows if r["device_ok"]}
    kinds: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if not r["device_ok"]:
            # the OS version is judged per session (deployable shares), not per measured device:
            # a stand-in's OS version is its host's
            for reason in r["reasons"][: None if r["os_ok"] else -1]:
                kinds[_NUMBER.sub("#", reason)].append(reason)
    breaches = {k: v for k, v in kinds.items() if "unknown" not in k}
    unknown = {k: v for k, v in kinds.items() if "unknown" in k}

    def line(found: list[str]) -> str:
        worst = max(found, key=_first_number)
        return f"{worst} for {target}" + (f" on {len(found)} of {len(devices)} measured devices" if len(devices) > 1 else "")

    no_go = [] if ok else [line(v) for v in breaches.values()]
    if not devices:
        no_go.append(f"no measured device profile for {target}")
    elif not ok and not breaches:
        no_go.append(f"0 of {len(devices)} measured devices within the {target} budgets")
    return no_go, [line(v) for v in unknown.values()], len(ok)


def _speedup(modes: dict[str, Any]) -> float | None:
    avg, buff = modes.get("fedavg"), modes.get("fedbuff")
    if not avg or not buff:
        return None
    a, b = avg["hours_to_target"]["median"], buff["hours_to_target"]["median"]
    return a / b if a is not None and b else None


def decide_one(
    cfg: AssessConfig,
    entry: dict[str, Any],
    compat_rows: list[dict[str, Any]],
    coverage: dict[str, Any],
    eligibility: dict[str, Any],
    money: dict[str, Any] | None,
) -> dict[str, Any]:
    model, target = entry["model"], entry["target"]
    rows = [r for r in compat_rows if r["model"] == model and r["target"] == target]
    no_go, needs, compatible = _compat_reasons(rows, target)
    not_available: list[str] = []
    deploy = entry["deploy"]
    if deploy["session_share"] == 0:
        no_go.append(f"0% of sessions on devices deployable to {target}")
    unknown = float(coverage["session_share"]["unknown"])
    if coverage.get("warning"):
        needs.append(str(coverage["warning"]))
    elif unknown > cfg.decision.max_unmeasured_session_share:
        needs.append(
            f"{_pct(unknown)} of sessions on device models no measured device stands for "
            f"(> {_pct(cfg.decision.max_unmeasured_session_share)}, decision.max_unmeasured_session_share)"
        )
    if "not_simulated" in entry:
        if deploy["session_share"]:  # else the 0% above says it
            no_go.append(f"{entry['not_simulated']} for {target}: nothing to simulate")
        not_available.append(f"simulation of {model} for {target}: {entry['not_simulated']}")
    modes = entry["modes"]
    goal = cfg.target_metric.get(model)
    if goal is None:
        not_available.append(f"time to target: no target_metric for model {model} in the config")
    elif modes:
        reached = {mode: fig["hours_to_target"]["n"] for mode, fig in modes.items()}
        if not any(reached.values()):
            name = next(iter(modes.values()))["metric_name"]
            no_go.append(f"{name} {goal:g} not reached by {', '.join(modes)} in any of {cfg.trials} trials")
        for mode, n in reached.items():
            if 0 < n < cfg.trials:
                needs.append(f"{mode} reaches the target in only {n} of {cfg.trials} trials")
    if money is None or (money["farm"] is None and not any(money["aggregator"].values())):
        not_available.append("money: no cost rates in [cost]")
        money = None
    verdict = "no-go" if no_go else "needs-measurement" if needs else "go"
    reasons = no_go or needs
    if verdict == "go":
        reasons = [f"{compatible} of {len({r['device_model'] for r in rows})} measured devices within the {target} budgets"]
        reasons.append(f"{_pct(deploy['session_share'])} of sessions on deployable devices")
        reasons += [
            f"{mode} reaches {fig['metric_name']} {goal:g} in {fig['hours_to_target']['n']} of {fig['trials']} trials"
            for mode, fig in modes.items()
            if goal is not None
        ]
    return {
        "model": model,
        "target": target,
        "verdict": verdict,
        "reasons": reasons,
        "measured_devices": len({r["device_model"] for r in rows}),
        "compatible_devices": compatible,
        "deployable_device_model_share": deploy["device_model_share"],
        "deployable_session_share": deploy["session_share"],
        "eligible_device_share": eligibility["eligible_share"],
        "eligible_deployable_devices": entry["eligible_deployable_devices"],
        "modes": modes,
        "fedbuff_speedup": _speedup(modes),
        "money": money,
        "not_available": not_available,
    }


def decide(
    cfg: AssessConfig,
    runs: list[dict[str, Any]],
    compat_rows: list[dict[str, Any]],
    coverage: dict[str, Any],
    eligibility: dict[str, Any],
    forecast: list[dict[str, Any]],
    inputs: dict[str, Any],
    stages: list[dict[str, Any]],
    generated: str,
) -> dict[str, Any]:
    money = {(f["model"], f["target"]): f["money"] for f in forecast}
    decisions = [decide_one(cfg, e, compat_rows, coverage, eligibility, money.get((e["model"], e["target"]))) for e in runs]
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "tool_version": __version__,
        "generated": generated,
        "config": cfg.file,
        "inputs": inputs,
        "stages": stages,
        "coverage": coverage,
        "eligibility": {
            k: eligibility[k] for k in ("devices", "sessions", "eligible_share", "eligible_session_share", "fairness_warnings")
        },
        "decisions": decisions,
    }
