"""The AWS Device Farm farm (see farm.py): settings (the [aws_devicefarm] table), bundle (test
spec, model bundle, results from artifacts), farm (one Device Farm run per model)."""

from .bundle import render_test_spec
from .farm import AwsDeviceFarm
from .settings import AwsSettings, DeviceFilter

__all__ = ["AwsDeviceFarm", "AwsSettings", "DeviceFilter", "render_test_spec"]
