"""A headless Debian chromium driven by selenium, for the browser report's test and its README screenshots:
`python tests/browser.py results/default/index.html bench/data/page` writes `screenshot_curves.png` and
`screenshot_viewer.png` (256-colour PNGs, small enough to commit)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PIL import Image

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def chromium(width: int = 1300, height: int = 1100):
    """A selenium driver of the system chromium that keeps the page's console log (`get_log("browser")`)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def screenshots(page: Path, out_dir: Path) -> list[Path]:
    """The curves section and the image viewer (objects-only SSIC beside JPEG, group masks shown) as PNGs."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = chromium()
    try:
        driver.get(page.resolve().as_uri())
        curves, viewer = out_dir / "screenshot_curves.png", out_dir / "screenshot_viewer.png"
        driver.find_element(By.ID, "curves").screenshot(str(curves))
        codecs = [o.get_attribute("value") for o in Select(driver.find_element(By.ID, "codec-a")).options]
        partial = [c for c in codecs if "objects" in c]
        if partial:
            Select(driver.find_element(By.ID, "codec-a")).select_by_value(partial[0])
        driver.find_element(By.ID, "mask-toggle").click()
        driver.execute_script("document.getElementById('viewer').scrollIntoView()")
        driver.find_element(By.ID, "viewer").screenshot(str(viewer))
    finally:
        driver.quit()
    for path in (curves, viewer):
        Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    return [curves, viewer]


if __name__ == "__main__":
    for path in screenshots(Path(sys.argv[1]), Path(sys.argv[2])):
        print(path)
