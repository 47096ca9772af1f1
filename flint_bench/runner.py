"""Run benchmarks: export models, hand each model's devices to the farm, save each record as it arrives."""

from __future__ import annotations

import dataclasses
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np

from .core.contract import ContractError, FailureKind, fail, now
from .core.errors import UserError
from .core.fileio import read_json, write_atomic, write_json_atomic
from .core.records import Record
from .core.results import load_records, record_path, save_record, write_table
from .core.runlock import run_lock
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
    if path.is_file():
        check_data_file(path, model, n)
        return path
    arrays = {f"input_{i}": a.numpy() for i, a in enumerate(model.make_data(n, settings.seed))}

    def write(f: IO[bytes]) -> None:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds like its allow_pickle flag

    return write_atomic(path, write)


def check_data_file(path: Path, model: ModelDef, n: int) -> None:
    """An existing data file must hold `n` rows of each input the model's batches have (names, dtypes,
    shapes): the device trusts it. Never unpickled."""
    expected = model.input_description(1)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if sorted(npz.files) != sorted(item["name"] for item in expected):
                raise ValueError(f"arrays {sorted(npz.files)}, expected {[item['name'] for item in expected]}")
            for item in expected:
                a = npz[item["name"]]
                if a.dtype != np.dtype(item["dtype"]) or list(a.shape) != [n, *item["shape"][1:]]:
                    raise ValueError(
                        f"{item['name']} is {a.dtype} {list(a.shape)}, expected {item['dtype']} {[n, *item['shape'][1:]]}"
                    )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{path}: not a valid training data file ({e}). Delete it and run again to have it rewritten.") from None


def finished_ok(out_dir: Path, model: str, device_id: str) -> bool:
    path = record_path(out_dir, model, device_id)
    try:
        return bool(path.is_file() and read_json(path, "result record").get("status") == "ok")
    except (UserError, AttributeError):  # unreadable or not a record: benchmark the pair again
        return False


def _save(out_dir: Path, record: Record, blank: Record) -> Record:
    """Save `record`; one the contract rejects becomes an `invalid-result` record of `blank` instead."""
    try:
        try:
            save_record(out_dir, record)
        except ContractError as e:  # a backend bug (e.g. a NaN timing) must not cost the other devices their results
            record = fail(blank, FailureKind.INVALID_RESULT, str(e))
            save_record(out_dir, record)
    except UserError as e:  # the disk is full or the folder not writable: say which result is lost
        raise UserError(
            f"{e} The result of model {record['model']['name']} on device {record['device']['id']} "
            f"({record['status']}) could not be saved; the records saved before it are kept in {out_dir}. "
            "Fix the problem and run again with --resume."
        ) from e
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
    on_note: Callable[[str], None] = lambda text: None,
) -> RunOutcome:
    """Benchmark `models` on the farm's devices into `out_dir`, which one run at a time may use."""
    with run_lock(out_dir, on_note):
        started = time.perf_counter()
        run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        devices = farm.devices() if devices is None else devices  # listing a cloud farm costs API calls: list once
        if not devices:
            raise UserError(
                f"Farm '{farm.name}' offers no devices (after selection). Run `flint-bench farm doctor --farm {farm.config_path}`."
            )
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
                    on_record(_save(out_dir, record, record))
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
                on_record(_save(out_dir, record, job.blank_record(by_id[record["device"]["id"]])))

        everything = load_records(out_dir)  # earlier runs' records in the folder stay in the table
        records = [r for r in everything if r["model"]["name"] in {m.name for m in models}]
        table = write_table(out_dir, everything)
        return RunOutcome(records, out_dir, table, export_seconds, time.perf_counter() - started, skipped)
