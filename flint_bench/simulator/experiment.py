"""All trials of one config: run them (resuming from a checkpoint), summarise them, and with an
output folder write config.json, proxy_metadata.json, metrics.parquet and summary.json there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.config import read_toml
from ..core.errors import ConfigError, UserError
from ..core.fileio import read_json
from .backends import Backend, create_backend
from .callbacks import Checkpointing, TargetStopping, TrialCallback
from .checkpoint import CHECKPOINT, Checkpoint, as_json, load_checkpoint, restore_trial
from .config import SimConfig, parse, with_overrides
from .outputs import write_json, write_parquet
from .privacy.run import apply_privacy
from .simulation import Setup, make_scheduler, new_trial, prepare, run_trial, training_data
from .state import TrialState
from .summary import summarize, trial_summary

if TYPE_CHECKING:
    from ..zoo import ModelDef

Progress = Callable[[str], None]


@dataclass
class SimulationResult:
    summary: dict[str, Any]  # what summary.json holds
    rows: list[dict[str, Any]]  # what metrics.parquet holds: one row per evaluation, every trial


def raw_config(config: Path | None, resume: Path | None = None, trials: int | None = None) -> tuple[dict[str, Any], str]:
    """The raw config table and the file it came from: `config`, else the config.json saved in the `resume` folder."""
    if resume is not None and config is None:
        saved = resume / "config.json"
        if not saved.is_file():
            raise UserError(f"--resume {resume}: no config.json there; pass --config with the original config.")
        raw, file = read_json(saved), str(saved)
    elif config is None:
        raise UserError("simulate needs --config path/to/sim.toml (examples: configs/sim-fedavg.toml, configs/sim-fedbuff.toml).")
    else:
        raw, file = read_toml(config), str(config)
    if trials is not None:
        raw = with_overrides(raw, {"sim.trials": trials})
    return raw, file


def check_model_available(cfg: SimConfig) -> None:
    """Fail early (exit 2) on a model the zoo does not know, naming the key."""
    from ..zoo import load_model

    try:
        load_model(cfg.sim.model)
    except UserError as e:
        raise ConfigError(cfg.file, "sim.model", str(e)) from None


def simulate(
    raw: dict[str, Any],
    file: str,
    out: Path | None = None,
    backend: str = "local",
    resume: bool = False,
    progress: Progress | None = None,
) -> SimulationResult:
    """Parse and check a raw config, then `run` it."""
    cfg = parse(raw, file)
    check_model_available(cfg)
    return run(cfg, raw, out, backend, resume, progress)


def _resume_checkpoint(out: Path, raw: dict[str, Any]) -> Checkpoint:
    ckpt = load_checkpoint(out)
    if ckpt is None:
        raise UserError(f"--resume {out}: no {CHECKPOINT} there. Run without --resume to start afresh.")
    if ckpt.raw_config != as_json(raw):
        raise UserError(
            f"--resume {out}: the checkpoint was written with a different config. Pass the same --config (or none) or another --out."
        )
    return ckpt


def _resumed_trial(ckpt: Checkpoint, setup: Setup, trial: int, out: Path) -> TrialState:
    """The checkpoint's trial in progress on a fresh scheduler of the same config."""
    try:
        st = restore_trial(ckpt, make_scheduler(setup, trial))
        if setup.cfg.sim.train:
            size = sum(p.numel() for p in setup.model.net.parameters() if p.requires_grad)
            models = [st.flat, *st.snapshots.values()]
            if any(m is None or tuple(m.shape) != (size,) for m in models):
                raise ValueError(f"the saved model is not {setup.model.name}'s {size} parameters")
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise UserError(
            f"{out / CHECKPOINT}: does not fit this config ({type(e).__name__}: {e}). Rerun without --resume to start afresh."
        ) from None
    return st


def run(
    cfg: SimConfig,
    raw: dict[str, Any],
    out: Path | None = None,
    backend: str = "local",
    resume: bool = False,
    progress: Progress | None = None,
    model: ModelDef | None = None,
) -> SimulationResult:
    """All trials of one config; with `out`, checkpoints and writes summary.json + metrics.parquet there."""
    t0 = time.perf_counter()
    say = progress or (lambda msg: None)
    ckpt: Checkpoint | None = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if resume:
            ckpt = _resume_checkpoint(out, raw)
        write_json(out / "config.json", raw)
    setup = prepare(cfg, model)
    if out is not None and setup.proxy is not None:
        write_json(out / "proxy_metadata.json", setup.proxy.metadata)
    finished: list[dict[str, Any]] = ckpt.finished if ckpt else []
    rows: list[dict[str, Any]] = ckpt.rows if ckpt else []
    checkpointing = Checkpointing(out, raw, finished, rows, cfg.sim.checkpoint_every) if out is not None else None
    callbacks: list[TrialCallback] = [TargetStopping(cfg.sim.target_metric)] if cfg.sim.target_metric is not None else []
    if checkpointing is not None:
        callbacks.append(checkpointing)  # after the target check: a stopped trial is not checkpointed
    be: Backend | None = create_backend(backend, training_data(setup)) if cfg.sim.train else None
    be = apply_privacy(setup, be)  # [privacy]: SecAgg costs into the tasks, DP clipping and noise around the backend
    try:
        for trial in range(len(finished), cfg.sim.trials):
            if ckpt and out is not None and ckpt.trial is not None and ckpt.trial.get("trial") == trial:
                st = _resumed_trial(ckpt, setup, trial, out)
            else:
                st = new_trial(setup, trial)
            ckpt = None
            say(
                f"trial {trial + 1}/{cfg.sim.trials}: {cfg.sim.mode}"
                + (f", resumed at aggregation {st.sched.c.aggregations}" if st.rows else "")
            )
            run_trial(setup, st, be, callbacks)
            finished.append(trial_summary(setup, st))
            rows.extend(st.rows)
            if checkpointing is not None:
                checkpointing.save(None)
    finally:
        if be is not None:
            be.close()
    summary = summarize(setup, finished, backend, time.perf_counter() - t0)
    if out is not None:
        write_parquet(out / "metrics.parquet", rows)
        write_json(out / "summary.json", summary)
    return SimulationResult(summary, rows)
