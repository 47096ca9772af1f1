"""The device mapping: exact names, the mapping file, attributes, unknown; and the coverage figures."""

import pytest

from flint_bench.core.errors import UserError
from flint_bench.coverage import Attributes, distance, load_mapping, map_devices, normalise_model

from .conftest import sessions_frame


def test_normalise_model_folds_case_punctuation_and_spaces():
    assert normalise_model("Samsung  Galaxy-A10 ") == "samsung galaxy a10"
    assert normalise_model("moto g(8)") == normalise_model("Moto G 8")


def test_each_rule_in_order_and_no_device_model_dropped(hand_log, hand_profiles, write):
    mapping_file = load_mapping(write("map.csv", "pattern,measured_device\nSM-A10*,Galaxy A10\npixel*,Galaxy A52\n"))
    m = map_devices(hand_log, hand_profiles, mapping_file)
    rows = {r["device_model"]: r for r in m.table.to_dict(orient="records")}
    assert set(rows) == {"Pixel 7", "pixel-7", "SM-A105F", "Moto G", "iPhone 11", "Mystery"}  # none merged or dropped
    # the exact name wins over a mapping-file pattern that also matches
    assert (rows["Pixel 7"]["match"], rows["Pixel 7"]["measured_device"]) == ("exact", "Pixel 7")
    assert (rows["pixel-7"]["match"], rows["pixel-7"]["measured_device"]) == ("exact", "Pixel 7")
    assert (rows["SM-A105F"]["match"], rows["SM-A105F"]["measured_device"]) == ("file", "Galaxy A10")
    assert "row 2" in rows["SM-A105F"]["reason"]
    # two mid candidates at distance 0: the first name wins, the same on every run
    assert (rows["Moto G"]["match"], rows["Moto G"]["measured_device"]) == ("attributes", "Galaxy A52")
    assert rows["iPhone 11"]["match"] == "unknown" and "no measured iOS device of tier mid" in rows["iPhone 11"]["reason"]
    assert rows["Mystery"]["match"] == "unknown" and "device tier" in rows["Mystery"]["reason"]
    assert m.measured_for("SM-A105F") == "Galaxy A10" and m.measured_for("iPhone 11", "iOS") is None


def test_attributes_prefer_the_nearest_soc_and_ram(hand_profiles):
    log = sessions_frame([("Moto G", "Android", "mid", "12", 1)], soc=["Google Tensor G1"], ram_mb=[6000])
    assert map_devices(log, hand_profiles).measured_for("Moto G") == "Pixel 6a"  # same SoC family beats name order
    near, far = Attributes("Android", "mid", "tensor", 4096, 13), Attributes("Android", "mid", "tensor", 8192, 13)
    assert distance(near, Attributes("Android", "mid", "tensor", 4096, 13)) == 0
    assert distance(near, far) == pytest.approx(1.0)  # a factor of 2 in RAM


def test_coverage_shares_of_devices_and_sessions(hand_log, hand_profiles, write):
    m = map_devices(
        hand_log, hand_profiles, load_mapping(write("map.toml", '[[map]]\npattern = "SM-A10*"\nmeasured = "Galaxy A10"\n'))
    )
    c = m.coverage()
    assert c.devices == pytest.approx({"exact": 2 / 6, "file": 1 / 6, "attributes": 1 / 6, "unknown": 2 / 6})
    assert c.sessions == pytest.approx({"exact": 8 / 20, "file": 4 / 20, "attributes": 2 / 20, "unknown": 6 / 20})
    groups = {(g["platform"], g["device_tier"]): g for g in c.by_group}
    assert groups[("iOS", "mid")]["session_share"]["unknown"] == 1.0 and groups[("Android", "high")]["devices"] == 2
    assert groups[("Android", "(none)")]["sessions"] == 2
    assert c.unmapped == ["iPhone 11", "Mystery"] and c.warning() is None
    doc = c.as_dict()
    assert doc["sessions"] == 20 and doc["device_share"]["file"] == pytest.approx(1 / 6)


def test_no_device_mapped_is_a_warning(hand_log):
    from .conftest import profile_row, profiles_frame

    old_local = profiles_frame(profile_row("vm (local-cpu)", os="Linux", os_version="6.1"))  # no platform, no tier
    c = map_devices(hand_log, old_local).coverage()
    assert c.sessions["unknown"] == 1.0 and "no device model of the session log maps" in c.warning()


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("m.csv", "pattern,measured_device\nPixel*,Pixel 7\nGalaxy*,\n", "row 3"),
        ("m.csv", "model,device\nPixel*,Pixel 7\n", "row 1"),
        ("m.toml", '[[map]]\npattern = "Pixel*"\nmeasured = "Pixel 7"\n[[map]]\npattern = "x"\n', "map[1].measured"),
        ("m.toml", '[[map]]\npattern = "Pixel*"\nmesured = "Pixel 7"\n', "map[0].mesured"),
    ],
)
def test_a_bad_mapping_file_names_the_file_and_row(write, name, text, where):
    path = write(name, text)
    with pytest.raises(UserError) as e:
        load_mapping(path)
    assert str(path) in str(e.value) and where in str(e.value)


def test_a_mapping_row_naming_an_unmeasured_device_is_an_error(hand_log, hand_profiles, write):
    path = write("m.csv", "pattern,measured_device\nSM-*,Galaxy S99\n")
    with pytest.raises(UserError, match=r"m\.csv: row 2: measured device 'Galaxy S99' is not in the profiles"):
        map_devices(hand_log, hand_profiles, load_mapping(path))
