"""`flint-bench gate bench`: measure base and head in one command, interleaved, then gate them.

Two result folders measured minutes apart on a shared runner compare the machine, not the code:
another process holding a core during one side made identical code read x4.47 slower. Here both
sides are exported first, then their repeats alternate on the local farm (base, head, head, base,
base, head, ...: ABBA order, so a slow drift of the machine weighs on both sides alike), each
repeat a fresh worker, single-threaded by default (its speed does not depend on how many cores
happen to be free, as a 2-thread worker's does: x4 with one of two cores taken). The records land in `<out>/base/round-N` and `<out>/head/round-N`; the
gate pools the rounds (checks.pool_rounds) and applies its usual verdicts, machine conditions
included.

A side is a folder of model files (a checkout, whose `models/` is used, or the folder itself), or
a git ref of the current repository, whose `models/` is extracted with `git archive`.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError
from ..core.records import Record
from ..core.results import load_records
from ..zoo import ModelDef, load_model, short_name

SIDES = ("base", "head")
GIT_TIMEOUT_S = 60


@dataclass(frozen=True)
class BenchPlan:
    """How the two sides are measured: `rounds` repeats per side, alternating."""

    rounds: int = 6
    examples: int = 500
    warmup_steps: int = 3
    threads: int | None = 1  # None: ExecuTorch's default, one thread per core

    def order(self) -> list[tuple[int, str]]:
        """(round, side) in ABBA order: base head, head base, base head, ..."""
        return [(r, side) for r in range(self.rounds) for side in (SIDES if r % 2 == 0 else SIDES[::-1])]


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"git {' '.join(args)} in {cwd} failed: {e}") from None


def models_folder(ref: str, label: str, work: Path, repo: Path) -> Path:
    """The folder of model files of one side: `ref` as a folder (its `models/` when it has one), else
    a git ref of `repo` whose `models/` is extracted into `work/label`."""
    path = Path(ref)
    if path.is_dir():
        return path / "models" if (path / "models").is_dir() else path
    commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    if commit.returncode != 0:
        raise UserError(
            f"--{label} {ref!r}: neither a folder nor a git ref of {repo}. Pass a checkout's folder, a models folder, "
            "or a ref such as origin/main or HEAD."
        )
    archive = _git(["archive", "--format=tar", commit.stdout.decode().strip(), "models"], repo)
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip()
        raise UserError(f"--{label} {ref!r}: `git archive {ref} models` failed: {message}")
    target = work / label
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")  # "data": no paths outside target, no links out, no devices
    return target / "models"


def side_model(folder: Path, name: str, label: str) -> ModelDef:
    """Model `name` (a zoo name such as B, or a file stem) from one side's folder."""
    files = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    key = name.lower()
    for f in files:
        if f.stem.lower() == key or short_name(f.stem).lower() == key:
            return load_model(f"{f}:build")
    known = ", ".join(short_name(f.stem) for f in files) or "none"
    raise UserError(f"--{label}: no model {name!r} in {folder} (models there: {known}).")


def measure_interleaved(
    models: dict[str, list[ModelDef]],
    plan: BenchPlan,
    out: Path,
    *,
    before: Callable[[int, str], None] = lambda rnd, side: None,
    after: Callable[[int, str], None] = lambda rnd, side: None,
    on_note: Callable[[str], None] = lambda text: None,
) -> dict[str, list[Record]]:
    """Run `models[side]` on one local-farm device round by round in ABBA order, one repeat per
    round, into `out/<side>/round-<n>`; the records of each side. `before`/`after` frame each
    round (the accuracy benchmark starts and stops its CPU hog there)."""
    from ..farms import FarmFile, open_farm
    from ..farms.base import RunSettings
    from ..farms.local import DeviceClass, LocalSettings
    from ..runner import run_benchmarks

    device = DeviceClass("gate", threads=plan.threads)
    settings = RunSettings(examples=plan.examples, repeats=1, warmup_steps=plan.warmup_steps)
    with open_farm(FarmFile(kind="local", name="gate-bench", settings=LocalSettings(devices=[device]))) as farm:
        devices = farm.devices()
        for rnd, side in plan.order():
            before(rnd, side)
            try:
                outcome = run_benchmarks(farm, models[side], settings, out / side / f"round-{rnd}", devices=devices)
            finally:
                after(rnd, side)
            on_note(f"round {rnd} {side}: " + ", ".join(f"{r['model']['name']} {r['status']}" for r in outcome.records))
    return {side: load_records(out / side) for side in SIDES}
