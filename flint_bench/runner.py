"""Run benchmarks: export models, hand each model's devices to the farm, save each record as it arrives."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np

from .core.contract import ContractError, FailureKind, fail, now
from .core.errors import UserError
from .core.fileio import write_atomic, write_json_atomic
from .core.records import Record
from .core.results import load_records, record_path, save_record, write_table
from .export import Artifacts, ExportError, export_model
from .farms.base import BenchJob, Device, Farm, RunSettings, new_record
from .zoo import ModelDef


@dataclass
class RunOutcome:
    records: list[Record]
    out_dir: Path
    table: Path
    export_seconds: float
    wall_seconds: float
    skipped: int

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r["status"] != "ok"]


def training_data(model: ModelDef, settings: RunSettings, folder: Path) -> Path:
    """The examples the device trains on, as the .npz the contract describes (written once per size/seed)."""
    n = max(settings.examples, settings.batch_size or model.batch_size)
    path = folder / f"data-{n}-{settings.seed}.npz"
    if not path.is_file():
        arrays = {f"input_{i}": a.numpy() for i, a in enumerate(model.make_data(n, settings.seed))}

        def write(f: IO[bytes]) -> None:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds like its allow_pickle flag

        write_atomic(path, write)
    return path


def finished_ok(out_dir: Path, model: str, device_id: str) -> bool:
    path = record_path(out_dir, model, device_id)
    try:
        return bool(json.loads(path.read_text()).get("status") == "ok")
    except (OSError, json.JSONDecodeError):
        return False


def _save(out_dir: Path, job: BenchJob, device: Device, record: Record) -> Record:
    try:
        save_record(out_dir, record)
    except ContractError as e:  # a backend bug must not cost the other devices their results
        record = fail(job.blank_record(device), FailureKind.INVALID_RESULT, str(e))
        save_record(out_dir, record)
    return record


def run_benchmarks(
    farm: Farm,
    models: list[ModelDef],
    settings: RunSettings,
    out_dir: Path,
    *,
    resume: bool = False,
    cache_dir: Path | None = None,
    devices: list[Device] | None = None,
    on_export: Callable[[str, Artifacts | None], None] = lambda name, art: None,
    on_record: Callable[[Record], None] = lambda record: None,
) -> RunOutcome:
    started = time.perf_counter()
    run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    devices = farm.devices() if devices is None else devices  # listing a cloud farm costs API calls: list once
    if not devices:
        raise UserError(
            f"Farm '{farm.name}' offers no devices (after selection). Run `flint-bench farm doctor --farm {farm.config_path}`."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        out_dir / "run.json",
        {
            "run_id": run_id,
            "farm": farm.name,
            "kind": farm.kind,
            "started": now(),
            "models": [m.name for m in models],
            "devices": [d.id for d in devices],
            "settings": dataclasses.asdict(settings),
        },
    )

    export_seconds, jobs = 0.0, []
    for model in models:
        if settings.batch_size and settings.batch_size != model.batch_size:
            model = replace(model, batch_size=settings.batch_size)  # programs have static shapes: export per batch size
        try:
            artifacts = export_model(model, cache_dir)
        except ExportError as e:
            on_export(model.name, None)
            for device in devices:
                record = fail(new_record(run_id, model, device, settings, None), FailureKind.EXPORT, str(e))
                save_record(out_dir, record)
                on_record(record)
            continue
        export_seconds += artifacts.export_seconds
        jobs.append(BenchJob(run_id, model, artifacts, training_data(model, settings, artifacts.folder), settings))
        on_export(model.name, artifacts)

    skipped = 0
    for job in jobs:
        pending = [d for d in devices if not (resume and finished_ok(out_dir, job.model.name, d.id))]
        skipped += len(devices) - len(pending)
        by_id = {d.id: d for d in pending}
        for record in farm.run_many(job, pending) if pending else ():
            on_record(_save(out_dir, job, by_id[record["device"]["id"]], record))

    everything = load_records(out_dir)  # earlier runs' records in the folder stay in the table
    records = [r for r in everything if r["model"]["name"] in {m.name for m in models}]
    table = write_table(out_dir, everything)
    return RunOutcome(records, out_dir, table, export_seconds, time.perf_counter() - started, skipped)
