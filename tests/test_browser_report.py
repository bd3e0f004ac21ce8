"""The browser report (`index.html`): it holds every curve and metric of the run, shows exactly the pixels the
receiver decoded, stays whole when written for other runs' folders, and works in a real headless browser (Debian's
chromium through selenium): no console errors, one drawn curve per curve of the metric, two decodes side by side
or under a slider, both zooming together, the group-mask overlay toggling, BD tables sorting."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from browser import CHROMEDRIVER, CHROMIUM, chromium
from PIL import Image

from ssicbench.cli import main
from ssicbench.codecs import create_codec
from ssicbench.datasets import load_dataset
from ssicbench.html_report import write_page
from ssicbench.imageio import load_image
from ssicbench.results import Curve


def page_json(page: Path) -> dict:
    text = page.read_text()
    found = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A small Kodak run on the shipped group masks: JPEG and WebP whole, the bundled SSIC whole and objects-only."""
    folder = tmp_path_factory.mktemp("page")
    config = {
        "dataset": "kodak",
        "limit": 2,
        "metrics": ["psnr", "ms-ssim"],
        "codecs": [
            {"name": "jpeg", "qualities": [10, 30, 50, 70], "masks": "kodak"},
            {"name": "webp", "qualities": [30, 70], "masks": "kodak"},
            {"name": "ssic-tiny", "qualities": [1, 3], "masks": "kodak"},
            {"name": "ssic-tiny", "qualities": [1, 3], "masks": "kodak", "decode": "objects"},
        ],
        "report": {"anchors": ["jpeg"], "published": ["kodak"], "viewer_images": 1},
    }
    (folder / "c.json").write_text(json.dumps(config))
    assert main(["rd", "--config", str(folder / "c.json"), "--out", str(folder / "out"), "--quiet"]) == 0
    return folder / "out"


def test_the_page_holds_every_curve_and_metric_and_the_kept_decodes(run):
    data = page_json(run / "index.html")
    measured = {json.loads(p.read_text())["name"] for p in (run / "compressai").glob("*.json")}
    assert {c["name"] for c in data["curves"] if c["source"] == "measured"} == measured
    assert any(c["source"] == "published" for c in data["curves"])
    assert [m["name"] for m in data["metrics"]][:2] == ["psnr", "psnr_objects"]
    assert {m["name"] for m in data["metrics"]} >= {"psnr", "ms_ssim_db", "psnr_boundary"}
    [image] = data["images"]  # viewer_images 1: the first image only
    assert image["name"] == "kodim01.png" and image["not_kept"] == 0
    assert len(image["decodes"]) == 4 + 2 + 2 + 2 + 1  # and the original
    assert all(d["overlay"] and (run / d["overlay"]).is_file() for d in image["decodes"])
    objects = [d for d in image["decodes"] if d["curve"] == "ssic-tiny (objects only)"]
    assert all(d["received"].startswith("groups 1,") and "% of the pixels decoded" in d["received"] for d in objects)
    assert {t["name"] for t in data["tables"]} == {"bd_table", "bd_regions"}
    for decode in image["decodes"]:
        assert (run / decode["src"]).is_file()


def test_a_kept_decode_is_exactly_what_the_receiver_decoded(run):
    item = load_dataset("kodak")[0]
    image = load_image(item.path)
    codec = create_codec("jpeg")
    decoded = codec.decode(codec.encode(image, 30))
    [decode] = [
        d
        for d in page_json(run / "index.html")["images"][0]["decodes"]
        if d["curve"] == "jpeg" and d["quality"] == "30"
    ]
    np.testing.assert_array_equal(np.asarray(Image.open(run / decode["src"]).convert("RGB")), decoded)
    np.testing.assert_array_equal(np.asarray(Image.open(run / decode["original"]).convert("RGB")), image)


def test_a_report_for_other_runs_copies_their_pictures_so_it_stays_whole(run, tmp_path):
    source = tmp_path / "run"
    shutil.copytree(run, source)
    assert main(["report", str(source), "--out", str(tmp_path / "report"), "--anchor", "jpeg"]) == 0
    shutil.rmtree(source)
    data = page_json(tmp_path / "report" / "index.html")
    sources = [d[key] for d in data["images"][0]["decodes"] for key in ("src", "original", "overlay")]
    assert sources and all(s.startswith("report/from/run1/") and (tmp_path / "report" / s).is_file() for s in sources)
    assert (tmp_path / "report" / "report" / "report.js").is_file()


def test_no_curve_name_can_end_the_inlined_data_early(tmp_path):
    name = 'evil</script><script>alert("x")</script>'
    curve = Curve(name, {"bpp": [0.1, 0.2], "psnr": [30.0, 31.0]})
    page = write_page(tmp_path, [curve], {}, "<title>")
    assert page.read_text().count("</script>") == 2  # the data's and the report script's own
    assert page_json(page)["curves"][0]["name"] == name


# --- in a real browser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        why = "no chromium/chromedriver here (apt-get install chromium chromium-driver; .ci/run installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: {why}")
        pytest.skip(why)
    driver = chromium()
    yield driver
    driver.quit()


def test_the_page_works_in_a_real_browser(run, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    data = page_json(run / "index.html")
    browser.get((run / "index.html").as_uri())
    css = lambda selector: browser.find_elements(By.CSS_SELECTOR, selector)  # noqa: E731

    for metric in data["metrics"]:  # one drawn curve per curve that has the metric, and the table lists them
        browser.find_element(By.CSS_SELECTOR, f'#metric-buttons button[data-metric="{metric["name"]}"]').click()
        has = lambda c: any(p["values"].get(metric["name"]) is not None for p in c["points"])  # noqa: E731
        expected = [c["name"] for c in data["curves"] if has(c)]
        drawn = [g.get_attribute("data-name") for g in css("#chart g.curve")]
        assert drawn == expected and len(css("#curve-table tbody tr")) == len(expected), metric["name"]
    browser.find_element(By.CSS_SELECTOR, '#metric-buttons button[data-metric="psnr"]').click()
    legend = css('#legend .entry[data-name="jpeg"]')[0]
    legend.click()
    assert "hidden" in css('#chart g.curve[data-name="jpeg"]')[0].get_attribute("class")

    Select(browser.find_element(By.ID, "codec-a")).select_by_value("ssic-tiny (objects only)")
    Select(browser.find_element(By.ID, "quality-a")).select_by_value("3")
    Select(browser.find_element(By.ID, "codec-b")).select_by_value("jpeg")
    decodes = data["images"][0]["decodes"]
    a = next(d for d in decodes if d["curve"] == "ssic-tiny (objects only)" and d["quality"] == "3")
    nearest = min((d for d in decodes if d["curve"] == "jpeg"), key=lambda d: abs(d["bpp"] - a["bpp"]))
    b_quality = Select(browser.find_element(By.ID, "quality-b")).first_selected_option.get_attribute("value")
    assert b_quality == nearest["quality"]  # B defaults to the point nearest A's rate
    shown = css("#stage img.decode")
    assert [(i.get_attribute("data-curve"), i.get_attribute("data-quality")) for i in shown] == [
        ("ssic-tiny (objects only)", "3"),
        ("jpeg", nearest["quality"]),
    ]
    loaded = "return arguments[0].complete && arguments[0].naturalWidth"
    assert all(browser.execute_script(loaded, i) == 768 for i in shown)
    assert "received: groups 1," in browser.find_element(By.ID, "info-a").text

    overlay = css("#stage img.overlay")[0]
    assert not overlay.is_displayed()
    browser.find_element(By.ID, "mask-toggle").click()
    assert overlay.is_displayed()
    browser.find_element(By.ID, "mask-toggle").click()
    assert not overlay.is_displayed()

    def scales() -> list[float]:  # the zoom of each decode shown (the canvas transform's x scale)
        canvases = "[...document.querySelectorAll('#stage .canvas')]"
        script = f"return {canvases}.map(c => new DOMMatrix(getComputedStyle(c).transform).a)"
        return browser.execute_script(script)

    fit = scales()
    browser.find_element(By.CSS_SELECTOR, '#viewer-controls button[data-zoom="4"]').click()
    assert scales() == pytest.approx([4 * f for f in fit], rel=1e-4)  # both sides zoom together (CSS keeps 6 digits)
    browser.find_element(By.CSS_SELECTOR, '#viewer-controls button[data-zoom="1"]').click()
    assert scales() == pytest.approx(fit, rel=1e-4)

    Select(browser.find_element(By.ID, "mode-select")).select_by_value("slider")
    assert len(css("#stage .viewport")) == 1 and len(css("#stage img.decode")) == 2 and css("#slider")
    Select(browser.find_element(By.ID, "quality-b")).select_by_index(0)  # redrawing keeps one slider
    assert len(css("#slider")) == 1

    table = css('table.bd[data-table="bd_table"]')[0]

    def points() -> list[int]:
        return [int(r.find_elements(By.TAG_NAME, "td")[2].text) for r in table.find_elements(By.TAG_NAME, "tr")[1:]]

    assert points() != sorted(points())
    table.find_elements(By.TAG_NAME, "th")[2].click()  # "points", ascending
    assert points() == sorted(points())
    table.find_elements(By.TAG_NAME, "th")[2].click()  # descending
    assert points() == sorted(points(), reverse=True)

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    browser.find_element(By.ID, "mask-toggle").click()
    assert browser.save_screenshot(str(tmp_path / "page.png")) and (tmp_path / "page.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def task_run(tmp_path_factory) -> Path:
    """A task study on the embedded set: JPEG whole and the bundled SSIC objects-only, the offline detector."""
    out = tmp_path_factory.mktemp("task") / "out"
    argv = ["task", "--codec", "jpeg", "ssic-tiny", "--qualities", "1", "3", "--scenario", "full"]
    argv += ["--scenario", "objects", "--limit", "2", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    return out


def test_the_task_page_draws_ap_curves_and_the_detections_on_each_decode(task_run, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    data = page_json(task_run / "index.html")
    assert [m["name"] for m in data["metrics"]] == ["bbox_AP"]
    assert {c["name"] for c in data["curves"]} == {"jpeg full", "ssic-tiny full", "ssic-tiny objects"}
    assert {t["name"] for t in data["tables"]} >= {"ap_vs_bpp"}
    image = data["images"][0]
    assert len(data["images"]) == 2 and {d["curve"] for d in image["decodes"]} >= {"original full", "ssic-tiny objects"}
    assert any(d["detections"] for d in image["decodes"])
    assert all(det["score"] >= 0.3 for d in image["decodes"] for det in d["detections"])

    browser.get((task_run / "index.html").as_uri())
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart g.curve")) == 3
    [reference] = browser.find_elements(By.CSS_SELECTOR, "#chart g.reference")  # the originals' AP, as a line
    assert reference.get_attribute("data-name") == "original (uncompressed)" == data["references"][0]["name"]
    Select(browser.find_element(By.ID, "codec-a")).select_by_value("original full")
    boxes = browser.find_elements(By.CSS_SELECTOR, "#stage .viewport:first-child .detections rect")
    reference = next(d for d in image["decodes"] if d["curve"] == "original full")
    assert len(boxes) == len(reference["detections"]) > 0 and boxes[0].is_displayed()
    browser.find_element(By.ID, "detections-toggle").click()
    assert not boxes[0].is_displayed()
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_the_pose_page_draws_the_keypoints_on_the_image_with_people(tmp_path, browser):
    """Kodak's first 4 images with the shipped MoveNet as its own ground truth: the viewer picks kodim04 (the one
    with a person) and draws each visible keypoint of its detections."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    config = json.loads((Path(__file__).parents[1] / "configs" / "tasks" / "kodak-pose.json").read_text())
    config.update(codecs=[{"name": "jpeg", "qualities": [30]}], scenarios=["full"], limit=4, viewer_images=1)
    (tmp_path / "pose.json").write_text(json.dumps(config))
    assert main(["task", "--config", str(tmp_path / "pose.json"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    data = page_json(tmp_path / "out" / "index.html")
    [image] = data["images"]
    assert image["name"] == "kodim04.png"
    reference = next(d for d in image["decodes"] if d["curve"] == "original full")
    visible = sum(k[2] > 0 for d in reference["detections"] for k in d["keypoints"])
    assert visible >= 5

    browser.get((tmp_path / "out" / "index.html").as_uri())
    Select(browser.find_element(By.ID, "codec-a")).select_by_value("original full")
    drawn = browser.find_elements(By.CSS_SELECTOR, "#stage .viewport:first-child .detections circle")
    assert len(drawn) == visible
