"""Checkpoints of a run, in a format that holds data only: loading one never runs code from it.

`checkpoint.npz` is a zip (numpy's .npz layout) of one JSON document, `checkpoint.json`, and one
`.npy` array per model snapshot and scheduler array, read with `allow_pickle=False`. The JSON holds
the format name and version, the raw config, the finished trials, and the trial in progress:
its scheduler's state (virtual time, counters, event heap, RNG state) field by field. A resumed
trial rebuilds its scheduler from the config and restores that state into it.

`sha256` in the JSON covers the rest of the document (canonical JSON) and every array's bytes:
a truncated, damaged or edited checkpoint is refused, naming the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..core.errors import UserError
from ..core.fileio import write_atomic
from .clock import Scheduler
from .state import TrialState

CHECKPOINT = "checkpoint.npz"
LEGACY_CHECKPOINT = "checkpoint.pkl"  # pickle, before format version 1: never read
FORMAT = "flint-bench simulator checkpoint"
VERSION = 1
DOCUMENT = "checkpoint.json"


@dataclass
class Checkpoint:
    raw_config: dict[str, Any]
    finished: list[dict[str, Any]]  # per finished trial, its summary
    rows: list[dict[str, Any]]  # the finished trials' evaluation rows
    trial: dict[str, Any] | None  # the trial in progress (`restore_trial`), None between trials
    arrays: dict[str, np.ndarray]


def as_json(value: Any) -> Any:
    """`value` as it reads back from JSON (a TOML date becomes its text), so configs compare equal."""
    return json.loads(json.dumps(value, default=str))


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _digest(document: dict[str, Any], blobs: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    rest = {k: v for k, v in document.items() if k != "sha256"}
    h.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    for name in sorted(blobs):
        h.update(name.encode("utf-8") + b"\0" + blobs[name])
    return h.hexdigest()


def _trial(st: TrialState) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    sched, sched_arrays = st.sched.state()
    arrays = {f"sched_{k}": v for k, v in sched_arrays.items()}
    if st.flat is not None:
        arrays["flat"] = st.flat.detach().cpu().numpy()
    arrays |= {f"snapshot_{v}": t.detach().cpu().numpy() for v, t in st.snapshots.items()}
    document = {
        "trial": st.trial,
        "scheduler": sched,
        "snapshots": sorted(st.snapshots),
        "rows": st.rows,
        "hours_to_target": st.hours_to_target,
        "metric_at_budget": st.metric_at_budget,
        "last_metric": st.last_metric,
        "last_loss": st.last_loss,
        "done": st.done,
    }
    return document, arrays


def save_checkpoint(
    out: Path, raw_config: dict[str, Any], finished: list[dict[str, Any]], rows: list[dict[str, Any]], st: TrialState | None
) -> None:
    """Atomic: a kill -9 leaves either the previous or the new checkpoint, never half of one."""
    trial, arrays = _trial(st) if st is not None else (None, {})
    blobs = {name: _npy(a) for name, a in arrays.items()}
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "raw_config": as_json(raw_config),
        "finished": finished,
        "rows": rows,
        "trial": trial,
        "arrays": sorted(blobs),
    }
    document["sha256"] = _digest(document, blobs)

    def write(f: IO[bytes]) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
            z.writestr(DOCUMENT, json.dumps(document))
            for name, blob in blobs.items():
                z.writestr(f"{name}.npy", blob)

    write_atomic(out / CHECKPOINT, write)


def _refuse(path: Path, problem: str) -> UserError:
    return UserError(f"{path}: {problem}. Rerun without --resume to start afresh (or pass another --out).")


def load_checkpoint(out: Path) -> Checkpoint | None:
    """The checkpoint in `out`, None if there is none; a damaged or foreign one is a UserError naming it."""
    path = out / CHECKPOINT
    if not path.is_file():
        if (out / LEGACY_CHECKPOINT).exists():  # refused by name: a pickle can run code when loaded
            raise _refuse(
                out / LEGACY_CHECKPOINT,
                "a checkpoint of an older flint-bench (pickle format), which is never loaded because a pickle can run code",
            )
        return None
    try:
        with zipfile.ZipFile(path) as z:
            document = json.loads(z.read(DOCUMENT).decode("utf-8"))
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise _refuse(path, "not a flint-bench simulator checkpoint")
            if document.get("version") != VERSION:
                raise _refuse(
                    path, f"checkpoint format version {document.get('version')!r}; this flint-bench reads version {VERSION}"
                )
            blobs = {name: z.read(f"{name}.npy") for name in document["arrays"]}
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, EOFError, OSError) as e:
        raise _refuse(path, f"not a readable checkpoint: truncated or damaged ({type(e).__name__}: {e})") from None
    if document.get("sha256") != _digest(document, blobs):
        raise _refuse(path, "checksum mismatch: the checkpoint was changed or damaged after it was written")
    try:
        arrays = {name: np.array(np.lib.format.read_array(io.BytesIO(b), allow_pickle=False)) for name, b in blobs.items()}
        ckpt = Checkpoint(document["raw_config"], document["finished"], document["rows"], document["trial"], arrays)
    except (KeyError, TypeError, ValueError) as e:
        raise _refuse(path, f"not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not (
        isinstance(ckpt.raw_config, dict)
        and isinstance(ckpt.finished, list)
        and isinstance(ckpt.rows, list)
        and isinstance(ckpt.trial, dict | None)
    ):
        raise _refuse(path, "not a readable checkpoint: its document has the wrong layout")
    return ckpt


def restore_trial(ckpt: Checkpoint, sched: Scheduler) -> TrialState:
    """The saved trial in progress, continuing on `sched`: a fresh scheduler of the same trial and config."""
    if ckpt.trial is None:
        raise ValueError("the checkpoint holds no trial in progress")
    saved, arrays = ckpt.trial, ckpt.arrays
    sched.restore(saved["scheduler"], {k.removeprefix("sched_"): a for k, a in arrays.items() if k.startswith("sched_")})
    st = TrialState(int(saved["trial"]), sched, rows=saved["rows"], done=bool(saved["done"]))
    st.hours_to_target, st.metric_at_budget = saved["hours_to_target"], saved["metric_at_budget"]
    st.last_metric, st.last_loss = saved["last_metric"], saved["last_loss"]
    if "flat" in arrays:
        import torch

        st.flat = torch.from_numpy(arrays["flat"])
        st.snapshots = {int(v): torch.from_numpy(arrays[f"snapshot_{v}"]) for v in saved["snapshots"]}
    return st
