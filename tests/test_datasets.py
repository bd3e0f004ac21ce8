"""Datasets: the embedded default needs no download; the Kodak downloader keeps only verified files."""

import hashlib
import http.server
import threading
from functools import partial

import pytest

from ssicbench import datasets
from ssicbench.errors import BenchError, UnknownNameError
from ssicbench.imageio import load_image


@pytest.fixture
def http_root(tmp_path):
    """A file server on loopback serving `tmp_path/www`."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_embedded_dataset_is_offline_and_readable():
    items = datasets.load_dataset("embedded")
    assert len(items) == 6  # the same six labelled photos as the task study's
    assert [i.name for i in items] == sorted(
        i["file_name"] for i in datasets.DATASETS.create("embedded").ground_truth()["images"]
    )
    for item in items:
        image = load_image(item.path)
        assert image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= 256


def test_folder_dataset_lists_images_sorted(image_folder):
    items = datasets.load_dataset(str(image_folder))
    assert [i.name for i in items] == sorted(i.name for i in items) and len(items) == 4


def test_unknown_dataset_is_named():
    with pytest.raises(UnknownNameError, match="no-such-set"):
        datasets.load_dataset("no-such-set")


def test_kodak_download_verifies_checksums(tmp_path, http_root, monkeypatch):
    www, url = http_root
    files = {"kodim01.png": b"first image", "kodim02.png": b"second image"}
    for name, data in files.items():
        (www / name).write_bytes(data)
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    monkeypatch.setattr(datasets, "kodak_checksums", lambda: sums)
    dest = tmp_path / "kodak"
    items = datasets.kodak_dataset(root=dest, base_url=url).items
    assert [i.path.read_bytes() for i in items] == [files["kodim01.png"], files["kodim02.png"]]

    (www / "kodim02.png").write_bytes(b"tampered")
    (dest / "kodim02.png").unlink()
    with pytest.raises(datasets.DownloadError, match="sha256 mismatch"):
        datasets.kodak_dataset(root=dest, base_url=url)
    assert not (dest / "kodim02.png").exists()
    assert not list(dest.glob("*.part"))  # nothing half-written is left behind


def test_missing_download_is_a_clear_error(tmp_path, http_root):
    _, url = http_root
    with pytest.raises(datasets.DownloadError, match="404"):
        datasets.download_file(url + "absent.png", tmp_path / "absent.png")


def test_the_shipped_kodak_images_match_their_sha256(kodak_dir):
    sums = datasets.kodak_checksums()
    assert len(sums) == 24
    items = datasets.kodak_dataset().items
    assert [i.path.parent for i in items] == [kodak_dir] * 24  # the shipped copy, no download
    assert all(datasets.file_digest(i.path, "sha256") == sums[i.name] for i in items)


def test_incomplete_kodak_without_download_says_what_to_do(tmp_path):
    with pytest.raises(BenchError, match="data fetch kodak"):
        datasets.kodak_dataset(root=tmp_path, download=False)


def test_data_command_fetches_verifies_and_refuses_flags_a_dataset_does_not_take(capsys):
    from ssicbench.cli import main

    assert main(["data", "verify", "kodak"]) == 0 and "kodak: 24 images" in capsys.readouterr().out
    assert main(["data", "fetch", "embedded"]) == 0 and "embedded: 6 images" in capsys.readouterr().out
    assert main(["data", "fetch", "embedded", "--url", "http://x/"]) == 2
    assert capsys.readouterr().err.strip() == "error: dataset embedded takes no --url"
