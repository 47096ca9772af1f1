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
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from ...core.contract import ContractError, FailureKind, fail, merge_device_result
from ...core.records import Record
from ...core.text import Redactor
from ..base import BenchJob, Check, Device, DeviceLost, Farm
from ..sections import combine_memory
from .doctor import doctor
from .provider import Credentials, ProviderApi, ProviderError
from .sampling import PerfSampler, PhoneState
from .selection import as_device, select_devices
from .session import (
    HUNG,
    describe,
    hub_host,
    hub_port,
    hub_refused,
    is_current,
    open_session,
    read_conditions,
    read_result,
    result_where,
    set_http_timeout,
    wd_message,
)
from .settings import AppiumDevice, AppiumSettings

log = logging.getLogger(__name__)

UPLOADED = ("bs://", "storage:")  # app ids of apps already uploaded to the provider


class AppiumFarm(Farm):
    kind = "appium"
    settings_class = AppiumSettings
    settings: AppiumSettings

    def __init__(self, name: str, settings: AppiumSettings, config_path: Path | None = None):
        super().__init__(name, settings, config_path)
        self.credentials = Credentials(settings)
        self.api = ProviderApi(settings, self.credentials)
        self._app_ref: str | None = None
        self._app_lock = threading.Lock()
        self._sessions: set[Any] = set()  # open webdriver sessions, closed by close() if a run is interrupted
        self._sessions_lock = threading.Lock()

    def _check_credentials(self) -> None:
        missing = self.credentials.missing()
        if missing:
            raise ProviderError(
                f"The {self.settings.provider} farm '{self.name}' needs the environment variable(s) {', '.join('$' + m for m in missing)} "
                f"(the names come from the config's username_env / access_key_env). Set them in the environment, e.g. export {missing[0]}=...",
                FailureKind.CREDENTIALS,
            )

    def _appium_devices(self) -> list[AppiumDevice]:
        # a cloud hub needs the credentials for every session: say so once, before any device is booked
        if self.credentials.required:
            self._check_credentials()
        if self.settings.devices:
            return self.settings.devices
        return select_devices(self.api.devices(), self.settings.select)

    def devices(self) -> list[Device]:
        return [as_device(d, self.name, self.settings.platform) for d in self._appium_devices()]

    def doctor(self) -> list[Check]:
        return doctor(self.settings, self.credentials, self.api)

    def redactor(self) -> Redactor:
        return self.credentials.redactor()

    def app_ref(self) -> str:
        """The `app` capability: an uploaded app id, uploaded once per farm (devices share it)."""
        s = self.settings
        if s.app.startswith(UPLOADED) or s.provider == "generic":
            # a generic hub installs from a path or URL it can reach itself
            return s.app if s.app.startswith((*UPLOADED, "http://", "https://")) else str(Path(s.app).resolve())
        with self._app_lock:
            if self._app_ref is None:
                path = Path(s.app)
                if not path.is_file():
                    raise ProviderError(
                        f"[appium] app = {s.app!r}: file not found. Build the benchmark app (device_apps/{s.platform}/README.md) or give an uploaded app id."
                    )
                self._check_credentials()
                self._app_ref = self.api.upload_app(path)
                log.info("uploaded %s to %s as %s", path.name, s.provider, self._app_ref)
            return self._app_ref

    def run(self, device: Device, job: BenchJob) -> Record:
        from selenium.common.exceptions import InvalidSessionIdException, WebDriverException

        record = job.blank_record(device)
        try:
            app = self.app_ref()
        except ProviderError as e:
            return fail(record, e.kind, self.credentials.redact(str(e)))
        try:
            driver = open_session(
                self.settings, self.credentials, device.handle["appium"], app, f"{job.model.name} on {device.id}"
            )
        except WebDriverException as e:
            return fail(
                record,
                FailureKind.SESSION_REFUSED,
                self.credentials.redact(f"{self.settings.hub} refused the session for {device.id}: {wd_message(e)}"),
            )
        except HUNG as e:  # no hub listening, or one that accepts and never answers
            return fail(record, *self._hub_unreachable(e, device))
        with self._sessions_lock:
            self._sessions.add(driver)
        try:
            return self._benchmark(driver, device, job, record)
        except HUNG as e:
            return fail(
                record,
                FailureKind.TIMEOUT,
                self.credentials.redact(f"{self.settings.hub} stopped answering for {device.id}: {type(e).__name__}: {e}"),
            )
        except InvalidSessionIdException as e:
            raise DeviceLost(self.credentials.redact(f"the Appium session ended under us: {wd_message(e)}")) from None
        except WebDriverException as e:
            return fail(record, FailureKind.APPIUM, self.credentials.redact(f"{device.id}: {wd_message(e)}"))
        finally:
            self._quit(driver)

    def _hub_unreachable(self, error: BaseException, device: Device) -> tuple[FailureKind, str]:
        """What a failed new-session request means, and what to do about it."""
        s = self.settings
        if hub_refused(error):
            start = (
                f"start it (`appium --address {hub_host(s.hub)} --port {hub_port(s.hub)}`) or fix hub_url"
                if s.provider == "generic"
                else "check hub_url and the network"
            )
            message = f"cannot reach the Appium hub at {s.hub} for {device.id}: nothing answers there; {start}"
            return FailureKind.APPIUM, self.credentials.redact(message)
        return FailureKind.TIMEOUT, self.credentials.redact(
            f"the Appium hub at {s.hub} accepted the connection but did not answer the new-session request for {device.id} "
            f"within session_timeout_s = {s.session_timeout_s:g} s ({type(error).__name__})"
        )

    def _benchmark(self, driver: Any, device: Device, job: BenchJob, record: Record) -> Record:
        s = self.settings
        spec = job.spec("model.pte", "data.npz", None)
        record["extra"] = {"appium": {"provider": s.provider, "session_id": driver.session_id}}
        describe(record, driver.capabilities)
        for name, path in (("model.pte", job.training_artifact), ("data.npz", job.data_file)):
            driver.push_file(s.remote_path(name), source_path=str(path))
        driver.push_file(s.remote_path("spec.json"), base64.b64encode(json.dumps(spec).encode()).decode())
        read_conditions(record, driver, s.platform)
        phone = PhoneState(driver, s.platform)
        driver.activate_app(s.app_id)
        perf = PerfSampler(driver, s.app_id, enabled=s.sample_performance and s.platform == "android")
        text = self._wait_for_result(driver, spec, job.settings.timeout_s, perf)
        perf.fill(record)
        phone.fill(record)
        if text is None:
            return fail(
                record,
                FailureKind.TIMEOUT,
                f"no result from {device.id} within timeout_s = {job.settings.timeout_s:g} s (looked for {result_where(s)})",
            )
        try:
            result = json.loads(text)
            merge_device_result(record, result)
        except (ContractError, json.JSONDecodeError) as e:
            return fail(record, FailureKind.INVALID_RESULT, f"the app's result on {device.id} is not valid: {e}")
        combine_memory(record["memory"], result.get("memory") or {})
        return record

    def _wait_for_result(self, driver: Any, spec: dict[str, Any], timeout_s: float, perf: PerfSampler) -> str | None:
        """Poll until this run's result appears; a result of an earlier run or model on the same phone is ignored."""
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                # no single poll may outlast the deadline by more than a second (or the command timeout)
                set_http_timeout(driver, min(self.settings.command_timeout_s, max(1.0, deadline - time.monotonic())))
                perf.sample()
                text = read_result(self.settings, driver)
                if text is not None and is_current(text, spec):
                    return text
                if time.monotonic() >= deadline:
                    return None
                time.sleep(min(self.settings.poll_interval_s, max(0.0, deadline - time.monotonic())))
        finally:
            set_http_timeout(driver, self.settings.command_timeout_s)

    def _quit(self, driver: Any) -> None:
        with self._sessions_lock:
            if driver not in self._sessions:
                return
            self._sessions.discard(driver)
        try:
            driver.quit()
        except Exception as e:  # the session may be gone already; closing is best effort
            log.debug("closing the session failed: %s", self.credentials.redact(str(e)))

    def close(self) -> None:
        """Close sessions still open (an interrupted run), so the provider stops billing them."""
        with self._sessions_lock:
            open_sessions = list(self._sessions)
        for driver in open_sessions:
            self._quit(driver)
