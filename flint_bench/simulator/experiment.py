"""All trials of one config: run them (resuming from a checkpoint), summarise them, and with an
output folder write config.json, proxy_metadata.json, metrics.parquet and summary.json there.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.config import read_toml
from ..core.errors import ConfigError, UserError
from ..core.fileio import read_json
from .backends import Backend, create_backend
from .callbacks import Checkpointing, Stopping, StopRequest, TargetStopping, TrialCallback
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
    *,
    executors: int | None = None,
    checkpoint_every_s: float | None = None,
    ray_address: str | None = None,
    callbacks: Sequence[TrialCallback] = (),
) -> SimulationResult:
    """Parse and check a raw config, then `run` it. `executors` and `checkpoint_every_s` override the config's
    without changing the raw config a --resume compares against."""
    cfg = parse(raw, file)
    if executors is not None:
        cfg.sim.executors = executors
    if checkpoint_every_s is not None:
        cfg.sim.checkpoint_every_s = checkpoint_every_s
    check_model_available(cfg)
    return run(cfg, raw, out, backend, resume, progress, ray_address=ray_address, callbacks=callbacks)


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Ctrl-C / SIGTERM request a stop at the next aggregation boundary; a second Ctrl-C stops at once."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.requested = True

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


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
            size = setup.model.trainable_params
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
    *,
    ray_address: str | None = None,
    callbacks: Sequence[TrialCallback] = (),
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
    s = cfg.sim
    checkpointing = Checkpointing(out, raw, finished, rows, s.checkpoint_every, s.checkpoint_every_s) if out is not None else None
    hooks: list[TrialCallback] = [TargetStopping(s.target_metric)] if s.target_metric is not None else []
    if checkpointing is not None:
        hooks.append(checkpointing)  # after the target check: a stopped trial is not checkpointed
    be: Backend | None = create_backend(backend, training_data(setup, ray_address)) if s.train else None
    be = apply_privacy(setup, be)  # [privacy]: SecAgg costs into the tasks, DP clipping and noise around the backend
    try:
        with stop_on_signals() as stop:
            hooks += [*callbacks, Stopping(stop, checkpointing)]
            for trial in range(len(finished), s.trials):
                resumed = ckpt is not None and ckpt.trial is not None and ckpt.trial.get("trial") == trial
                st = _resumed_trial(ckpt, setup, trial, out) if resumed and ckpt and out else new_trial(setup, trial)
                ckpt = None
                say(
                    f"trial {trial + 1}/{s.trials}: {s.mode}"
                    + (f", resumed at aggregation {st.sched.c.aggregations}" if st.rows else "")
                )
                for hook in hooks:
                    hook.start_trial(st)
                run_trial(setup, st, be, hooks)
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
