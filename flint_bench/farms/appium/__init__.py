"""The Appium farm: BrowserStack, Sauce Labs or any Appium hub (see farm.py).

settings (the [appium] table, provider presets), provider (credentials, REST API), selection
(which devices), session (capabilities, conditions, the result), sampling (CPU % and PSS), farm
(one benchmark), doctor (setup checks).
"""

from .farm import AppiumFarm
from .settings import AppiumDevice, AppiumSettings, Selection

__all__ = ["AppiumDevice", "AppiumFarm", "AppiumSettings", "Selection"]
