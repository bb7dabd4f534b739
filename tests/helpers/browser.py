"""A real headless Chromium for tests of the status page: Debian's ``chromium`` and
``chromium-driver`` driven by selenium, with nothing downloaded and no traffic but loopback.

Missing browser: skipped locally, failed under ``CI=true`` (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tests.helpers.skips import skip_or_fail

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

#: No first-run screens, no background traffic of the browser's own (updates, sync...).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900")


def chromium(profile: Path) -> Any:
    """A selenium driver on Debian's Chromium; ``profile``: a fresh user-data folder."""
    browser = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    driver = CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else shutil.which("chromedriver")
    if not browser or not driver:
        skip_or_fail("chromium and chromium-driver are not installed"
                     " (Debian: apt-get install chromium chromium-driver)")
    # Selenium Manager would look for drivers on the network otherwise.
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
