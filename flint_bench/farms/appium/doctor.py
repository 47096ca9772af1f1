"""`flint-bench farm doctor` for an Appium farm: credentials, the app, the provider's API, the hub."""

from __future__ import annotations

from pathlib import Path

import requests

from ...core.errors import UserError
from ..base import Check
from .provider import Credentials, ProviderApi
from .selection import select_devices
from .settings import AppiumSettings


def doctor(s: AppiumSettings, credentials: Credentials, api: ProviderApi) -> list[Check]:
    checks = []
    if credentials.required:
        missing = credentials.missing()
        checks.append(
            Check(
                "credentials",
                not missing,
                f"{credentials.names()} are set"
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
    if api.base and credentials.auth():
        checks.extend(_provider_checks(s, credentials, api))
    try:
        r = requests.get(s.hub + "/status", auth=credentials.auth(), timeout=15)
        checks.append(Check("hub", r.ok, f"{s.hub} answers /status" if r.ok else f"{s.hub}/status answered HTTP {r.status_code}"))
    except requests.RequestException as e:
        checks.append(Check("hub", False, credentials.redact(f"cannot reach {s.hub}: {e}; check hub_url and the network")))
    return checks


def _provider_checks(s: AppiumSettings, credentials: Credentials, api: ProviderApi) -> list[Check]:
    try:
        offered = api.devices()
    except UserError as e:
        return [Check("provider-api", False, credentials.redact(str(e)))]
    n = len(s.devices) or len(select_devices(offered, s.select))
    return [
        Check(
            "provider-api",
            True,
            f"{s.provider} API at {api.base} accepts the credentials and offers {len(offered)} {s.platform} device(s)",
        ),
        Check("devices", n > 0, f"{n} device(s) selected" if n else "no device matches [appium.select]; relax the filters"),
    ]
