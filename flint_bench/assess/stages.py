"""The assess stages up to eligibility, each a call of the library function the matching command
uses: benchmark (or a results folder reused) -> profiles -> compat per target -> session log ->
coverage (measured devices for the log's device models) -> eligibility funnel and traces.

Each `*_stage` returns (cache-key parts, compute); `Pipeline.run` decides whether compute runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError, UserError
from ..core.fileio import write_json_atomic
from .cache import Stage, StageResult, file_hash
from .config import AssessConfig

if TYPE_CHECKING:
    from ..core.records import Record

Say = Callable[[str], None]


def _existing(cfg: AssessConfig, value: str | None, key: str, what: str) -> Path | None:
    path = cfg.path(value)
    if path is not None and not path.exists():
        raise ConfigError(cfg.file, key, f"{what} {path} not found")
    return path


def farm_device_hours(records: list[Record]) -> float | None:
    """Farm time the benchmarks took, summed over devices (what a cloud farm bills), from the records."""
    total, known = 0.0, False
    for r in records:
        ts = r.get("timestamps") or {}
        try:
            seconds = (datetime.fromisoformat(str(ts["finished"])) - datetime.fromisoformat(str(ts["started"]))).total_seconds()
        except (KeyError, TypeError, ValueError):
            continue
        total, known = total + max(seconds, 0.0), True
    return total / 3600.0 if known else None


def benchmark_stage(cfg: AssessConfig, say: Say) -> Stage:
    reuse = _existing(cfg, cfg.benchmark.results, "benchmark.results", "results folder")
    if reuse is not None:
        parts: dict[str, Any] = {"results": str(reuse.resolve()), "content": file_hash(reuse), "models": cfg.models}

        def reuse_results(folder: Path) -> dict[str, Any]:
            return _results_doc(cfg, reuse)

        return parts, reuse_results
    farm_path = _existing(cfg, cfg.benchmark.farm, "benchmark.farm", "farm file")
    parts = {
        "config": cfg.section("models", "benchmark"),
        "farm": file_hash(farm_path) if farm_path else "default",
    }

    def run(folder: Path) -> dict[str, Any]:
        from ..core.config import check_instance
        from ..farms import farm_file_or_default, open_farm
        from ..runner import run_benchmarks
        from ..zoo import load_models

        farm_file = farm_file_or_default(farm_path)
        b = cfg.benchmark
        overrides = {"examples": b.examples, "repeats": b.repeats, "warmup_steps": b.warmup_steps}
        settings = replace(farm_file.run, **{k: v for k, v in overrides.items() if v is not None})
        check_instance(settings, cfg.file, prefix="benchmark.", keys={f"benchmark.{k}": f"benchmark.{k}" for k in overrides})
        try:
            models = load_models(cfg.models)
        except UserError as e:
            raise ConfigError(cfg.file, "models", str(e)) from None
        results = folder / "results"
        with open_farm(farm_file) as farm:
            run_benchmarks(farm, models, settings, results, on_note=say)
        return _results_doc(cfg, results)

    return parts, run


def _results_doc(cfg: AssessConfig, folder: Path) -> dict[str, Any]:
    from ..core.results import load_records

    records = [r for r in load_records(folder) if r["model"]["name"] in cfg.models]
    missing = sorted(set(cfg.models) - {r["model"]["name"] for r in records})
    if missing:
        raise ConfigError(cfg.file, "models", f"no result record of model(s) {missing} in {folder}")
    return {
        "results": str(folder),
        "records": len(records),
        "failed": sum(r["status"] != "ok" for r in records),
        "devices": sorted({r["device"]["id"] for r in records}),
        "farms": sorted({str(r["device"]["farm"]) for r in records}),
        "farm_device_hours": {m: farm_device_hours([r for r in records if r["model"]["name"] == m]) for m in cfg.models},
    }


def profiles_stage(cfg: AssessConfig, bench: StageResult) -> Stage:
    def run(folder: Path) -> dict[str, Any]:
        from ..profiles import profiles_from_results, write_profiles

        frame, _ = profiles_from_results(bench.doc["results"])
        frame = frame[frame["model"].isin(cfg.models)].reset_index(drop=True)
        path = write_profiles(frame, folder / "profiles.parquet")
        return {"profiles": str(path), "rows": len(frame), "devices": sorted(set(frame["device_model"]))}

    return {"benchmark": bench.key, "models": cfg.models}, run


def stand_ins_as_platform(profiles: Any) -> Any:
    """Profiles whose device stands in for a phone (a local class with a platform) judged as that
    platform, not the host's OS, as the eligibility compat criterion does."""
    from ..coverage.attributes import profile_platform

    if "platform" not in profiles.columns:
        return profiles
    return profiles.assign(os=[profile_platform(p, o) or o for p, o in zip(profiles["platform"], profiles["os"], strict=True)])


def compat_stage(cfg: AssessConfig, prof: StageResult) -> Stage:
    budgets = _existing(cfg, cfg.budgets, "budgets", "budgets file")

    def run(folder: Path) -> dict[str, Any]:
        from ..budgets import check_compat, load_budgets
        from ..profiles import read_profiles

        b = load_budgets(budgets)
        try:
            targets = b.select(cfg.targets)
        except ConfigError as e:
            raise ConfigError(cfg.file, "targets", e.problem) from None
        verdict = check_compat(
            stand_ins_as_platform(read_profiles(prof.doc["profiles"])), b, models=cfg.models, targets=list(targets)
        )
        rows = [{k: (list(v) if k in ("unknown", "reasons") else v) for k, v in r.items()} for r in verdict.to_dict("records")]
        write_json_atomic(folder / "compat.json", rows)
        return {
            "compat": str(folder / "compat.json"),
            "targets": {n: t.to_dict() for n, t in targets.items()},
            "source": b.source,
        }

    parts = {"profiles": prof.key, "budgets": file_hash(budgets) if budgets else "defaults", "targets": cfg.targets}
    return parts, run


def sessions_stage(cfg: AssessConfig) -> Stage:
    given = _existing(cfg, cfg.sessions.file, "sessions.file", "session log")
    if given is not None:

        def use(folder: Path) -> dict[str, Any]:
            return {"file": str(given), "synthetic": False}

        return {"file": str(given.resolve()), "content": file_hash(given)}, use

    def synth(folder: Path) -> dict[str, Any]:
        from ..eligibility.synth import synth_settings, write_synthetic_log

        s = cfg.sessions
        summary = write_synthetic_log(synth_settings(devices=s.devices, days=s.days, seed=s.seed), folder / "sessions.parquet")
        return {"file": str(folder / "sessions.parquet"), "synthetic": True, "sessions": summary["sessions"]}

    return {"config": cfg.section("sessions")}, synth


def coverage_stage(cfg: AssessConfig, prof: StageResult, sess: StageResult) -> Stage:
    """Which measured device stands for each device model of the log (flint_bench.coverage)."""
    mapping = _existing(cfg, cfg.mapping, "mapping", "device mapping file")

    def run(folder: Path) -> dict[str, Any]:
        from ..coverage import load_mapping, map_devices
        from ..eligibility import read_sessions
        from ..profiles import read_profiles

        sessions = read_sessions(sess.doc["file"], {"device_id", "platform", "device_model", "os_version"}, {"device_tier"})
        result = map_devices(sessions, read_profiles(prof.doc["profiles"]), load_mapping(mapping) if mapping else None)
        path = folder / "mapping.parquet"
        result.table.to_parquet(path, index=False)
        return {"mapping": str(path), "coverage": result.coverage().as_dict()}

    parts = {"profiles": prof.key, "sessions": sess.key, "mapping": file_hash(mapping) if mapping else None}
    return parts, run


def eligibility_stage(cfg: AssessConfig, sess: StageResult, prof: StageResult) -> Stage:
    from ..eligibility import load_rules

    rules = _existing(cfg, cfg.rules, "rules", "rules file")
    assert rules is not None  # a required key
    ruleset = load_rules(rules)
    budgets = cfg.path(cfg.budgets) or ruleset.budgets_path()
    uses_compat = any(c.compat for c in ruleset.criteria)
    parts: dict[str, Any] = {"sessions": sess.key, "rules": file_hash(rules)}
    if uses_compat:  # only then do the benchmarks and budgets decide who is eligible
        parts |= {"profiles": prof.key, "budgets": file_hash(budgets) if budgets else None}

    def run(folder: Path) -> dict[str, Any]:
        from ..eligibility import run_eligibility

        result = run_eligibility(
            Path(sess.doc["file"]),
            rules,
            profiles=Path(prof.doc["profiles"]) if uses_compat else None,
            budgets=budgets,
            traces_out=folder / "traces.parquet",
        )
        write_json_atomic(folder / "eligibility.json", result.document)
        doc = result.document
        return {
            "eligibility": str(folder / "eligibility.json"),
            "traces": str(folder / "traces.parquet"),
            "sessions_file": sess.doc["file"],
            "devices": doc["devices"],
            "sessions": doc["sessions"],
            "eligible_share": doc["all_criteria_share"],
            "eligible_session_share": doc["all_criteria_session_share"],
            "fairness_warnings": len(doc["fairness_warnings"]),
        }

    return parts, run
