"""The report as a person sees it: headless Chromium, network off, no console errors, the sections
and plots rendered, injected names inert. A screenshot is kept in test-artifacts/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from records_synth import ELIGIBILITY, farm_like, write_folder, write_simulation

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/install-report.sh)",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--proxy-server=127.0.0.1:9",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1280,900",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    # network off: anything the page tried to fetch would fail and show up as a console error
    driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def report_file(
    real_records,
    tmp_path_factory,
):
    from flint_bench.report.inputs import make_context
    from flint_bench.report.render import render_html

    root = tmp_path_factory.mktemp("browser_report")
    results = write_folder(root / "results", farm_like(real_records, EVIL))
    elig = root / "elig.json"
    elig.write_text(json.dumps(ELIGIBILITY))
    html = render_html(make_context(results, eligibility=elig, simulation=write_simulation(root / "sim")))
    out = root / "report.html"
    out.write_text(html)
    return out


def test_report_in_headless_chromium(browser, report_file):
    from selenium.webdriver.common.by import By

    browser.get(report_file.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert browser.execute_script("return window.__pwned") is None  # injected script and onerror never ran
    assert browser.find_elements(By.TAG_NAME, "script") == [] and browser.find_elements(By.TAG_NAME, "img") == []
    body = browser.find_element(By.TAG_NAME, "body").text
    assert EVIL in body  # the device name is readable as text

    for section in (
        "summary",
        "table5",
        "training-time",
        "resources",
        "compatibility",
        "eligibility",
        "simulation",
        "provenance",
    ):
        el = browser.find_element(By.ID, section)
        assert el.is_displayed() and el.size["height"] > 40, section
    svgs = browser.find_elements(By.CSS_SELECTOR, "svg")
    assert len(svgs) == 7
    for svg in svgs:  # laid out with a real size, and drawn (bars or lines inside)
        assert svg.size["width"] > 200 and svg.size["height"] > 50
        assert svg.find_elements(By.CSS_SELECTOR, "rect.bar, polyline")
    bars = browser.find_elements(By.CSS_SELECTOR, "#training-time rect.bar")
    assert len(bars) >= 5 and max(b.size["width"] for b in bars) > 100

    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height + 40, 12000))
    shot = ARTIFACTS / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    shutil.copy(report_file, ARTIFACTS / "report.html")


def test_report_prints(browser, report_file):
    """Printable: Chromium's print-to-PDF of the offline file gives a multi-page PDF."""
    import base64

    browser.get(report_file.as_uri())
    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 2
    (ARTIFACTS / "report.pdf").write_bytes(pdf)
