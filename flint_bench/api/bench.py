"""run, profiles and compat: measuring and what the measurements allow."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import PathLike, tracked

if TYPE_CHECKING:
    import pandas as pd

    from ..core.records import Record
    from ..export import Artifacts
    from ..farms import FarmFile
    from ..farms.base import RunSettings
    from ..report.table5 import Table5Row
    from ..runner import RunOutcome


# --- run --------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What `run` measured: the records (one per model x device), Table 5 per model, where they went."""

    records: list[Record]
    rows: list[Table5Row]
    out: Path
    table: Path
    farm: str
    settings: RunSettings
    skipped: int
    wall_seconds: float
    export_seconds: float

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r["status"] != "ok"]

    @property
    def summary(self) -> pd.DataFrame:
        """Table 5: one row per model (the run command's table)."""
        import pandas as pd

        return pd.DataFrame([row.as_dict() for row in self.rows])

    @property
    def frame(self) -> pd.DataFrame:
        """Every record flattened (what results.parquet holds)."""
        from ..core.results import to_frame

        return to_frame(self.records)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "table": str(self.table),
            "summary": [row.as_dict() for row in self.rows],
            "failures": [{"model": r["model"]["name"], "device": r["device"]["id"], **(r["error"] or {})} for r in self.failed],
            "skipped": self.skipped,
            "wall_seconds": self.wall_seconds,
            "export_seconds": self.export_seconds,
        }


def run_settings(farm_file: FarmFile, overrides: Mapping[str, Any], flags: Mapping[str, str] | None = None) -> RunSettings:
    """The farm's [run] settings with `overrides` (None = keep), checked against the same bounds;
    `flags` names each key as the caller's user typed it (e.g. examples -> --examples)."""
    from ..core.config import check_instance

    given = {k: v for k, v in overrides.items() if v is not None}
    settings = replace(farm_file.run, **given)
    names = flags or {}
    check_instance(
        settings,
        f"{farm_file.path or 'the built-in local farm'}" + (" with the command-line flags" if flags else " with the arguments"),
        prefix="run.",
        keys={f"run.{k}": names.get(k, k) for k in given},
    )
    return settings


def run(
    models: list[str] | None = None,
    farm: PathLike | None = None,
    *,
    out: PathLike = "results",
    resume: bool = False,
    examples: int | None = None,
    repeats: int | None = None,
    batch_size: int | None = None,
    warmup_steps: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    flags: Mapping[str, str] | None = None,
    on_start: Callable[[int], None] = lambda total: None,
    on_export: Callable[[str, Artifacts | None], None] = lambda name, artifacts: None,
    on_record: Callable[[Record], None] = lambda record: None,
    on_note: Callable[[str], None] = lambda text: None,
    mlflow: bool = False,
) -> RunResult:
    """Export the models (zoo names A-E or `path.py:build`; default all), train them on every device
    of the farm (default farm_configs/local.toml or this machine) and summarise them as Table 5.
    `overrides` sets other [run] keys of the farm file; `on_start(total)` is called with the number of
    model x device pairs before the first one runs."""
    from ..farms import farm_file_or_default, open_farm
    from ..report.table5 import table5
    from ..runner import run_benchmarks
    from ..zoo import load_models

    farm_file = farm_file_or_default(farm)
    given = dict(examples=examples, repeats=repeats, batch_size=batch_size, warmup_steps=warmup_steps) | dict(overrides or {})
    settings = run_settings(farm_file, given, flags)
    loaded = load_models(models)
    with open_farm(farm_file) as the_farm:
        devices = the_farm.devices()
        on_start(len(loaded) * len(devices))
        outcome = run_benchmarks(
            the_farm,
            loaded,
            settings,
            Path(out),
            resume=resume,
            devices=devices,
            on_export=on_export,
            on_record=on_record,
            on_note=on_note,
        )
    if mlflow:
        log_run(outcome, settings, farm_file.name, [m.name for m in loaded], on_note)
    return RunResult(
        outcome.records,
        table5(outcome.records),
        outcome.out_dir,
        outcome.table,
        farm_file.name,
        settings,
        outcome.skipped,
        outcome.wall_seconds,
        outcome.export_seconds,
    )


def log_run(
    outcome: RunOutcome, settings: RunSettings, farm: str, models: list[str], say: Callable[[str], None] | None = None
) -> None:
    """A finished run as an MLflow run: Table 5 per model, a nested run per model x device."""
    from ..tracking.commands import track_run

    with tracked(True, "run", f"run · {farm}", say) as tracker:
        assert tracker is not None
        track_run(tracker, outcome, settings, farm, models)


# --- profiles and compat ----------------------------------------------------------------------


@dataclass
class ProfilesResult:
    frame: pd.DataFrame  # one row per (device model, OS, ML model)
    records: int  # result records aggregated (0 when read from a profiles file)
    out: Path | None


def profiles(source: PathLike, out: PathLike | None = None, models: list[str] | None = None) -> ProfilesResult:
    """Device profiles from a results folder (`run --out`), or read from a profiles Parquet file;
    written to `out` when given; `models` keeps only those ML models."""
    from ..profiles import profiles_from_results, read_profiles, write_profiles

    where = Path(source)
    if where.suffix == ".parquet" or where.is_file():  # a profiles file; a folder holds results
        frame, n = read_profiles(where), 0
    else:
        frame, records = profiles_from_results(where)
        n = len(records)
    if models:
        frame = frame[frame["model"].isin(models)]
    if out is not None:
        write_profiles(frame, Path(out))
    return ProfilesResult(frame, n, None if out is None else Path(out))


@dataclass
class CompatResult:
    checks: pd.DataFrame  # per target x ML model x device model/OS: figures, compatible, reasons
    summary: list[dict[str, Any]]  # per target x model: how many device/OS pairs may run it
    targets: dict[str, dict[str, Any]]  # the targets' limits
    profiles: Path
    budgets: Path

    def to_dict(self) -> dict[str, Any]:
        import json

        from ..core.stats import json_safe

        rows = json.loads(self.checks.to_json(orient="records"))
        return json_safe(
            {
                "profiles": str(self.profiles),
                "budgets": str(self.budgets),
                "targets": self.targets,
                "summary": self.summary,
                "checks": rows,
            }
        )


def compat(
    profiles: PathLike = "profiles.parquet",
    budgets: PathLike = "configs/budgets.toml",
    models: list[str] | None = None,
    targets: list[str] | None = None,
) -> CompatResult:
    """Which device models and OS versions may run each ML model for each deployment target, and why not."""
    from ..budgets import check_compat, compat_summary, load_budgets
    from ..profiles import read_profiles

    b = load_budgets(Path(budgets))
    selected = b.select(targets)  # an unknown target is a user error naming the file
    verdict = check_compat(read_profiles(Path(profiles)), b, models=models, targets=targets)
    return CompatResult(
        verdict, compat_summary(verdict), {n: t.to_dict() for n, t in selected.items()}, Path(profiles), Path(budgets)
    )
