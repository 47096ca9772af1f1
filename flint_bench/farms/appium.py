"""The Appium farm: any Appium hub, with presets for BrowserStack App Automate, Sauce Labs and a generic hub.

Per (model, device): upload the app once through the provider's REST API, open a session
(Appium-Python-Client: UiAutomator2 / XCUITest options) with the app installed but not launched,
push spec + model + data into the app's storage (`mobile: pushFile`), launch the app, poll for the
result (`mobile: pullFile` of result.json, or the text of the element with accessibility id
`flint_result`), and always close the session.

Credentials come only from environment variables named in the config. They travel as HTTP basic
auth (REST calls and the hub's Authorization header), never in capabilities, which hubs echo back
and log; every message that leaves this module is passed through `Credentials.redact`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import requests

from ..core.contract import ContractError, fail, merge_device_result
from ..core.errors import ConfigError, UserError
from .base import BenchJob, Check, Device, DeviceLost, Farm

log = logging.getLogger(__name__)

RESULT_ELEMENT = "flint_result"


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
    max_devices: int | None = None


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
    session_timeout_s: float = 300.0  # cloud hubs may queue a session until a device is free
    upload_timeout_s: float = 600.0
    poll_interval_s: float = 2.0
    new_command_timeout_s: int = 300
    build_name: str = "flint-bench"
    capabilities: dict[str, Any] = field(default_factory=dict)  # extra capabilities for every session
    devices: list[AppiumDevice] = field(default_factory=list)
    select: Selection = field(default_factory=Selection)

    @property
    def preset(self) -> Preset:
        return PRESETS[self.provider]

    def validate(self, file: str, prefix: str) -> None:
        if self.provider == "generic" and not self.devices:
            raise ConfigError(
                file,
                f"{prefix}devices",
                "a generic hub has no device-listing API: list the devices as [[appium.devices]] tables with a name",
            )
        if (self.username_env is None) != (self.access_key_env is None) and self.provider == "generic":
            raise ConfigError(file, f"{prefix}username_env", "give both username_env and access_key_env, or neither")
        for key in ("username_env", "access_key_env"):
            value = getattr(self, key)
            if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
                raise ConfigError(
                    file,
                    prefix + key,
                    f"must be the NAME of an environment variable (e.g. BROWSERSTACK_USERNAME), got {value!r}; never put the credential itself in the config",
                )
        for key in ("session_timeout_s", "upload_timeout_s", "poll_interval_s"):
            if getattr(self, key) <= 0:
                raise ConfigError(file, prefix + key, "must be positive")
        if self.select.max_devices is not None and self.select.max_devices < 1:
            raise ConfigError(file, f"{prefix}select.max_devices", "must be at least 1")
        seen = set()
        for i, d in enumerate(self.devices):
            if (d.name, d.platform_version) in seen:
                raise ConfigError(
                    file, f"{prefix}devices[{i}].name", f"duplicate device {d.name!r} {d.platform_version or ''}".strip()
                )
            seen.add((d.name, d.platform_version))


class ProviderError(UserError):
    """The provider's REST API or hub refused a request; the message is already redacted."""


class Credentials:
    """Username / access key read from the environment variables the config names."""

    def __init__(self, settings: AppiumSettings):
        preset = settings.preset
        self.username_env = settings.username_env or preset.username_env
        self.access_key_env = settings.access_key_env or preset.access_key_env
        self.username = os.environ.get(self.username_env) if self.username_env else None
        self.access_key = os.environ.get(self.access_key_env) if self.access_key_env else None

    @property
    def required(self) -> bool:
        return self.username_env is not None

    def missing(self) -> list[str]:
        return [
            name
            for name, value in ((self.username_env, self.username), (self.access_key_env, self.access_key))
            if name and not value
        ]

    def auth(self) -> tuple[str, str] | None:
        return (self.username, self.access_key) if self.username and self.access_key else None

    def redact(self, text: str) -> str:
        for secret in (self.access_key, self.username):
            if secret:
                text = text.replace(secret, "***")
        return text

    def names(self) -> str:
        return f"${self.username_env} / ${self.access_key_env}"


def _version_key(version: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version or ""))[:3] or (0,)


def _brand(name: str, platform: str) -> str | None:
    return "Apple" if platform == "ios" else (name.split()[0] if name.strip() else None)


class ProviderApi:
    """The provider's REST API: app upload and device listing (BrowserStack App Automate, Sauce Labs)."""

    def __init__(self, settings: AppiumSettings, credentials: Credentials):
        self.settings, self.credentials = settings, credentials
        self.base = (settings.api_url or settings.preset.api_url or "").rstrip("/")

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        url = self.base + path
        try:
            response = requests.request(method, url, auth=self.credentials.auth(), timeout=kwargs.pop("timeout", 60), **kwargs)
        except requests.RequestException as e:
            raise ProviderError(self.credentials.redact(f"{what}: cannot reach {url}: {e}")) from None
        if response.status_code in (401, 403):
            raise ProviderError(
                f"{what}: {self.settings.provider} rejected the credentials from {self.credentials.names()} "
                f"(HTTP {response.status_code} from {url}). Check that both variables hold a valid username and access key."
            )
        if not response.ok:
            raise ProviderError(self.credentials.redact(f"{what}: HTTP {response.status_code} from {url}: {response.text[:300]}"))
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                self.credentials.redact(f"{what}: {url} did not answer with JSON: {response.text[:200]}")
            ) from None

    def upload_app(self, path: Path) -> str:
        """Upload the app; return the value for the `app` capability."""
        what = f"uploading {path.name} to {self.settings.provider}"
        with path.open("rb") as f:
            if self.settings.provider == "browserstack":
                doc = self._request(
                    "POST", "/app-automate/upload", what, files={"file": (path.name, f)}, timeout=self.settings.upload_timeout_s
                )
                ref = doc.get("app_url") if isinstance(doc, dict) else None
            else:
                doc = self._request(
                    "POST",
                    "/v1/storage/upload",
                    what,
                    files={"payload": (path.name, f)},
                    data={"name": path.name},
                    timeout=self.settings.upload_timeout_s,
                )
                item = doc.get("item") if isinstance(doc, dict) else None
                ref = f"storage:{item['id']}" if isinstance(item, dict) and item.get("id") else None
        if not ref:
            raise ProviderError(self.credentials.redact(f"{what}: the answer has no app id: {json.dumps(doc)[:300]}"))
        return ref

    def devices(self) -> list[AppiumDevice]:
        """The provider's device list, mapped to AppiumDevice for the configured platform."""
        platform = self.settings.platform
        if self.settings.provider == "browserstack":
            rows = self._request("GET", "/app-automate/devices.json", f"listing {self.settings.provider} devices")
            return [
                AppiumDevice(
                    name=r["device"], platform_version=str(r.get("os_version")), manufacturer=_brand(r["device"], platform)
                )
                for r in rows
                if isinstance(r, dict)
                and str(r.get("os", "")).lower() == platform
                and r.get("device")
                and r.get("realMobile", True)
            ]
        rows = self._request("GET", "/v1/rdc/devices", f"listing {self.settings.provider} devices")
        out = []
        for r in rows if isinstance(rows, list) else []:
            if not isinstance(r, dict) or str(r.get("os", "")).lower() != platform or not r.get("name"):
                continue
            makers = r.get("manufacturer") or []
            out.append(
                AppiumDevice(
                    name=r["name"],
                    platform_version=str(r.get("osVersion")) if r.get("osVersion") is not None else None,
                    udid=None,
                    manufacturer=(makers[0] if isinstance(makers, list) and makers else makers or None)
                    or _brand(r["name"], platform),
                    model=r.get("modelNumber"),
                    soc=r.get("cpuType"),
                    abi=r.get("abiType"),
                    cores=r.get("cpuCores"),
                    memory_mb=float(r["ramSize"]) if r.get("ramSize") else None,
                    capabilities={"appium:deviceName": r["id"]} if r.get("id") else {},
                )
            )  # Sauce: pin the exact device by its id
        return out


def select_devices(candidates: list[AppiumDevice], select: Selection) -> list[AppiumDevice]:
    """Filters over a provider's device list; pure, so it is tested without a provider."""
    out = []
    for d in candidates:
        v = _version_key(d.platform_version)
        if select.os_version_min and v < _version_key(select.os_version_min):
            continue
        if select.os_version_max and v > _version_key(select.os_version_max):
            continue
        if select.manufacturers and (d.manufacturer or "").lower() not in {m.lower() for m in select.manufacturers}:
            continue
        if select.name_contains and select.name_contains.lower() not in d.name.lower():
            continue
        out.append(d)
    out.sort(key=lambda d: (d.name, _version_key(d.platform_version)))
    return out[: select.max_devices] if select.max_devices else out


class AppiumFarm(Farm):
    kind = "appium"
    settings_class = AppiumSettings

    def __init__(self, name: str, settings: AppiumSettings, config_path: Path | None = None):
        super().__init__(name, settings, config_path)
        self.credentials = Credentials(settings)
        self.api = ProviderApi(settings, self.credentials)
        self._app_ref: str | None = None
        self._app_lock = threading.Lock()

    # ---- devices -------------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        missing = self.credentials.missing()
        if missing:
            raise UserError(
                f"The {self.settings.provider} farm '{self.name}' needs the environment variable(s) {', '.join('$' + m for m in missing)} "
                f"(the names come from the config's username_env / access_key_env). Set them in the environment, e.g. export {missing[0]}=..."
            )

    def _appium_devices(self) -> list[AppiumDevice]:
        if self.settings.devices:
            return self.settings.devices
        self._check_credentials()
        return select_devices(self.api.devices(), self.settings.select)

    def devices(self) -> list[Device]:
        platform = self.settings.platform
        out = []
        for d in self._appium_devices():
            device_id = f"{d.name} {d.platform_version}" if d.platform_version else d.name
            out.append(
                Device(
                    id=device_id,
                    farm=self.name,
                    manufacturer=d.manufacturer or _brand(d.name, platform),
                    model=d.model or d.name,
                    soc=d.soc,
                    os="iOS" if platform == "ios" else "Android",
                    os_version=d.platform_version,
                    abi=d.abi,
                    cores=d.cores,
                    memory_mb=d.memory_mb,
                    emulator=False,
                    handle={"appium": d},
                )
            )
        return out

    def doctor(self) -> list[Check]:
        s, checks = self.settings, []
        if self.credentials.required:
            missing = self.credentials.missing()
            checks.append(
                Check(
                    "credentials",
                    not missing,
                    f"{self.credentials.names()} are set"
                    if not missing
                    else f"set {', '.join('$' + m for m in missing)} in the environment (the config names them in username_env / access_key_env)",
                )
            )
        if not s.app.startswith(("bs://", "storage:", "http://", "https://")):
            p = Path(s.app)
            checks.append(
                Check(
                    "app",
                    p.is_file(),
                    f"{p} exists ({p.stat().st_size} bytes)"
                    if p.is_file()
                    else f"{p} not found: build the benchmark app (device_apps/{s.platform}/README.md) or set [appium] app",
                )
            )
        if self.api.base and self.credentials.auth():
            try:
                offered = self.api.devices()
                checks.append(
                    Check(
                        "provider-api",
                        True,
                        f"{s.provider} API at {self.api.base} accepts the credentials and offers {len(offered)} {s.platform} device(s)",
                    )
                )
                n = len(self.settings.devices) or len(select_devices(offered, s.select))
                checks.append(
                    Check(
                        "devices",
                        n > 0,
                        f"{n} device(s) selected" if n else "no device matches [appium.select]; relax the filters",
                    )
                )
            except UserError as e:
                checks.append(Check("provider-api", False, self.credentials.redact(str(e))))
        hub = self.hub_url
        try:
            r = requests.get(hub.rstrip("/") + "/status", auth=self.credentials.auth(), timeout=15)
            checks.append(Check("hub", r.ok, f"{hub} answers /status" if r.ok else f"{hub}/status answered HTTP {r.status_code}"))
        except requests.RequestException as e:
            checks.append(Check("hub", False, self.credentials.redact(f"cannot reach {hub}: {e}; check hub_url and the network")))
        return checks

    @property
    def hub_url(self) -> str:
        return (self.settings.hub_url or self.settings.preset.hub_url).rstrip("/")

    # ---- app -----------------------------------------------------------------------------------
    def app_ref(self) -> str:
        """The `app` capability: an uploaded app id, uploaded once per farm (devices share it)."""
        s = self.settings
        if s.app.startswith(("bs://", "storage:")) or s.provider == "generic":
            # a generic hub installs from a path or URL it can reach itself
            return s.app if s.app.startswith(("bs://", "storage:", "http://", "https://")) else str(Path(s.app).resolve())
        with self._app_lock:
            if self._app_ref is None:
                path = Path(s.app)
                if not path.is_file():
                    raise UserError(
                        f"[appium] app = {s.app!r}: file not found. Build the benchmark app (device_apps/{s.platform}/README.md) or give an uploaded app id."
                    )
                self._check_credentials()
                self._app_ref = self.api.upload_app(path)
                log.info("uploaded %s to %s as %s", path.name, s.provider, self._app_ref)
            return self._app_ref

    # ---- one benchmark -------------------------------------------------------------------------
    def options(self, device: AppiumDevice, app: str, session_name: str):
        """Capabilities for one session (no credentials: they go in the Authorization header)."""
        from appium.options.android import UiAutomator2Options
        from appium.options.ios import XCUITestOptions

        s = self.settings
        opts = XCUITestOptions() if s.platform == "ios" else UiAutomator2Options()
        opts.automation_name = s.automation_name or AUTOMATION[s.platform]
        opts.app = app
        opts.new_command_timeout = s.new_command_timeout_s
        opts.set_capability("appium:autoLaunch", False)  # launch only after the spec is pushed
        if s.provider == "browserstack":
            # BrowserStack picks the device from bstack:options
            opts.set_capability(
                "bstack:options",
                {
                    "deviceName": device.name,
                    **({"osVersion": device.platform_version} if device.platform_version else {}),
                    "projectName": "flint-bench",
                    "buildName": s.build_name,
                    "sessionName": session_name,
                },
            )
        else:
            opts.device_name = device.name
            if device.platform_version:
                opts.platform_version = device.platform_version
            if s.provider == "saucelabs":
                opts.set_capability("sauce:options", {"build": s.build_name, "name": session_name, "appiumVersion": "latest"})
        if device.udid:
            opts.udid = device.udid
        for key, value in {**s.capabilities, **device.capabilities}.items():
            opts.set_capability(key, value)
        return opts

    def remote_path(self, name: str) -> str:
        s = self.settings
        folder = (s.remote_dir or REMOTE_DIRS[s.platform]).format(app_id=s.app_id).rstrip("/")
        return f"{folder}/{name}"

    def run(self, device: Device, job: BenchJob) -> dict:
        from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

        record = job.blank_record(device)
        try:
            app = self.app_ref()
        except UserError as e:
            kind = "credentials" if "credentials" in str(e) or "environment variable" in str(e) else "upload"
            return fail(record, kind, self.credentials.redact(str(e)))
        spec = job.spec("model.pte", "data.npz", None)
        driver = None
        try:
            try:
                driver = self._open_session(device.handle["appium"], app, f"{job.model.name} on {device.id}")
            except WebDriverException as e:
                return fail(
                    record,
                    "session-refused",
                    self.credentials.redact(f"{self.hub_url} refused the session for {device.id}: {_wd_message(e)}"),
                )
            record["extra"] = {"appium": {"provider": self.settings.provider, "session_id": driver.session_id}}
            self._describe(record, driver.capabilities)
            for name, path in (("model.pte", job.training_artifact), ("data.npz", job.data_file)):
                driver.push_file(self.remote_path(name), source_path=str(path))
            driver.push_file(self.remote_path("spec.json"), base64.b64encode(json.dumps(spec).encode()).decode())
            self._conditions(record, driver)
            driver.activate_app(self.settings.app_id)
            perf = PerfSampler(
                driver, self.settings.app_id, enabled=self.settings.sample_performance and self.settings.platform == "android"
            )
            text = self._wait_for_result(driver, spec, job.settings.timeout_s, perf)
            perf.fill(record)
            if text is None:
                return fail(
                    record,
                    "timeout",
                    f"no result from {device.id} within timeout_s = {job.settings.timeout_s:g} s "
                    f"(looked for {self._result_where()})",
                )
            try:
                result = json.loads(text)
                merge_device_result(record, result)
            except (ContractError, json.JSONDecodeError) as e:
                return fail(record, "invalid-result", f"the app's result on {device.id} is not valid: {e}")
            combine_memory(record["memory"], result.get("memory") or {})
            return record
        except InvalidSessionIdException as e:
            raise DeviceLost(self.credentials.redact(f"the Appium session ended under us: {_wd_message(e)}")) from None
        except WebDriverException as e:
            return fail(record, "appium", self.credentials.redact(f"{device.id}: {_wd_message(e)}"))
        finally:
            if driver is not None:
                try:
                    driver.quit()
                except Exception as e:  # the session may be gone already; closing is best effort
                    log.debug("closing the session failed: %s", self.credentials.redact(str(e)))

    def _open_session(self, device: AppiumDevice, app: str, session_name: str):
        from appium import webdriver
        from appium.webdriver.client_config import AppiumClientConfig

        auth = self.credentials.auth()
        config = AppiumClientConfig(
            self.hub_url,
            timeout=int(self.settings.session_timeout_s),
            username=auth[0] if auth else None,
            password=auth[1] if auth else None,
        )
        return webdriver.Remote(self.hub_url, options=self.options(device, app, session_name), client_config=config)

    @staticmethod
    def _describe(record: dict, caps: dict) -> None:
        """Fill device attributes the hub reports (UiAutomator2 and XCUITest return some) where the config had none."""
        dev = record["device"]
        for key, cap in (("manufacturer", "deviceManufacturer"), ("model", "deviceModel"), ("os_version", "platformVersion")):
            value = caps.get(cap) or caps.get(f"appium:{cap}")
            if value and not dev.get(key):
                dev[key] = str(value)

    def _conditions(self, record: dict, driver) -> None:
        """Battery level and charging state just before the launch (`mobile: batteryInfo`); best effort."""
        from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

        try:
            info = driver.battery_info
        except InvalidSessionIdException:
            raise
        except WebDriverException as e:
            log.debug("no battery info from %s: %s", record["device"]["id"], _wd_message(e))
            return
        level, state = info.get("level"), info.get("state")
        charging = {"android": {2: True, 5: True, 3: False, 4: False}, "ios": {2: True, 3: True, 1: False}}[
            self.settings.platform
        ]
        if isinstance(level, (int, float)) and level >= 0:
            record["conditions"]["battery_percent"] = round(float(level) * 100, 1)
        record["conditions"]["charging"] = charging.get(state)

    def _result_where(self) -> str:
        if self.settings.result_source == "file":
            return self.remote_path("result.json")
        return f"the element with accessibility id '{RESULT_ELEMENT}'"

    def _read_result(self, driver) -> str | None:
        from appium.webdriver.common.appiumby import AppiumBy
        from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

        try:
            if self.settings.result_source == "file":
                return base64.b64decode(driver.pull_file(self.remote_path("result.json"))).decode("utf-8", "replace")
            found = driver.find_elements(AppiumBy.ACCESSIBILITY_ID, RESULT_ELEMENT)
            return found[0].text if found else None
        except InvalidSessionIdException:
            raise
        except (WebDriverException, binascii.Error):
            return None  # not written yet

    def _wait_for_result(self, driver, spec: dict, timeout_s: float, perf: PerfSampler) -> str | None:
        """Poll until this run's result appears; a result of an earlier run or model on the same phone is ignored."""
        deadline = time.monotonic() + timeout_s
        while True:
            perf.sample()
            text = self._read_result(driver)
            if text is not None and _is_current(text, spec):
                return text
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(self.settings.poll_interval_s, max(0.0, deadline - time.monotonic())))


class PerfSampler:
    """The app's CPU % (user + kernel) and PSS from UiAutomator2's `mobile: getPerformanceData`, sampled
    at every result poll while the app trains. Stops at the first refusal (other drivers, app gone)."""

    def __init__(self, driver, package: str, enabled: bool):
        self.driver, self.package, self.enabled = driver, package, enabled
        self.cpu: list[float] = []
        self.pss_mb: list[float] = []

    def sample(self) -> None:
        from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

        if not self.enabled:
            return
        try:
            cpu = _perf_row(self.driver.get_performance_data(self.package, "cpuinfo"))
            mem = _perf_row(self.driver.get_performance_data(self.package, "memoryinfo"))
        except InvalidSessionIdException:
            raise
        except (WebDriverException, ValueError, TypeError) as e:
            log.debug("performance sampling stopped: %s", _wd_message(e))
            self.enabled = False
            return
        if "user" in cpu and "kernel" in cpu:
            self.cpu.append(cpu["user"] + cpu["kernel"])
        if "totalPss" in mem:
            self.pss_mb.append(mem["totalPss"] / 1024)  # dumpsys meminfo reports KB

    def fill(self, record: dict) -> None:
        if self.cpu:
            record["cpu"] = {
                "mean_percent": sum(self.cpu) / len(self.cpu),
                "max_percent": max(self.cpu),
                "samples": len(self.cpu),
                "method": "appium mobile: getPerformanceData cpuinfo (user + kernel %) at each result poll",
            }
        if self.pss_mb:
            record["memory"] = {
                "peak_mb": max(self.pss_mb),
                "baseline_mb": None,
                "peak_delta_mb": None,
                "method": "pss: appium mobile: getPerformanceData memoryinfo totalPss at each result poll",
            }


def combine_memory(host: dict, app: dict) -> None:
    """Peak-minus-baseline memory when the app measured PSS itself (the Android app's Debug.getPss):
    its baseline (before loading the model) is comparable with our PSS samples; an RSS one is not."""
    if not str(app.get("method", "")).startswith("pss"):
        return
    if app.get("peak_mb") is not None and (host["peak_mb"] is None or app["peak_mb"] > host["peak_mb"]):
        host.update(peak_mb=app["peak_mb"], method=host["method"] + "; the app's own PSS peak where higher")
    if app.get("baseline_mb") is not None and host["peak_mb"] is not None:
        host.update(baseline_mb=app["baseline_mb"], peak_delta_mb=max(0.0, host["peak_mb"] - app["baseline_mb"]))


def _perf_row(table: list) -> dict[str, float]:
    """UiAutomator2 answers [[names...], [values...]] with values as strings."""
    names, values = table[0], table[1]
    return {str(n): float(v) for n, v in zip(names, values) if v not in (None, "")}


def _is_current(text: str, spec: dict) -> bool:
    """True when `text` is this spec's result, or unreadable (then it is reported as invalid, not waited on)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return True
    if not isinstance(doc, dict) or "run_id" not in doc:
        return True
    model = doc.get("model") if isinstance(doc.get("model"), dict) else {}
    return doc["run_id"] == spec["run_id"] and model.get("artifact_sha256") in (None, spec["model"]["sha256"])


def _wd_message(e: Exception) -> str:
    msg = getattr(e, "msg", None) or str(e)
    return msg.strip().splitlines()[0] if msg.strip() else type(e).__name__
