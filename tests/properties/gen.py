"""Generators for the property tests: TOML documents built from the real config dataclasses, and
valid result records to mutate. Imported by the tests as `properties.gen` (tests/ is on sys.path)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import types
import typing
from collections import Counter
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Interval, Le, Lt
from hypothesis import strategies as st

from flint_bench.core.contract import blank_record
from flint_bench.core.stats import summarize

# Examples run per property test (the session-finish hook in conftest.py prints the total).
EXAMPLES: Counter[str] = Counter()

NON_FINITE = [math.nan, math.inf, -math.inf]
HUGE_INTS = [2**63 - 1, -(2**63), 2**64, 10**30]
BAD = object()  # a leaf the generator fills with a wrong-typed, non-finite or huge value


# -- TOML text -------------------------------------------------------------------------------------


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a TOML basic string
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML for {v!r}")


def toml_dumps(doc: dict[str, Any]) -> str:
    """One `key = value` line per top-level key; tables inline (valid TOML, and round-trips)."""
    return "".join(f"{json.dumps(str(k))} = {toml_value(v)}\n" for k, v in doc.items())


# -- what a config field accepts -------------------------------------------------------------------


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    markers: list[Any] = []
    while typing.get_origin(tp) is Annotated:
        tp, *ms = typing.get_args(tp)
        markers += ms
    return tp, markers


def _bounds(markers: list[Any]) -> tuple[float | None, float | None, bool, bool]:
    """(low, high, low strict, high strict) of annotated_types markers."""
    lo = hi = None
    lo_strict = hi_strict = False
    for m in markers:
        parts = list(m) if isinstance(m, Interval) else [m]
        for p in parts:
            if isinstance(p, Ge):
                lo, lo_strict = float(p.ge), False  # type: ignore[arg-type]
            elif isinstance(p, Gt):
                lo, lo_strict = float(p.gt), True  # type: ignore[arg-type]
            elif isinstance(p, Le):
                hi, hi_strict = float(p.le), False  # type: ignore[arg-type]
            elif isinstance(p, Lt):
                hi, hi_strict = float(p.lt), True  # type: ignore[arg-type]
    return lo, hi, lo_strict, hi_strict


def is_numeric(tp: Any) -> bool:
    """An int or float field (possibly optional): NaN and infinity must be rejected there."""
    tp, _ = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(is_numeric(a) for a in typing.get_args(tp) if a is not type(None))
    return tp in (int, float)


def valid_value(tp: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values the annotation accepts, boundaries included (cross-field checks may still refuse them)."""
    tp, markers = _unwrap(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[valid_value(a, depth) for a in typing.get_args(tp) if a is not type(None)])
    if origin is Literal:
        return st.sampled_from(typing.get_args(tp))
    if origin in (list, tuple):
        (item,) = typing.get_args(tp)[:1] or (Any,)
        return st.lists(valid_value(item, depth + 1), min_size=1, max_size=2)
    if origin is dict:
        _, val = typing.get_args(tp)
        return st.dictionaries(st.sampled_from(["a", "b"]), valid_value(val, depth + 1), min_size=1, max_size=2)
    if dataclasses.is_dataclass(tp):
        return table(tp, depth + 1, bad=False) if depth < 4 else st.just({})
    if tp is bool:
        return st.booleans()
    if tp in (int, float):
        lo, hi, lo_strict, hi_strict = _bounds(markers)
        if tp is int:
            a = int(lo) + (1 if lo_strict else 0) if lo is not None else -(2**31)
            b = int(hi) - (1 if hi_strict else 0) if hi is not None else 2**31
            return st.sampled_from([a, b]) | st.integers(a, b)
        floats = st.floats(lo, hi, exclude_min=lo_strict, exclude_max=hi_strict, allow_nan=False, allow_infinity=False)
        return (
            st.sampled_from(
                [x for x in (lo, hi) if x is not None and not (x == lo and lo_strict) and not (x == hi and hi_strict)] or [1.0]
            )
            | floats
        )
    if tp is str:
        return st.sampled_from(["", "x", "10", "15.4", "Android", "model"]) | st.text(max_size=8)
    if tp is dt.date:
        return st.dates()
    return st.sampled_from([1, "x", True, 1.5])


def bad_value(tp: Any) -> st.SearchStrategy[Any]:
    """Values no field should take silently: wrong types, NaN, infinities, huge ints, tables."""
    return st.sampled_from([*NON_FINITE, *HUGE_INTS, -1, 0, "nan", "", True, [], {"x": 1}, 1.5, -1e308, 1e308])


def table(cls: type, depth: int = 0, bad: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """A TOML table for dataclass `cls`: each field absent, valid or (when `bad`) hostile, and
    sometimes an unknown key."""
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = [f for f in dataclasses.fields(cls) if f.init]

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for f in fields:
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            choice = draw(st.sampled_from(["absent", "valid", "valid", "bad"] if bad else ["absent", "valid"]))
            if choice == "absent" and not required:
                continue
            if choice == "bad":
                doc[f.name] = draw(bad_value(hints[f.name]))
            else:
                doc[f.name] = draw(valid_value(hints[f.name], depth))
        if bad and draw(st.integers(0, 9)) == 0:
            doc["no_such_key"] = 1
        return doc

    return build()


def numeric_paths(cls: type, doc: dict[str, Any], prefix: str = "") -> list[tuple[list[Any], str]]:
    """(path in `doc`, dotted key) of every numeric field of `cls` reachable in `doc`: its own
    fields (present or not), nested tables present in `doc` or optional, list items present."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out: list[tuple[list[Any], str]] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp, _ = _unwrap(hints[f.name])
        key = prefix + f.name
        if is_numeric(tp):
            out.append(([f.name], key))
        elif dataclasses.is_dataclass(tp) and isinstance(doc.get(f.name, {}), dict):
            out += [([f.name, *p], k) for p, k in numeric_paths(tp, doc.get(f.name, {}), key + ".")]  # type: ignore[arg-type]
        elif typing.get_origin(tp) in (list, dict) and isinstance(doc.get(f.name), (list, dict)):
            item, _ = _unwrap(typing.get_args(tp)[-1])
            if dataclasses.is_dataclass(item):
                items = enumerate(doc[f.name]) if isinstance(doc[f.name], list) else doc[f.name].items()
                for i, sub in items:
                    sub_key = f"{key}[{i}]." if isinstance(i, int) else f"{key}.{i}."
                    out += [([f.name, i, *p], k) for p, k in numeric_paths(item, sub, sub_key)]  # type: ignore[arg-type]
    return out


def set_path(doc: dict[str, Any], path: list[Any], value: Any) -> None:
    node: Any = doc
    for p in path[:-1]:
        if isinstance(node, dict) and p not in node:
            node[p] = {}
        node = node[p]
    node[path[-1]] = value


# -- result records --------------------------------------------------------------------------------


def valid_record(model: str = "A", device: str = "d1", per_example_s: float = 1e-3, steps: int = 4) -> dict[str, Any]:
    """A contract-valid ok result record (blank_record filled in as a farm would)."""
    r: dict[str, Any] = dict(
        blank_record(
            "run-1",
            {
                "name": model,
                "format": "pte",
                "artifact_sha256": "ab" * 32,
                "trainable_params": 100,
                "total_params": 200,
                "storage_bytes": 500_000,
                "update_bytes": 400,
                "task": "binary",
            },
            {
                "id": device,
                "farm": "adb",
                "manufacturer": "Google",
                "model": "Pixel 8",
                "soc": "Tensor",
                "os": "Android",
                "os_version": "14",
                "abi": "arm64-v8a",
                "cores": 8,
                "memory_mb": 8000.0,
                "emulator": False,
            },
            {"examples": 64, "batch_size": 16, "epochs": 1, "warmup_steps": 1, "repeats": 2, "seed": 0},
        )
    )
    r["status"] = "ok"
    t = r["timing"]
    t["step_examples"] = [[16] * steps, [16] * steps]
    t["step_seconds"] = [[per_example_s * 16 * (1 + 0.01 * i) for i in range(steps)] for _ in range(2)]
    t["per_example_seconds"] = summarize([s / 16 for rep in t["step_seconds"] for s in rep])
    t["seconds_per_5000"] = {"mean": per_example_s * 5000, "std": 0.0, "values": [per_example_s * 5000] * 2}
    r["cpu"] = {"mean_percent": 40.0, "max_percent": 90.0, "samples": 10, "method": "psutil"}
    r["memory"] = {"peak_mb": 100.0, "baseline_mb": 92.0, "peak_delta_mb": 8.0, "method": "rss"}
    return r


def minimal(cls: type) -> dict[str, Any]:
    """The smallest table `cls` accepts field by field: its required fields only, simple values."""
    hints = typing.get_type_hints(cls, include_extras=True)
    doc: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            tp, markers = _unwrap(hints[f.name])
            if typing.get_origin(tp) is Literal:
                doc[f.name] = typing.get_args(tp)[0]
            elif dataclasses.is_dataclass(tp):
                doc[f.name] = minimal(tp)  # type: ignore[arg-type]
            elif tp in (int, float):
                lo = _bounds(markers)[0]
                doc[f.name] = tp(lo + 1 if lo is not None else 1)
            else:
                doc[f.name] = "x"
    return doc
