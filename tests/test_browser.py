"""A chapter's widget in a real browser: JupyterLab headless, Chromium driven by selenium, a slider moved.

Run by `make test-browser` (which installs Debian's chromium and chromium-driver and selenium); marked `browser`,
so `make unit` leaves it out. Without a browser it skips and says why. The screenshot goes to screenshots/.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "00_why_fuse.ipynb"
TOKEN = "course-browser-test"


def _browser():
    """(chromium, chromedriver) paths, or skip with the reason."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("no Chromium and ChromeDriver on PATH: `make test-browser` installs Debian's chromium and "
                    "chromium-driver")
    pytest.importorskip("selenium", reason="selenium is not installed: `make test-browser` installs it")
    return chromium, driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a copy of the chapter (so autosave never touches the committed notebook)."""
    (tmp_path / "lab").mkdir()
    shutil.copy(ROOT / "notebooks" / CHAPTER, tmp_path / "lab" / CHAPTER)
    port = _free_port()
    env = {**os.environ, "COURSE_QUICK": "1", "COURSE_PROGRESS": "0",
           "COURSE_RESULTS": str(tmp_path / "claims.json")}                 # leave the real ledger alone
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={tmp_path / 'lab'}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.disable_check_xsrf=True", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start within 60 s")
    yield url
    server.terminate()
    server.wait(timeout=30)


def _chrome(chromium, driver, profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def _wait(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def test_a_widget_slider_changes_its_output(lab, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    chromium, driver_path = _browser()
    browser = _chrome(chromium, driver_path, tmp_path / "profile")
    try:
        browser.get(f"{lab}/lab/tree/{CHAPTER}?token={TOKEN}")
        _wait(lambda: browser.execute_script(
            "const app = window.jupyterapp; const w = app && app.shell.currentWidget;"
            "return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
            " && w.sessionContext.session.kernel.status === 'idle');"), 120, "the notebook and its kernel")
        browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
        _wait(lambda: browser.execute_script(
            "const w = window.jupyterapp.shell.currentWidget;"
            "return w.content.widgets.every(c => c.model.type !== 'code' || c.model.executionCount !== null)"
            " && w.sessionContext.session.kernel.status === 'idle';"), 240, "every cell to run")
        interact = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".widget-interact"), 30, "the explorer")[0]
        output = lambda: interact.find_element(By.CSS_SELECTOR, ".widget-output").get_attribute("innerHTML")
        readout = lambda: interact.find_element(By.CSS_SELECTOR, ".widget-slider .widget-readout").text
        def settled():                                            # the same output one second apart
            first = output()
            time.sleep(1)
            return first if first and first == output() else None

        before = _wait(settled, 30, "the explorer's first output")
        value_before = readout()
        handle = interact.find_element(By.CSS_SELECTOR, ".widget-slider .noUi-handle, .widget-slider .ui-slider-handle")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
        handle.click()
        handle.send_keys(Keys.ARROW_RIGHT)
        after = _wait(lambda: (o := output()) != before and o, 60, "the output to follow the slider")
        assert readout() != value_before, "the slider did not move"
        browser.execute_script("arguments[0].scrollIntoView({block: 'end'});", interact)
        shots = ROOT / "screenshots"
        shots.mkdir(exist_ok=True)
        browser.save_screenshot(str(shots / "browser_widget.png"))
        assert "<img" in after or "<pre" in after, "the explorer's output after the move is empty"
    finally:
        browser.quit()
