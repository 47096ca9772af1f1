"""What every Android farm (adb, AWS Device Farm) checks of the benchmark app's names.

The package and activity reach device shells and the rendered test spec, so they are held to Java
names: letters, digits and underscores between dots, nothing a shell would read.
"""

from __future__ import annotations

import re

from ..core.errors import ConfigError

JAVA_PACKAGE = re.compile(r"[A-Za-z]\w*(\.[A-Za-z]\w*)+")
ACTIVITY = re.compile(r"\.?[A-Za-z]\w*(\.[A-Za-z]\w*)*")


def check_app_names(file: str, prefix: str, package: str, activity: str) -> None:
    if not JAVA_PACKAGE.fullmatch(package):
        raise ConfigError(file, prefix + "package", f"not a Java package name: {package!r}")
    if not ACTIVITY.fullmatch(activity):
        raise ConfigError(file, prefix + "activity", f"not an activity class name (e.g. '.BenchmarkActivity'): {activity!r}")
