"""One Appium session: capabilities, opening it, reading the device's state and the app's result."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from ...core.records import Record
from ..sections import conditions_section
from .provider import Credentials
from .settings import AUTOMATION, AppiumDevice, AppiumSettings

log = logging.getLogger(__name__)

RESULT_ELEMENT = "flint_result"
# `mobile: batteryInfo` state -> charging, per platform (other states: unknown)
CHARGING = {"android": {2: True, 5: True, 3: False, 4: False}, "ios": {2: True, 3: True, 1: False}}


def options(s: AppiumSettings, device: AppiumDevice, app: str, session_name: str) -> Any:  # appium Options
    """Capabilities for one session (no credentials: they go in the Authorization header)."""
    from appium.options.android import UiAutomator2Options
    from appium.options.ios import XCUITestOptions

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


def open_session(s: AppiumSettings, credentials: Credentials, device: AppiumDevice, app: str, session_name: str) -> Any:
    """A webdriver.Remote session on the hub (Appium-Python-Client)."""
    from appium import webdriver
    from appium.webdriver.client_config import AppiumClientConfig

    auth = credentials.auth()
    config = AppiumClientConfig(
        s.hub,
        timeout=int(s.session_timeout_s),
        username=auth[0] if auth else None,
        password=auth[1] if auth else None,
    )
    driver = webdriver.Remote(s.hub, options=options(s, device, app, session_name), client_config=config)
    set_http_timeout(driver, s.command_timeout_s)  # a session may queue; a command on an open one may not hang
    return driver


def set_http_timeout(driver: Any, seconds: float) -> None:
    """The deadline of the session's next HTTP requests (selenium reads it from the client config per request)."""
    driver.command_executor._client_config.timeout = seconds


def _hung() -> tuple[type[BaseException], ...]:
    import requests
    import urllib3

    return (TimeoutError, urllib3.exceptions.TimeoutError, urllib3.exceptions.MaxRetryError, requests.Timeout)


HUNG = _hung()  # what a hub that stops answering (or never listened) raises through selenium's HTTP client


def hub_refused(error: BaseException) -> bool:
    """True when nothing listens at the hub (connection refused), as opposed to a hub that hangs."""
    import urllib3

    reason = getattr(error, "reason", None)
    return isinstance(reason, urllib3.exceptions.NewConnectionError) or isinstance(error, ConnectionRefusedError)


def hub_host(url: str) -> str:
    return urlsplit(url).hostname or "127.0.0.1"


def hub_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def describe(record: Record, caps: dict[str, Any]) -> None:
    """Fill device attributes the hub reports (UiAutomator2 and XCUITest return some) where the config had none."""
    dev = record["device"]
    for key, cap in (("manufacturer", "deviceManufacturer"), ("model", "deviceModel"), ("os_version", "platformVersion")):
        value = caps.get(cap) or caps.get(f"appium:{cap}")
        if value and not dev.get(key):
            dev[key] = str(value)  # type: ignore[literal-required]  # key is one of three str | None fields


def read_conditions(record: Record, driver: Any, platform: str) -> None:
    """Battery level and charging state just before the launch (`mobile: batteryInfo`); best effort."""
    from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

    try:
        info = driver.battery_info
    except InvalidSessionIdException:
        raise
    except WebDriverException as e:
        log.debug("no battery info from %s: %s", record["device"]["id"], wd_message(e))
        return
    level, state = info.get("level"), info.get("state")
    record["conditions"] = conditions_section(
        battery_percent=round(float(level) * 100, 1) if isinstance(level, (int, float)) and level >= 0 else None,
        charging=CHARGING[platform].get(state),
    )


def result_where(s: AppiumSettings) -> str:
    if s.result_source == "file":
        return s.remote_path("result.json")
    return f"the element with accessibility id '{RESULT_ELEMENT}'"


def read_result(s: AppiumSettings, driver: Any) -> str | None:
    """The app's result text, or None while it has not written one."""
    from appium.webdriver.common.appiumby import AppiumBy
    from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

    try:
        if s.result_source == "file":
            return base64.b64decode(driver.pull_file(s.remote_path("result.json"))).decode("utf-8", "replace")
        found = driver.find_elements(AppiumBy.ACCESSIBILITY_ID, RESULT_ELEMENT)
        return str(found[0].text) if found else None
    except InvalidSessionIdException:
        raise
    except (WebDriverException, binascii.Error):
        return None  # not written yet


def is_current(text: str, spec: dict[str, Any]) -> bool:
    """True when `text` is this spec's result, or unreadable (then it is reported as invalid, not waited on)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return True
    if not isinstance(doc, dict) or "run_id" not in doc:
        return True
    model = doc.get("model")
    if not isinstance(model, dict):
        model = {}
    return bool(doc["run_id"] == spec["run_id"] and model.get("artifact_sha256") in (None, spec["model"]["sha256"]))


def wd_message(e: Exception) -> str:
    msg = getattr(e, "msg", None) or str(e)
    return str(msg).strip().splitlines()[0] if str(msg).strip() else type(e).__name__
