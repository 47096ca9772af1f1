"""Device and hub text: terminal-safe wherever it is printed or stored, secrets redacted in every
derived form, and the farm's declared setting ranges (exit 2 naming the key)."""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from flint_bench.core.contract import FailureKind, fail
from flint_bench.core.errors import UserError
from flint_bench.core.text import Redactor, terminal_safe
from flint_bench.farms.adb.doctor import _conditions_check
from flint_bench.farms.adb.settings import AdbSettings
from flint_bench.farms.appium.provider import Credentials, ProviderApi, ProviderError
from flint_bench.farms.appium.settings import AppiumSettings
from flint_bench.farms.base import BenchJob, Check, Device, Farm, RunSettings, new_record

USER, KEY = "flint-user-7f3a9c", "s3cr3t/K3y+d41d&8cd98f00b2"
HOSTILE = "\x1b[2JPixel\x1b]0;owned title\x07 7\r\x1b[31m" + "A" * 10_240


def test_terminal_safe_strips_escapes_and_control_and_truncates_with_an_ellipsis():
    safe = terminal_safe(HOSTILE)
    assert safe.startswith("Pixel 7 AAA") and len(safe) == 200 and safe.endswith("…")
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in safe)
    assert terminal_safe("line 1\r\nline\x1b[1m 2\x07\tend", 100, keep_lines=True) == "line 1\nline 2\tend"
    device = Device(id="d", farm="f", model=HOSTILE, soc="\x07SoC")
    assert device.model == safe and device.soc == "SoC"
    check = Check("c\x1b[2J", True, "m" + "\x1b]0;t\x07" * 3)
    assert (check.name, check.message) == ("c", "m")


def lower_hex(url_encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), url_encoded)


def echoes(user: str, key: str) -> str:
    """What a hub that echoes the request sends back: every form the credentials travel in."""
    basic = base64.b64encode(f"{user}:{key}".encode()).decode()
    return (
        f"Authorization: Basic {basic} url={urllib.parse.quote(key, safe='')} form={urllib.parse.quote_plus(key)} "
        f"lower={lower_hex(urllib.parse.quote(key, safe=''))} json={json.dumps({'k': key})} raw={user} {key}"
    )


def assert_no_secret(text: str) -> None:
    basic = base64.b64encode(f"{USER}:{KEY}".encode()).decode()
    url = urllib.parse.quote(KEY, safe="")
    for form in (USER, KEY, basic, basic.rstrip("="), url, lower_hex(url), urllib.parse.quote_plus(KEY)):
        assert form not in text, form


def test_redaction_covers_base64_basic_header_and_url_encoded_forms():
    redacted = Redactor([KEY, USER], [(USER, KEY)])(echoes(USER, KEY))
    assert_no_secret(redacted)
    assert "Authorization: Basic ***" in redacted


@pytest.fixture
def echoing_hub():
    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = (str(self.headers) + echoes(USER, KEY)).encode()
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class EchoFarm(Farm):
    """A farm whose one phone fails with what the hub echoed, in its error and its device section."""

    kind = "echo"
    settings_class = dict

    def __init__(self, credentials: Credentials):
        super().__init__("echo", {})
        self.credentials = credentials

    def redactor(self) -> Redactor:
        return self.credentials.redactor()

    def devices(self) -> list[Device]:
        return [Device(id="phone", farm=self.name)]

    def run(self, device: Device, job: BenchJob):
        record = job.blank_record(device)
        record["device"]["model"] = echoes(USER, KEY)  # e.g. a capability the hub reported
        return fail(record, FailureKind.APPIUM, echoes(USER, KEY))


def test_a_hub_that_echoes_the_headers_leaks_no_credential(echoing_hub, monkeypatch):
    monkeypatch.setenv("BROWSERSTACK_USERNAME", USER)
    monkeypatch.setenv("BROWSERSTACK_ACCESS_KEY", KEY)
    settings = AppiumSettings(provider="browserstack", app="bs://x", api_url=echoing_hub)
    credentials = Credentials(settings)
    with pytest.raises(ProviderError) as caught:
        ProviderApi(settings, credentials).devices()
    assert "HTTP 500" in str(caught.value)
    assert_no_secret(str(caught.value))
    # and in records, whatever field the hub's text reached
    farm = EchoFarm(credentials)
    artifacts = SimpleNamespace(manifests={"executorch-training": None})
    model = SimpleNamespace(name="m", description="", batch_size=8, lr=0.1, task="binary")
    model.trainable_params = model.total_params = model.update_bytes = 1
    bench = BenchJob("r", model, artifacts, Path("d.npz"), RunSettings())  # type: ignore[arg-type]
    bench.blank_record = lambda device: new_record("r", model, device, bench.settings, None)  # type: ignore[method-assign, arg-type]
    (record,) = farm.run_many(bench, farm.devices())
    assert record["error"]["kind"] == "appium"
    assert_no_secret(json.dumps(record))


def test_doctor_does_not_pass_conditions_it_could_not_read():
    silent = SimpleNamespace(settings=AdbSettings(), shell=lambda serial, cmd: SimpleNamespace(stdout=""))
    check = _conditions_check(silent, Device(id="phone", farm="f"))  # type: ignore[arg-type]
    assert check.ok is None and check.message == "battery unknown, thermal unknown" and not check.failed


def cli(*args: str) -> tuple[int, str]:
    from flint_bench.cli import app

    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, UserError):
        return 2, str(result.exception)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "table, key, value",
    [
        ("run", "examples", 2**63 - 1),
        ("run", "warmup_steps", -4),
        ("run", "cooldown_s", -1),
        ("run", "timeout_s", 0),
        ("run", "seed", -1),
        ("run", "batch_size", 6000),  # larger than examples (5000)
        ("local", "sample_hz", 1e9),
        ("local.devices", "memory_limit_mb", -5),
        ("local.devices", "threads", 100000),
        ("adb", "server_port", 99999),
        ("adb", "io_timeout_s", 0),
        ("adb", "sample_hz", 1e6),
        ("adb", "min_battery_percent", 101),
    ],
)
def test_out_of_range_settings_exit_2_naming_the_key(tmp_path, table, key, value):
    kind = "local" if table == "run" else table.split(".")[0]
    path = tmp_path / "farm.toml"
    if table == "local.devices":
        body = f'[[local.devices]]\nname = "c"\n{key} = {value}\n'
        named = "local.devices[0]." + key
    else:
        body = f"[{table}]\n{key} = {value}\n"
        named = f"{table}.{key}"
    path.write_text(f'kind = "{kind}"\n{body}')
    code, out = cli("run", "--farm", str(path), "--model", "A", "--out", str(tmp_path / "out"))
    assert code == 2 and named in out and "farm.toml" in out, out
