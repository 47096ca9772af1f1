"""The [appium] table of a farm config: provider, app, devices or selection filters, timeouts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ...core.config import Annotated, Interval, PositiveInt
from ...core.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    hub_url: str
    api_url: str | None  # REST API for app upload and device listing; None: the hub has none
    options_key: str | None  # vendor capability holding provider options
    username_env: str | None
    access_key_env: str | None


PRESETS: dict[str, Preset] = {
    "browserstack": Preset(
        "https://hub-cloud.browserstack.com/wd/hub",
        "https://api-cloud.browserstack.com",
        "bstack:options",
        "BROWSERSTACK_USERNAME",
        "BROWSERSTACK_ACCESS_KEY",
    ),
    "saucelabs": Preset(
        "https://ondemand.us-west-1.saucelabs.com/wd/hub",
        "https://api.us-west-1.saucelabs.com",
        "sauce:options",
        "SAUCE_USERNAME",
        "SAUCE_ACCESS_KEY",
    ),
    "generic": Preset("http://127.0.0.1:4723", None, None, None, None),
}

# Where the benchmark app reads spec.json and writes result.json. Android: the app's external files
# folder (getExternalFilesDir, writable by pushFile without root); iOS: the app container's
# Documents (XCUITest's `@<bundleId>:documents/` path; the app sets UIFileSharingEnabled).
REMOTE_DIRS = {"android": "/sdcard/Android/data/{app_id}/files", "ios": "@{app_id}:documents"}
AUTOMATION = {"android": "UiAutomator2", "ios": "XCUITest"}
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class AppiumDevice:
    """A device requested by name; attributes the hub cannot report may be given here for the results."""

    name: str
    platform_version: str | None = None
    udid: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    soc: str | None = None
    abi: str | None = None
    cores: int | None = None
    memory_mb: float | None = None
    capabilities: dict[str, Any] = field(default_factory=dict)


@dataclass
class Selection:
    """Filters over the provider's device list (used when no [[appium.devices]] are listed)."""

    os_version_min: str | None = None
    os_version_max: str | None = None
    manufacturers: list[str] = field(default_factory=list)
    name_contains: str | None = None
    max_devices: PositiveInt | None = None


@dataclass
class AppiumSettings:
    provider: Literal["browserstack", "saucelabs", "generic"]
    app: str  # .apk/.ipa path, or an already uploaded app id (bs://..., storage:...)
    platform: Literal["android", "ios"] = "android"
    app_id: str = "org.flint.bench"  # Android package / iOS bundle id
    hub_url: str | None = None  # default: the provider's
    api_url: str | None = None  # default: the provider's
    username_env: str | None = None  # NAMES of environment variables, never the values
    access_key_env: str | None = None
    automation_name: str | None = None  # default: UiAutomator2 (android) / XCUITest (ios)
    remote_dir: str | None = None  # default: REMOTE_DIRS[platform]
    result_source: Literal["file", "element"] = "file"
    sample_performance: bool = True  # android: the app's CPU % and PSS via `mobile: getPerformanceData` each poll
    session_timeout_s: Annotated[float, Interval(gt=0, le=7200)] = 300.0  # cloud hubs may queue a session until a device is free
    command_timeout_s: Annotated[float, Interval(gt=0, le=3600)] = 120.0  # each HTTP command of an open session
    upload_timeout_s: Annotated[float, Interval(gt=0, le=86400)] = 600.0
    poll_interval_s: Annotated[float, Interval(gt=0, le=600)] = 2.0
    new_command_timeout_s: Annotated[int, Interval(ge=1, le=86400)] = 300
    build_name: str = "flint-bench"
    capabilities: dict[str, Any] = field(default_factory=dict)  # extra capabilities for every session
    devices: list[AppiumDevice] = field(default_factory=list)
    select: Selection = field(default_factory=Selection)

    @property
    def preset(self) -> Preset:
        return PRESETS[self.provider]

    @property
    def hub(self) -> str:
        return (self.hub_url or self.preset.hub_url).rstrip("/")

    def remote_path(self, name: str) -> str:
        """A file of the benchmark in the app's folder on the device."""
        folder = (self.remote_dir or REMOTE_DIRS[self.platform]).format(app_id=self.app_id).rstrip("/")
        return f"{folder}/{name}"

    def validate(self, file: str, prefix: str) -> None:
        if self.provider == "generic" and not self.devices:
            raise ConfigError(
                file,
                f"{prefix}devices",
                "a generic hub has no device-listing API: list the devices as [[appium.devices]] tables with a name",
            )
        if (self.username_env is None) != (self.access_key_env is None) and self.provider == "generic":
            raise ConfigError(file, f"{prefix}username_env", "give both username_env and access_key_env, or neither")
        for key, value in (("username_env", self.username_env), ("access_key_env", self.access_key_env)):
            if value is not None and not ENV_NAME.fullmatch(value):
                raise ConfigError(
                    file,
                    prefix + key,
                    f"must be the NAME of an environment variable (e.g. BROWSERSTACK_USERNAME), got {value!r}; never put the credential itself in the config",
                )
        seen = set()
        for i, d in enumerate(self.devices):
            if (d.name, d.platform_version) in seen:
                raise ConfigError(
                    file, f"{prefix}devices[{i}].name", f"duplicate device {d.name!r} {d.platform_version or ''}".strip()
                )
            seen.add((d.name, d.platform_version))
