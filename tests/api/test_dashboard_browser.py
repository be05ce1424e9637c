"""The dashboard in a real browser: Debian's chromium, headless, driven through its
chromium-driver. Images posted to a real server show up live (counters, the last image,
a table row), the detail view shows one inspection, and marking its verdict wrong puts
the image in the training data. Screenshots go to the test's output folder.

Skipped where chromium and chromium-driver are not installed (``apt-get install
chromium chromium-driver``); CI installs them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.api.test_history_api import post, project
from tests.conftest import Server

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    assert CHROMIUM is not None and DRIVER is not None
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1366,900", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def text_of(browser: WebDriver, element_id: str) -> str:
    return str(browser.find_element(By.ID, element_id).text)


def wait(browser: WebDriver, check: Callable[[WebDriver], object], seconds: float = 20) -> None:
    WebDriverWait(browser, seconds, poll_frequency=0.1).until(check)


def shot(browser: WebDriver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    return path


def test_posted_images_show_up_live_and_a_wrong_verdict_becomes_training_data(
    tmp_path: Path, serve: Callable[..., Server], browser: WebDriver
) -> None:
    folder = project(tmp_path)
    server = serve(folder)
    browser.get(server.url + "/")
    wait(browser, lambda b: text_of(b, "status").lower().startswith("live"))
    for data in ("good", "good", "bad", "boom", "good"):
        post(server, data)
    wait(browser, lambda b: text_of(b, "count-ok") == "3" and text_of(b, "count-nok") == "1")
    assert text_of(browser, "count-error") == "1" and text_of(browser, "yield").startswith("75")
    wait(browser, lambda b: b.execute_script(
        "const i = document.getElementById('live-image'); return i.complete && i.naturalWidth"
    ) == 400)
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#inspections tbody tr")) == 5)
    shot(browser, tmp_path, "dashboard")

    Select(browser.find_element(By.ID, "filter-result")).select_by_value("nok")
    wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#inspections tbody tr")) == 1)
    row = browser.find_element(By.CSS_SELECTOR, "#inspections tbody tr")
    record_id = row.get_attribute("data-id")
    row.click()
    wait(browser, seen.visibility_of_element_located((By.ID, "detail")))
    wait(browser, lambda b: '"data": "bad"' in text_of(b, "detail-context"))
    assert "verdict" in text_of(browser, "detail-timings")
    wait(browser, lambda b: b.execute_script(
        "const i = document.getElementById('detail-image'); return i.complete && i.naturalWidth"
    ) == 400)
    shot(browser, tmp_path, "detail")

    browser.find_element(By.ID, "review-wrong").click()
    copied = folder / "to_label" / f"reviewed_{record_id}.png"
    wait(browser, lambda b: copied.is_file() and "to_label" in text_of(b, "review-status"))
    listed = requests.get(f"{server.url}/api/reviews", timeout=10).json()["items"]
    assert [str(item["id"]) for item in listed] == [record_id]
    browser.find_element(By.ID, "review-undo").click()
    wait(browser, lambda b: not copied.exists())
    shot(browser, tmp_path, "undone")


def test_with_an_api_key_the_dashboard_asks_for_it_once(
    tmp_path: Path, serve: Callable[..., Server], browser: WebDriver
) -> None:
    server = serve(project(tmp_path), "--api-key", "line-7")
    browser.get(server.url + "/")
    wait(browser, seen.visibility_of_element_located((By.ID, "key-form")))
    browser.find_element(By.ID, "key-input").send_keys("line-7\n")
    post(server, "bad", api_key="line-7")
    wait(browser, lambda b: text_of(b, "count-nok") == "1")
    browser.refresh()  # kept for the session: no second prompt
    wait(browser, lambda b: text_of(b, "count-nok") == "1")
    assert not browser.find_element(By.ID, "key-form").is_displayed()
