"""Result storage: one JSON per (model, device) written atomically as it finishes, plus a Parquet table."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from .contract import READABLE_VERSIONS, SCHEMA_VERSION, ContractError, validate
from .errors import UserError
from .fileio import read_json, write_atomic, write_json_atomic
from .records import Record, Summary, cpu_device_percent, fill_derived, task_network_bytes

if TYPE_CHECKING:
    import pandas as pd

TABLE = "results.parquet"


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def record_path(out_dir: Path, model: str, device_id: str) -> Path:
    return out_dir / f"{safe_name(model)}__{safe_name(device_id)}.json"


def save_record(out_dir: Path, record: Record) -> Path:
    """Fill the derived fields of schema 2 (`records.fill_derived`), validate against the contract and
    write atomically: a record on disk is always whole and valid."""
    fill_derived(record)
    validate("result", record)
    path = record_path(out_dir, record["model"]["name"], record["device"]["id"])
    write_json_atomic(path, record)
    return path


def _is_record_file(path: Path) -> bool:
    return not (path.name.startswith(".") or path.name.endswith(".spec.json") or path.name == "run.json")


def load_records(folder: str | Path, *, strict_version: bool = True) -> list[Record]:
    """All result records in `folder` (recursively). Bad files and versions this flint-bench cannot read
    are user errors. A version-1 record is read with schema 2's derived fields filled where they can
    be derived (`records.fill_derived`; the CPU device share stays null without a core count), its
    `extra.upgraded_from` saying so; `schema_version` stays what the file says."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: results folder not found. Run `flint-bench run --out {folder}` first.")
    records = []
    for path in sorted(p for p in folder.rglob("*.json") if _is_record_file(p)):
        doc = read_json(path, "result record")
        if not isinstance(doc, dict) or "schema_version" not in doc:
            continue  # not a result record (e.g. a manifest)
        if strict_version and doc["schema_version"] not in READABLE_VERSIONS:
            raise UserError(
                f"{path}: result schema version {doc['schema_version']!r}, this flint-bench reads versions "
                f"{', '.join(repr(v) for v in READABLE_VERSIONS)}. Re-run the benchmark with this version."
            )
        try:
            validate("result", doc)
        except ContractError as e:
            raise UserError(f"{path}: {e}") from None
        record = fill_derived(cast(Record, doc))  # the contract validated it
        extra = record.setdefault("extra", {})
        extra["path"] = str(path)
        if doc["schema_version"] != SCHEMA_VERSION:
            extra["upgraded_from"] = doc["schema_version"]
        records.append(record)
    return records


def flatten(record: Record) -> dict[str, Any]:
    """One row per record for the tabular store; raw samples kept as a list column."""
    t = record["timing"]
    model, error = record["model"], record["error"]
    pe: Summary = t["per_example_seconds"] or {}
    s5 = t["seconds_per_5000"]
    row: dict[str, Any] = {
        "run_id": record["run_id"],
        "status": record["status"],
        "error": error["message"] if error else None,
        "error_kind": error["kind"] if error else None,
        "model": model["name"],
        "task": model.get("task"),
        "format": model["format"],
        "artifact_sha256": model["artifact_sha256"],
        "trainable_params": model["trainable_params"],
        "total_params": model["total_params"],
        "storage_bytes": model["storage_bytes"],
        "update_bytes": model["update_bytes"],
        "runtime": record["runtime"]["name"],
        "runtime_version": record["runtime"]["version"],
        "threads": record["runtime"]["threads"],
        "examples": record["benchmark"]["examples"],
        "batch_size": record["benchmark"]["batch_size"],
        "repeats": record["benchmark"]["repeats"],
        "per_example_s_mean": pe.get("mean"),
        "per_example_s_std": pe.get("std"),
        "per_example_s_p50": pe.get("p50"),
        "per_example_s_p90": pe.get("p90"),
        "per_example_s_p99": pe.get("p99"),
        "per_example_s_trimmed_mean": pe.get("trimmed_mean"),
        "per_example_s_cv": pe.get("cv"),
        "s_per_5000_mean": s5["mean"] if s5 else None,
        "s_per_5000_std": s5["std"] if s5 else None,
        "step_seconds": [x for rep in t["step_seconds"] for x in rep],
        "step_examples": [x for rep in t["step_examples"] for x in rep],
        "load_seconds": t.get("load_seconds"),
        "inference_ms_mean": (t.get("inference_ms") or {}).get("mean"),
        "cpu_mean_percent": record["cpu"]["mean_percent"],
        "cpu_max_percent": record["cpu"]["max_percent"],
        "cpu_device_percent": cpu_device_percent(record),
        "cpu_cores": record["cpu"].get("cores"),
        "peak_memory_mb": record["memory"]["peak_mb"],
        "peak_memory_delta_mb": record["memory"]["peak_delta_mb"],
        "memory_method": record["memory"]["method"],
        "network_bytes": record["network"]["total_bytes"],
        "task_network_bytes": task_network_bytes(record),
        "program_bytes": record["network"].get("program_bytes"),
        "battery_percent": record["conditions"]["battery_percent"],
        "thermal_state": record["conditions"]["thermal_state"],
        "started": record["timestamps"]["started"],
        "finished": record["timestamps"]["finished"],
        "commit": record["host"]["commit"],
    }
    row.update({f"device_{k}": v for k, v in record["device"].items()})
    return row


def to_frame(records: Iterable[Record]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([flatten(r) for r in records])


def write_table(out_dir: Path, records: list[Record]) -> Path:
    frame = to_frame(records)

    def write(f: IO[bytes]) -> None:
        frame.to_parquet(f, index=False)

    return write_atomic(out_dir / TABLE, write)
