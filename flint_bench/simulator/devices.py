"""Which measured profile each proxy client uses: its trace device's model, through the coverage
mapping of `flint_bench.coverage` (exact model name, then `population.device_mapping`, then
attributes -> the nearest measured device of the same platform and tier).

A client whose device maps to no measured device, or that has no trace device, keeps the fallback:
its class is drawn from the measured devices by their share, as without a trace. Those clients are
counted, and a population that matches no measured device at all is a warning (`--strict`: exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from .population import ComputeClasses
from .trace import ClientTrace, Trace

FALLBACK = "a class drawn from the measured devices by their share"


@dataclass
class ProfileAssignment:
    """Per client its class (-1: the fallback), and the figures for the summary."""

    client_class: np.ndarray | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def assign_profiles(
    classes: ComputeClasses, trace: Trace | None, clients: ClientTrace | None, mapping_path: str | None, file: str
) -> ProfileAssignment:
    """Map the trace's device models to the measured profiles; nothing to map without both."""
    if classes.profiles is None or classes.device_models is None or trace is None or clients is None:
        return ProfileAssignment()
    if trace.sessions is None or trace.models is None:
        return ProfileAssignment(figures={"profiles_by": "share (the trace has no device_model column)"})
    if trace.platforms is None:
        raise ConfigError(
            file,
            "population.availability.trace",
            "has device_model but no platform column: mapping device models to the measured profiles needs both "
            "(`flint-bench eligibility --traces-out` writes them)",
        )
    from ..coverage import load_mapping, map_devices, normalise_platform

    mapping = None
    if mapping_path:
        if not Path(mapping_path).is_file():
            raise ConfigError(file, "population.device_mapping", f"file {mapping_path} not found")
        mapping = load_mapping(mapping_path)
    devices = map_devices(trace.sessions, classes.profiles, mapping)
    first_class: dict[str, int] = {}
    for i, name in enumerate(classes.device_models):
        first_class.setdefault(name, i)
    by_key: dict[tuple[str, str], int] = {}
    for key in set(zip(trace.models, trace.platforms, strict=True)):
        measured = devices.measured_for(key[0], normalise_platform(key[1]))
        by_key[key] = first_class.get(measured, -1) if measured is not None else -1
    device_class = np.array([by_key[k] for k in zip(trace.models, trace.platforms, strict=True)], dtype=np.int64)
    has_device = clients.client_device >= 0
    client_class = np.where(has_device, device_class[np.where(has_device, clients.client_device, 0)], -1)
    coverage = devices.coverage()
    with_profile = int((client_class >= 0).sum())
    figures = {
        "profiles_by": "coverage mapping",
        "coverage": coverage.as_dict(),
        "clients_with_measured_profile": with_profile,
        "clients_on_fallback": len(client_class) - with_profile,
        "fallback": FALLBACK,
    }
    warning = coverage.warning()
    warnings = (
        [f"simulator population: {warning} (here: population.device_mapping); every client gets {FALLBACK}"] if warning else []
    )
    return ProfileAssignment(client_class, figures, warnings)
