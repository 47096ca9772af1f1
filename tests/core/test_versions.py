"""One version parser: the same answer for every caller, unknown versions handled one way."""

from __future__ import annotations

import pytest

from flint_bench.core.versions import version_at_least, version_sort_key, version_tuple


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17.2.1", (17, 2, 1)),
        ("6.18.44-fc", (6, 18, 44)),
        ("14", (14,)),
        ("v2.9", (2, 9)),
        (" 13 ", (13,)),
        (14, (14,)),
        ("", ()),
        (None, ()),
        ("beta", ()),
        ("..1", ()),
    ],
)
def test_version_tuple(text, expected):
    assert version_tuple(text) == expected


def test_at_least_pads_and_never_admits_an_unknown_version():
    assert version_at_least("14", "14.0") and version_at_least("14.0.1", "14")
    assert not version_at_least("13.9", "14")
    assert not version_at_least(None, "1") and not version_at_least("unknown", "0")


def test_unknown_versions_sort_first():
    assert sorted(["10", "unknown", "9.1", "10.0.1"], key=version_sort_key) == ["unknown", "9.1", "10", "10.0.1"]
