"""Credentials from the environment and the provider's REST API (app upload, device listing) of
BrowserStack App Automate and Sauce Labs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import requests

from ...core.contract import FailureKind
from ...core.errors import UserError
from ...core.text import Redactor
from .settings import AppiumDevice, AppiumSettings


class ProviderError(UserError):
    """The provider's REST API or hub refused a request, or the farm cannot make it; the message is
    already redacted. `kind` is the failure kind a benchmark record gets for it."""

    def __init__(self, message: str, kind: FailureKind = FailureKind.UPLOAD):
        super().__init__(message)
        self.kind = kind


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

    def redactor(self) -> Redactor:
        """Both secrets in every form a hub may echo: raw, URL-encoded, the Basic header's base64 of user:key."""
        return Redactor([self.access_key, self.username], [(self.username, self.access_key)])

    def redact(self, text: str) -> str:
        return self.redactor()(text)

    def names(self) -> str:
        return f"${self.username_env} / ${self.access_key_env}"


def brand(name: str, platform: str) -> str | None:
    """The maker of a device known by its marketing name ('Google Pixel 8' -> 'Google')."""
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
                f"(HTTP {response.status_code} from {url}). Check that both variables hold a valid username and access key.",
                FailureKind.CREDENTIALS,
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
        timeout = self.settings.upload_timeout_s
        with path.open("rb") as f:
            if self.settings.provider == "browserstack":
                doc = self._request("POST", "/app-automate/upload", what, files={"file": (path.name, f)}, timeout=timeout)
                ref = doc.get("app_url") if isinstance(doc, dict) else None
            else:
                doc = self._request(
                    "POST",
                    "/v1/storage/upload",
                    what,
                    files={"payload": (path.name, f)},
                    data={"name": path.name},
                    timeout=timeout,
                )
                item = doc.get("item") if isinstance(doc, dict) else None
                ref = f"storage:{item['id']}" if isinstance(item, dict) and item.get("id") else None
        if not ref:
            raise ProviderError(self.credentials.redact(f"{what}: the answer has no app id: {json.dumps(doc)[:300]}"))
        return str(ref)

    def devices(self) -> list[AppiumDevice]:
        """The provider's device list, mapped to AppiumDevice for the configured platform."""
        platform = self.settings.platform
        what = f"listing {self.settings.provider} devices"
        if self.settings.provider == "browserstack":
            rows = self._request("GET", "/app-automate/devices.json", what)
            return [
                AppiumDevice(
                    name=r["device"], platform_version=str(r.get("os_version")), manufacturer=brand(r["device"], platform)
                )
                for r in rows
                if isinstance(r, dict)
                and str(r.get("os", "")).lower() == platform
                and r.get("device")
                and r.get("realMobile", True)
            ]
        rows = self._request("GET", "/v1/rdc/devices", what)
        return [
            _sauce_device(r, platform)
            for r in (rows if isinstance(rows, list) else [])
            if isinstance(r, dict) and str(r.get("os", "")).lower() == platform and r.get("name")
        ]


def _sauce_device(r: dict[str, Any], platform: str) -> AppiumDevice:
    makers = r.get("manufacturer") or []
    return AppiumDevice(
        name=r["name"],
        platform_version=str(r.get("osVersion")) if r.get("osVersion") is not None else None,
        udid=None,
        manufacturer=(makers[0] if isinstance(makers, list) and makers else makers or None) or brand(r["name"], platform),
        model=r.get("modelNumber"),
        soc=r.get("cpuType"),
        abi=r.get("abiType"),
        cores=r.get("cpuCores"),
        memory_mb=float(r["ramSize"]) if r.get("ramSize") else None,
        capabilities={"appium:deviceName": r["id"]} if r.get("id") else {},  # Sauce: pin the exact device by its id
    )
