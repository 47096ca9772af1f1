"""RAPL energy: counters read from a powercap tree, wraparound handled, a reason where none exists."""

from flint_bench.bench.energy import energy_section, read_rapl


def powercap(root, uj, max_uj=1_000_000):
    for name, value in uj.items():
        zone = root / name
        zone.mkdir(exist_ok=True)
        (zone / "energy_uj").write_text(f"{value}\n")
        (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return root


def test_energy_of_two_packages_with_one_counter_wrapping(tmp_path):
    (tmp_path / "intel-rapl:0:0").mkdir()  # a sub-zone (core) is inside its package's figure: not added
    start = read_rapl(powercap(tmp_path, {"intel-rapl:0": 100_000, "intel-rapl:1": 900_000}))
    end = read_rapl(powercap(tmp_path, {"intel-rapl:0": 2_100_000 % 1_000_000 + 0, "intel-rapl:1": 200_000}))
    section = energy_section(start, end)
    # package 0: 100 000 -> 100 000 read as no change; package 1 wrapped: 900 000 -> 1 000 000 -> 200 000
    assert section["joules"] == 0.3 and section["method"] == "rapl"
    assert "intel-rapl:0, intel-rapl:1" in section["detail"]


def test_no_counters_is_null_with_the_reason(tmp_path):
    reading = read_rapl(tmp_path)
    assert isinstance(reading, str) and "absent" in reading
    section = energy_section(reading, reading)
    assert section["joules"] is None and section["method"].startswith("not measured: no RAPL counters")


def test_an_unreadable_counter_says_so(tmp_path):
    (tmp_path / "intel-rapl:0").mkdir()
    reading = read_rapl(tmp_path)
    assert isinstance(reading, str) and "not readable" in reading
