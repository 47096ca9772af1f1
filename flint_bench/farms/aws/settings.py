"""The [aws_devicefarm] table of a farm config: project, app, device pool or filters, timeouts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from ...core.config import Annotated, Interval
from ...core.errors import ConfigError
from ..android import check_app_names


@dataclass
class DeviceFilter:
    """One deviceSelectionConfiguration filter, as in the Device Farm API."""

    attribute: Literal[
        "ARN",
        "PLATFORM",
        "OS_VERSION",
        "MODEL",
        "AVAILABILITY",
        "FORM_FACTOR",
        "MANUFACTURER",
        "REMOTE_ACCESS_ENABLED",
        "REMOTE_DEBUG_ENABLED",
        "INSTANCE_ARN",
        "INSTANCE_LABELS",
        "FLEET_TYPE",
    ]
    operator: Literal[
        "EQUALS", "LESS_THAN", "LESS_THAN_OR_EQUALS", "GREATER_THAN", "GREATER_THAN_OR_EQUALS", "IN", "NOT_IN", "CONTAINS"
    ]
    values: list[str]


@dataclass
class AwsSettings:
    project_arn: str
    app: str  # the benchmark .apk
    region: str = "us-west-2"  # Device Farm's only region
    device_pool_arn: str | None = None  # or filters below
    filters: list[DeviceFilter] = field(default_factory=list)
    max_devices: Annotated[int, Interval(ge=1, le=100)] = 5
    package: str = "org.flint.bench"
    activity: str = ".BenchmarkActivity"
    remote_dir: str = "/sdcard/Android/data/{package}/files"
    test_host: str = "amazon_linux_2"
    test_spec_template: str | None = None  # a jinja2 file of your own; default: templates/devicefarm-android.yml.j2
    poll_interval_s: Annotated[float, Interval(gt=0, le=600)] = 15.0
    upload_timeout_s: Annotated[float, Interval(gt=0, le=86400)] = 600.0
    api_timeout_s: Annotated[float, Interval(gt=0, le=600)] = 60.0  # connect and read deadline of each API call
    job_timeout_minutes: Annotated[int, Interval(ge=1, le=150)] = 30  # Device Farm allows at most 150

    def validate(self, file: str, prefix: str) -> None:
        if not re.fullmatch(r"arn:aws:devicefarm:[a-z0-9-]+:\d{12}:project:[\w-]+", self.project_arn):
            raise ConfigError(
                file,
                prefix + "project_arn",
                f"not a Device Farm project ARN (arn:aws:devicefarm:us-west-2:<account>:project:<id>): {self.project_arn!r}",
            )
        if self.device_pool_arn is not None and ":devicepool:" not in self.device_pool_arn:
            raise ConfigError(file, prefix + "device_pool_arn", f"not a device pool ARN: {self.device_pool_arn!r}")
        if self.device_pool_arn and self.filters:
            raise ConfigError(file, prefix + "filters", "give device_pool_arn or filters, not both")
        # these are rendered into shell commands of the test spec: allow no shell metacharacters
        check_app_names(file, prefix, self.package, self.activity)
        if not re.fullmatch(r"/[\w./{}-]+", self.remote_dir):
            raise ConfigError(
                file, prefix + "remote_dir", f"must be an absolute device path of letters, digits, . _ - /: {self.remote_dir!r}"
            )

    @property
    def device_dir(self) -> str:
        return self.remote_dir.replace("{package}", self.package).rstrip("/")
