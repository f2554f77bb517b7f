"""Headless Chromium for the dashboard's tests: Debian's chromium and chromedriver, driven by
selenium with the driver's path given (Selenium Manager never runs, so nothing is fetched).

When the browser cannot start, the test fails saying why: CI installs both packages
(.ci/run), so a skip would hide a broken setup.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@contextmanager
def chromium(width: int = 1400, height: int = 900) -> Iterator[webdriver.Chrome]:
    """A headless Chromium whose console log ``console_problems`` reads."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(
                f"{path} is missing: install Debian's chromium and chromium-driver "
                "(apt-get install chromium chromium-driver, as .ci/run does)"
            )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        pytest.fail(f"headless Chromium could not start: {exc.msg or exc}")
    try:
        yield driver
    finally:
        driver.quit()


def console_problems(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """The browser's errors and warnings since the last look (console, CSP, network)."""
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
