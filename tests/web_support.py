"""Support for the browser tests: a real uvicorn server on a free port, Debian's Chromium
driven by Playwright, and screenshots that must not be blank.

Chromium comes from apt (``make install`` installs it when missing); Playwright's own
browser download is never used. Without either the tests skip, which CI
(``OPENBUREAU_REQUIRE_ALL``) counts as a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("OPENBUREAU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "screenshots"
ADMIN_KEY = "admin-secret"  # what conftest_service.World sends


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free port; yield its base URL."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (the system one), or skip saying how to get it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: run make install")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: run make install (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def assert_not_blank(path: Path, min_colours: int = 40, min_ink: float = 0.03) -> None:
    """A rendered page has many distinct colours and is not (nearly) all white."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3).astype(np.uint32)
    colours = len(np.unique(pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2]))
    ink = float((pixels.min(axis=1) < 235).mean())
    assert colours >= min_colours, f"{path.name}: only {colours} distinct colours"
    assert ink >= min_ink, f"{path.name}: {ink:.1%} of pixels are not near-white"


def screenshot(page: Any, folder: Path, name: str, full_page: bool = True) -> Path:
    """Write a screenshot, check it is not blank, copy it to benchmarks/results/screenshots."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert_not_blank(path)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)
    return path


def js_round(x: float) -> int:
    """JavaScript's Math.round (halves up), which the pages use to show a score."""
    import math

    return math.floor(x + 0.5)
