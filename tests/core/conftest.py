"""The toy model and its measured record as a fixture (tests/toy_record.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from toy_record import TOY_MANIFEST, TOY_MODEL, measured_record


@pytest.fixture
def toy():
    """The toy model, its manifest and `record(device_id)`."""
    return SimpleNamespace(model=TOY_MODEL, manifest=TOY_MANIFEST, record=measured_record)
