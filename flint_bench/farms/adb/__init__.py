"""The `adb` farm: Android phones and emulators through the adb server (see farm.py).

settings (the [adb] table), parsers (Android command output), selection (which devices),
connection (the adb server, device descriptions, app install), conditions (battery, thermal),
sampling (CPU % and PSS of the app), farm (one benchmark), doctor (setup checks), emulators (AVDs).
"""

from .farm import AdbFarm
from .settings import AdbSettings, EmulatorSettings

__all__ = ["AdbFarm", "AdbSettings", "EmulatorSettings"]
