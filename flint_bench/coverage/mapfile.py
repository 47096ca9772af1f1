"""The explicit mapping file: user device models (or glob patterns) -> the measured device that
stands for them. CSV with a header `pattern,measured_device`, or TOML with
`[[map]] pattern = "Samsung Galaxy A*"  measured = "Galaxy A52"`. Patterns are matched against
normalised model names (names.normalise_model), first row that matches wins."""

from __future__ import annotations

import csv
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from ..core.config import read_toml
from ..core.errors import ConfigError, UserError
from .names import normalise_model, normalise_pattern


@dataclass(frozen=True)
class MapRule:
    pattern: str  # as written
    measured: str  # a measured device (profile device_model) as written
    where: str  # 'row 3' (CSV, counting the header as row 1) or 'map[2]' (TOML): for messages

    def matches(self, normalised_model: str) -> bool:
        return fnmatch.fnmatchcase(normalised_model, normalise_pattern(self.pattern))


@dataclass(frozen=True)
class MappingFile:
    path: str
    rules: tuple[MapRule, ...]

    def first_match(self, device_model: str) -> MapRule | None:
        name = normalise_model(device_model)
        return next((r for r in self.rules if r.matches(name)), None)


def load_mapping(path: str | Path) -> MappingFile:
    """Read a mapping file (.csv or .toml); a missing file, a missing column or key, or an empty
    pattern or device is a user error naming the file and the row or key."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: device mapping file not found (a CSV `pattern,measured_device` or a TOML with [[map]] tables).")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return MappingFile(str(path), tuple(_csv_rules(path)))
    if suffix == ".toml":
        return MappingFile(str(path), tuple(_toml_rules(path)))
    raise UserError(f"{path}: unknown device mapping format '{suffix}'; expected a .csv or a .toml file.")


def _csv_rules(path: Path) -> list[MapRule]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise UserError(f"{path}: not a readable UTF-8 CSV file ({e}).") from None
    header = [h.strip() for h in rows[0]] if rows else []
    if "pattern" not in header or "measured_device" not in header:
        raise UserError(f"{path}: row 1: expected a header with the columns 'pattern' and 'measured_device', found {header}.")
    ip, im = header.index("pattern"), header.index("measured_device")
    rules = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        cells = [row[i].strip() if i < len(row) else "" for i in (ip, im)]
        for column, cell in zip(("pattern", "measured_device"), cells, strict=True):
            if not cell:
                raise UserError(f"{path}: row {n}: column '{column}' is empty; every row maps a pattern to a measured device.")
        rules.append(MapRule(cells[0], cells[1], f"row {n}"))
    return rules


def _toml_rules(path: Path) -> list[MapRule]:
    data = read_toml(path)
    unknown = sorted(set(data) - {"map"})
    if unknown:
        raise ConfigError(str(path), unknown[0], "unknown key; a mapping file holds [[map]] tables only")
    entries = data.get("map", [])
    if not isinstance(entries, list):
        raise ConfigError(str(path), "map", 'expected [[map]] tables with pattern = "..." and measured = "..."')
    rules = []
    for i, entry in enumerate(entries):
        key = f"map[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(str(path), key, "expected a table with pattern and measured")
        extra = sorted(set(entry) - {"pattern", "measured"})
        if extra:
            raise ConfigError(str(path), f"{key}.{extra[0]}", "unknown key; expected pattern and measured")
        for field in ("pattern", "measured"):
            value = entry.get(field)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(str(path), f"{key}.{field}", f"expected a non-empty string, got {value!r}")
        rules.append(MapRule(entry["pattern"].strip(), entry["measured"].strip(), key))
    return rules
