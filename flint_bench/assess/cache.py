"""Stages cached by a hash of their inputs, like make.

Each stage has a folder `DIR/stages/<name>/` with its outputs and `stage.json`: the key (a hash of
the stage's config values, the content hashes of its input files, the keys of the stages it reads
and the tool version), when it finished, how long it took, and the stage's result document. A stage
whose key matches its `stage.json` is not run again; any change upstream changes the keys downstream.
A failing stage removes its `stage.json` (its outputs may be half-made) and stops the pipeline; the
stages before it keep theirs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.errors import UserError
from ..core.fileio import read_json, write_json_atomic

STAGE_FILE = "stage.json"
# a stage's cache-key parts, and the function that computes it into its folder
Stage = tuple[dict[str, Any], Callable[[Path], dict[str, Any]]]
# bump when what a stage writes changes, so caches of an older layout are not reused
LAYOUT = 1


def file_hash(path: Path) -> str:
    """sha256 of a file's content, or of every file under a folder (names and contents)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(str(p.relative_to(path)).encode() + b"\0")
            h.update(file_hash(p).encode())
        return h.hexdigest()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as e:
        raise UserError(f"{path}: cannot be read ({e.strerror or e}).") from None
    return h.hexdigest()


def key_of(parts: dict[str, Any]) -> str:
    text = json.dumps({"tool": __version__, "layout": LAYOUT, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class StageResult:
    name: str
    key: str
    folder: Path
    doc: dict[str, Any]  # the stage's result document
    cached: bool
    seconds: float
    finished: str


class StageFailed(UserError):
    """A stage's user error, with the stage named; the exit code stays 2."""


class Pipeline:
    def __init__(self, out: Path, force: bool = False, say: Callable[[str], None] = lambda text: None):
        self.root, self.force, self.say = out / "stages", force, say
        self.results: dict[str, StageResult] = {}

    def run(self, name: str, make: Callable[[], Stage]) -> StageResult:
        """Run stage `name` unless its folder holds a result for the same key. `make()` gives the
        key parts and `compute(folder)`, which writes the outputs into the folder and returns the
        stage's result document. An error of either names the stage."""
        folder = self.root / name
        try:
            parts, compute = make()
        except UserError as e:
            raise self._failed(name, e) from None
        key = key_of({"stage": name, **parts})
        marker = folder / STAGE_FILE
        saved = _saved(marker)
        if saved is not None and saved.get("key") == key and not self.force:
            result = StageResult(name, key, folder, saved["result"], True, float(saved["seconds"]), str(saved["finished"]))
            self.say(f"{name:<12} cached      (key {key[:8]}, ran {result.finished})")
            self.results[name] = result
            return result
        if folder.exists():
            shutil.rmtree(folder)  # a stale output must never pass for this key's
        folder.mkdir(parents=True)
        t0 = time.perf_counter()
        try:
            doc = compute(folder)
        except UserError as e:
            raise self._failed(name, e) from None
        seconds = time.perf_counter() - t0
        finished = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        write_json_atomic(marker, {"stage": name, "key": key, "finished": finished, "seconds": seconds, "result": doc})
        self.say(f"{name:<12} {seconds:7.1f} s   (key {key[:8]})")
        result = StageResult(name, key, folder, doc, False, seconds, finished)
        self.results[name] = result
        return result

    def _failed(self, name: str, error: UserError) -> StageFailed:
        kept = f"the outputs of the stages before it are kept in {self.root}" if self.results else "no stage had run"
        return StageFailed(f"stage '{name}' failed: {error} ({kept}; no later stage ran.)")

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"stage": r.name, "key": r.key, "cached": r.cached, "seconds": round(r.seconds, 3), "finished": r.finished}
            for r in self.results.values()
        ]


def _saved(marker: Path) -> dict[str, Any] | None:
    """The stage.json of an earlier run; an unreadable one is no cache (the stage runs again)."""
    if not marker.is_file():
        return None
    try:
        doc = read_json(marker, "stage marker")
    except UserError:
        return None
    ok = isinstance(doc, dict) and isinstance(doc.get("result"), dict) and {"key", "seconds", "finished"} <= set(doc)
    return doc if ok else None
