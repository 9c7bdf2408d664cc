"""Headless Chromium (Debian's package) for page tests, and a live server for it to visit."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


class LiveServer:
    """Serves a WSGI app on a free loopback port in a thread."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()


def _run(args: list[str]) -> subprocess.CompletedProcess:
    assert CHROMIUM, "chromium is not installed"
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )


def rendered_dom(url: str, width: int = 390, height: int = 844) -> str:
    """The DOM after Chromium loaded `url` (a phone-sized window by default)."""
    return _run([f"--window-size={width},{height}", "--dump-dom", url]).stdout


def screenshot(url: str, path: Path, width: int = 390, height: int = 844) -> Path:
    _run([f"--window-size={width},{height}", f"--screenshot={path}", url])
    return path


CHROMEDRIVER = shutil.which("chromedriver")


def phone_browser():
    """A Selenium-driven headless Chromium the size of a phone (Debian's chromium and chromium-driver)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, "--window-size=390,844"]:
        options.add_argument(flag)
    options.add_argument(
        "--user-agent=Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/156 Mobile Safari/537.36"
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # for csp_violations
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def csp_violations(browser) -> list[str]:
    """The Content-Security-Policy violations the browser's console reported since the last call."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Content-Security-Policy" in entry["message"]
    ]
