"""Published curves ship with the suite and load by curated name, file, folder or glob; every one loads,
labels are unique, and a malformed file is refused with its path and the field at fault."""

import json

import numpy as np
import pytest

from ssicbench.cli import main
from ssicbench.errors import UnknownNameError
from ssicbench.published import curated_sets, load_published, published_dir, resolve_published
from ssicbench.results import PublishedDataError, read_compressai_json


def test_every_shipped_published_json_loads(published_dir):
    files = sorted(published_dir.glob("*.json"))
    assert len(files) >= 50
    for path in files:
        curve = read_compressai_json(path)
        assert len(curve.bpp) >= 4 and np.all(np.diff(curve.bpp) >= 0), path.name
        assert curve.metric("psnr") is not None or curve.metric("ms_ssim_db") is not None, path.name


def test_the_full_set_has_one_unique_label_per_file(published_dir):
    curves = load_published(["kodak-all"])
    names = [c.name for c in curves]
    assert len(curves) == len(list(published_dir.glob("*.json"))) and len(set(names)) == len(names)
    assert "bmshj2018-factorized (MS-SSIM, CUDA)" in names and "bmshj2018-factorized (MSE, CPU)" in names


def test_the_ssic_paper_curve_is_marked_as_read_off_a_figure():
    (curve,) = load_published([str(published_dir() / "paper-ssic2023-charm.json")])
    assert curve.figure_read and curve.published and "approximate" in curve.description
    assert curve.bpp.tolist() == [0.355, 0.53, 0.74, 1.03, 1.39]
    assert curve.metric("psnr").tolist() == [32.9, 34.8, 36.7, 38.5, 40.4]


def test_every_curated_set_names_existing_files_and_the_default_set_has_the_anchors():
    for name, entry in curated_sets().items():
        assert entry["description"] and resolve_published([name]), name
        for pattern in entry["files"]:
            assert list(published_dir().glob(pattern)), f"{name}: {pattern}"
    names = {c.name for c in load_published(["kodak"])}
    assert {"VTM", "JPEG", "WebP", "BPG 8b 444 x265 ycbcr", "elic2022 (MSE)", "SSIC paper (structured ChARM)"} <= names


def test_names_folders_and_globs_resolve_without_duplicates():
    by_glob = resolve_published([str(published_dir() / "compressai-*_mse_cpu.json")])
    assert len(by_glob) == 6 and all(p.name.endswith("_mse_cpu.json") for p in by_glob)
    both = resolve_published(["kodak", str(published_dir())])
    assert len(both) == len(set(both)) == len(list(published_dir().glob("*.json")))


def test_an_unknown_curated_name_lists_the_available_ones():
    with pytest.raises(UnknownNameError, match="curated sets: kodak, kodak-traditional, kodak-all"):
        resolve_published(["kodka"])
    with pytest.raises(UnknownNameError, match="matches no file"):
        resolve_published(["/nowhere/*.json"])


GOOD = {"name": "X", "results": {"bpp": [0.1, 0.2, 0.4, 0.8], "psnr-rgb": [28.0, 31.0, 34.0, 37.0]}}


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d.pop("results"), "'results' is missing"),
        (lambda d: d.update(results=[1, 2]), "'results' is not an object"),
        (lambda d: d["results"].pop("bpp"), "'results.bpp' is missing"),
        (lambda d: d["results"].update(bpp=[0.1, 0.2, None, 0.8]), "'results.bpp' must be a list of finite numbers"),
        (lambda d: d["results"].update(bpp=[0.0, 0.2, 0.4, 0.8]), "'results.bpp' must hold positive rates"),
        (lambda d: d["results"].update({"psnr-rgb": [28.0, 31.0]}), "'results.psnr-rgb' has 2 values, 'bpp' has 4"),
        (lambda d: d["results"].update({"psnr-rgb": "high"}), "'results.psnr-rgb' must be a list of finite numbers"),
        (lambda d: d["results"].pop("psnr-rgb"), "holds no quality metric"),
        (lambda d: d.update(name=7), "'name' must be a string"),
        (lambda d: d.update(read_off_figure="yes"), "'read_off_figure' must be true or false"),
    ],
)
def test_a_malformed_published_json_is_refused_with_its_path_and_field(tmp_path, mutate, field):
    data = json.loads(json.dumps(GOOD))
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PublishedDataError) as info:
        read_compressai_json(path)
    assert str(path) in str(info.value) and field in str(info.value)


def test_report_cli_refuses_bad_published_input_in_one_line(tmp_path, capsys):
    (tmp_path / "run" / "compressai").mkdir(parents=True)
    (tmp_path / "run" / "compressai" / "jpeg.json").write_text(json.dumps(GOOD))
    (tmp_path / "bad.json").write_text("{not json")
    for spec, message in [("kodka", "curated sets: kodak"), (str(tmp_path / "bad.json"), "bad.json is not JSON")]:
        assert main(["report", str(tmp_path / "run"), "--published", spec, "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and message in err
