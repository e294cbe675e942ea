"""The page in a real headless browser (Debian's chromium and chromium-driver, driven by Selenium): choose a
real photo, read the total and the per-coin table off the page, see the annotated image; a screenshot is
left in the test's output directory."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.bean_counter.bean_counter_support import LABELS, PHOTOS

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(os.environ.get("BEAN_COUNTER_SCREENSHOTS", "test-output/bean-counter"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    assert shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER), "install chromium and chromium-driver (.ci/setup)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1100,1800",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.parametrize("name", sorted(LABELS))
def test_a_chosen_photo_is_counted_on_the_page(service, browser, name):
    label = LABELS[name]
    browser.get(f"{service.url}/")
    browser.find_element(By.ID, "photo").send_keys(str((PHOTOS / name).resolve()))
    wait = WebDriverWait(browser, 60)
    wait.until(expected_conditions.visibility_of_element_located((By.ID, "total")))
    wait.until(lambda b: b.execute_script("const i = document.getElementById('annotated');"
                                          "return i.complete && i.naturalWidth > 0"))

    assert browser.find_element(By.ID, "total").text == f"${label['total']:.2f}"
    rows = browser.find_elements(By.CSS_SELECTOR, "#coins tbody tr")
    counts = Counter({row.get_attribute("data-denomination"): int(row.find_elements(By.TAG_NAME, "td")[1].text)
                      for row in rows})
    assert counts == Counter(label["coins"])
    width = browser.execute_script("return document.getElementById('annotated').naturalWidth")
    assert width == {"63_cents.jpg": 1200, "82_cents.jpg": 288}[name]  # the long side at most 1600 px
    assert "Counted" in browser.find_element(By.ID, "status").text

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"page-{Path(name).stem}.png"
    assert browser.save_screenshot(str(shot))
    print(f"screenshot: {shot.resolve()}")


def test_a_file_that_is_no_photo_shows_the_error(service, browser, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    browser.get(f"{service.url}/")
    browser.find_element(By.ID, "photo").send_keys(str(text))
    status = browser.find_element(By.ID, "status")
    WebDriverWait(browser, 30).until(lambda _: "Could not count" in status.text)
    assert "not a JPEG or PNG" in status.text
    assert not browser.find_element(By.ID, "result").is_displayed()
