"""Device coverage: which measured device stands for each device model of a session log, how much
of the user base the measurements cover, and which farm devices to book to cover the most.

    mapping = map_devices(sessions, read_profiles("profiles.parquet"), load_mapping("map.csv"))
    mapping.table            # one row per user device model: measured_device, match, reason
    mapping.coverage().as_dict()
    pick_devices(sessions, farm.devices(), count=5)
"""

from .attributes import Attributes, distance
from .figures import CoverageSummary
from .mapfile import MappingFile, MapRule, load_mapping
from .mapping import ATTRIBUTE_COLUMNS, MATCHES, DeviceMapping, Match, map_devices
from .names import normalise_model, normalise_platform
from .pick import PickStep, pick_devices

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "MATCHES",
    "Attributes",
    "CoverageSummary",
    "DeviceMapping",
    "MapRule",
    "MappingFile",
    "Match",
    "PickStep",
    "distance",
    "load_mapping",
    "map_devices",
    "normalise_model",
    "normalise_platform",
    "pick_devices",
]
