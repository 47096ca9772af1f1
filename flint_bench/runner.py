"""Run benchmarks: export models, fan out over a farm's devices, stream each record to disk."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .core.contract import ContractError, blank_record, fail, now
from .core.errors import UserError
from .core.fileio import write_json_atomic
from .core.results import load_records, record_path, save_record, write_table
from .export import Artifacts, ExportError, export_model
from .farms.base import BenchJob, Device, DeviceLost, Farm, RunSettings
from .zoo import ModelDef


@dataclass
class RunOutcome:
    records: list[dict]
    out_dir: Path
    table: Path
    export_seconds: float
    wall_seconds: float
    skipped: int

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] != "ok"]


def training_data(model: ModelDef, settings: RunSettings, folder: Path) -> Path:
    """The examples the device trains on, as the .npz the contract describes (written once per size/seed)."""
    n = max(settings.examples, settings.batch_size or model.batch_size)
    path = folder / f"data-{n}-{settings.seed}.npz"
    if not path.is_file():
        arrays = model.make_data(n, settings.seed)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **{f"input_{i}": a.numpy() for i, a in enumerate(arrays)})
        tmp.replace(path)
    return path


def _export_failure(run_id: str, model: ModelDef, device: Device, settings: RunSettings, error: ExportError) -> dict:
    meta = {
        "name": model.name,
        "description": model.description,
        "format": "executorch-training",
        "artifact_sha256": None,
        "trainable_params": model.trainable_params,
        "total_params": model.total_params,
        "storage_bytes": None,
        "update_bytes": model.update_bytes,
        "task": model.task,
    }
    return fail(blank_record(run_id, meta, device.as_record(), settings.benchmark_section(model)), "export", str(error))


def finished_ok(out_dir: Path, model: str, device_id: str) -> bool:
    path = record_path(out_dir, model, device_id)
    try:
        return json.loads(path.read_text()).get("status") == "ok"
    except (OSError, json.JSONDecodeError):
        return False


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
    on_record: Callable[[dict], None] = lambda record: None,
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
            "settings": settings.__dict__,
        },
    )

    export_seconds, jobs = 0.0, {}
    for model in models:
        if settings.batch_size and settings.batch_size != model.batch_size:
            model = replace(model, batch_size=settings.batch_size)  # programs have static shapes: export per batch size
        try:
            artifacts = export_model(model, cache_dir)
            export_seconds += artifacts.export_seconds
            jobs[model.name] = BenchJob(run_id, model, artifacts, training_data(model, settings, artifacts.folder), settings)
            on_export(model.name, artifacts)
        except ExportError as e:
            on_export(model.name, None)
            for device in devices:
                record = _export_failure(run_id, model, device, settings, e)
                save_record(out_dir, record)
                on_record(record)

    pending = {name: [d for d in devices if not (resume and finished_ok(out_dir, name, d.id))] for name in jobs}
    skipped = sum(len(devices) - len(todo) for todo in pending.values())
    farm.plan(pending)

    def bench_device(device: Device) -> None:
        for name, job in jobs.items():
            if device not in pending[name]:
                continue
            try:
                record = farm.run(device, job)
            except DeviceLost as e:
                record = fail(job.blank_record(device), "disconnected", f"device {device.id} went away: {e}")
            except Exception as e:  # one device's failure must never take the others' results with it
                record = fail(job.blank_record(device), "harness", f"{type(e).__name__}: {e}")
            try:
                save_record(out_dir, record)
            except ContractError as e:  # a backend bug must not cost the other devices their results
                record = fail(job.blank_record(device), "invalid-result", str(e))
                save_record(out_dir, record)
            on_record(record)
            if job.settings.cooldown_s:
                time.sleep(job.settings.cooldown_s)

    workers = min(len(devices), settings.max_parallel_devices) if farm.parallel else 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(bench_device, devices))

    everything = load_records(out_dir)  # earlier runs' records in the folder stay in the table
    records = [r for r in everything if r["model"]["name"] in {m.name for m in models}]
    table = write_table(out_dir, everything)
    return RunOutcome(records, out_dir, table, export_seconds, time.perf_counter() - started, skipped)
