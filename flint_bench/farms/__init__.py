"""Farm plug-ins behind one interface (base.Farm), found through a registry by the TOML's `kind`.

    with open_farm(load_farm_file("farm_configs/adb.toml")) as farm:
        records = farm.run_many(job, farm.devices())


Plug-ins are imported lazily: a farm whose optional package is missing reports how to install it
instead of failing with an ImportError (the pattern of Flower's backend registry).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import from_dict, read_toml
from ..core.errors import ConfigError, MissingDependency
from .base import Farm, RunSettings

# kind -> (module, class, pip extra that provides its optional dependency or None)
REGISTRY: dict[str, tuple[str, str, str | None]] = {
    "local": ("flint_bench.farms.local", "LocalFarm", None),
    "adb": ("flint_bench.farms.adb.farm", "AdbFarm", None),
    "appium": ("flint_bench.farms.appium.farm", "AppiumFarm", None),
    "aws-devicefarm": ("flint_bench.farms.aws.farm", "AwsDeviceFarm", "aws"),
}


def farm_class(kind: str) -> type[Farm]:
    module_name, class_name, extra = REGISTRY[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and not e.name.startswith("flint_bench"):
            raise MissingDependency(f"The '{kind}' farm", e.name.split(".")[0], extra) from None
        raise
    cls: type[Farm] = getattr(module, class_name)
    return cls


@dataclass
class FarmFile:
    """A farm config: kind, name, [run] defaults, and the kind's own table (e.g. [local], [adb])."""

    kind: str
    name: str
    description: str = ""
    run: RunSettings = field(default_factory=RunSettings)
    settings: object = None  # an instance of the kind's settings_class
    path: Path | None = None


def load_farm_file(path: str | Path) -> FarmFile:
    path = Path(path)
    data = read_toml(path)
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise ConfigError(str(path), "kind", f"must be one of {sorted(REGISTRY)}, got {kind!r}")
    table = kind.replace("-", "_")
    allowed = {"kind", "name", "description", "run", table}
    for key in data:
        if key not in allowed:
            raise ConfigError(str(path), key, f"unknown key; allowed keys for kind '{kind}' are {sorted(allowed)}")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(str(path), "name", "must be a non-empty string")
    run = from_dict(RunSettings, data.get("run", {}), path, prefix="run.")
    cls = farm_class(kind)
    settings: object = from_dict(cls.settings_class, data.get(table, {}), path, prefix=f"{table}.")
    return FarmFile(kind=kind, name=name, description=data.get("description", ""), run=run, settings=settings, path=path)


DEFAULT_FARM = Path("farm_configs/local.toml")


def farm_file_or_default(path: str | Path | None) -> FarmFile:
    """The farm file given, else farm_configs/local.toml of the current folder, else (outside a
    checkout) the built-in local farm: this machine as one device."""
    if path is None and not DEFAULT_FARM.is_file():
        from .local import LocalSettings

        return FarmFile(kind="local", name="local", settings=LocalSettings())
    return load_farm_file(path or DEFAULT_FARM)


def open_farm(farm_file: FarmFile) -> Farm:
    """The farm a farm file describes; use it as a context manager so it cleans up what it started."""
    return farm_class(farm_file.kind)(farm_file.name, farm_file.settings, farm_file.path)
