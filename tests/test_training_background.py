"""Background training: each round trains every rate point further and replaces the exported weights only when
the held-out validation cost improves; a restart resumes the runs, and a new run measures the weights it must beat."""

import shutil

import pytest
from test_training import SMALL_SSIC, config

from ssicbench.training import background
from ssicbench.training.background import ValidationLog, train_in_background, validation_images
from ssicbench.training.export import write_weights
from ssicbench.training.models import build_trainable


def test_validation_photos_are_two_held_out_package_photos_not_kodak():
    from ssicbench.datasets import file_digest, kodak_checksums
    from ssicbench.training.images import VALIDATION_PHOTOS, package_photo_paths

    paths = package_photo_paths(VALIDATION_PHOTOS)
    assert len(paths) == len(validation_images()) == 2
    assert not {file_digest(p, "sha256") for p in paths} & set(kodak_checksums().values())


def test_real_validation_codes_the_photos_to_bytes_and_exports_a_first_run(image_folder, tmp_path):
    configs = {"q1": config(image_folder, arch="ssic-charm", model=SMALL_SSIC, lmbda=0.01)}
    log = train_in_background(configs, tmp_path / "runs", tmp_path / "zoo", tmp_path / "log.csv", chunk=1, rounds=1)
    (row,) = log.rows
    assert row["step"] == "1" and row["exported"] == "1" and 0 < float(row["bpp"]) < 24
    assert float(row["cost"]) == pytest.approx(0.01 * 255**2 * float(row["mse"]) + float(row["bpp"]), rel=1e-4)
    assert (tmp_path / "zoo" / "q1.pth").is_file()


def test_only_improvements_replace_the_exported_weights_and_a_restart_keeps_the_bar(
    image_folder, tmp_path, monkeypatch
):
    costs = iter([0.5, 0.4, 0.45, 0.3, 0.35, 0.6, 0.55])  # shipped, round 1, 2, 3 ... as validation measures them
    measured = []

    def fake_validate(weights, cfg, images):
        measured.append(weights.read_bytes())
        cost = next(costs)
        return {"bpp": cost, "psnr": 30.0, "mse": 0.0, "cost": cost}

    monkeypatch.setattr(background, "validate", fake_validate)
    monkeypatch.setattr(background, "validation_images", lambda: [])
    zoo = tmp_path / "zoo"
    write_weights(build_trainable("ssic-charm", SMALL_SSIC), zoo / "q1.pth", step=0)  # the shipped weights
    runs, log_path = tmp_path / "runs", tmp_path / "log.csv"

    def train(rounds):
        cfg = config(image_folder, arch="ssic-charm", model=SMALL_SSIC)
        return train_in_background({"q1": cfg}, runs, zoo, log_path, chunk=1, rounds=rounds)

    log = train(rounds=2)
    assert [(r["step"], r["cost"], r["exported"]) for r in log.rows] == [
        ("0", "0.5", "1"),  # the shipped weights are measured first: the bar
        ("1", "0.4", "1"),  # better: exported
        ("2", "0.45", "0"),  # worse than 0.4: the exported file stays round 1's
    ]
    assert (zoo / "q1.pth").read_bytes() == measured[1]
    log = train(rounds=2)  # a restart: resumes at step 2, does not re-measure the shipped weights
    assert [(r["step"], r["cost"], r["exported"]) for r in log.rows[3:]] == [("3", "0.3", "1"), ("4", "0.35", "0")]
    assert ValidationLog(log_path).best("q1") == 0.3
    assert (zoo / "q1.pth").read_bytes() == measured[3]
    write_weights(build_trainable("ssic-charm", SMALL_SSIC), zoo / "q1.pth", step=0)  # the export is lost ...
    shutil.rmtree(runs)  # ... with its run folder: the weights now in the zoo are measured again, the new bar
    log = train(rounds=1)
    assert [(r["step"], r["cost"], r["exported"]) for r in log.rows[5:]] == [("0", "0.6", "1"), ("1", "0.55", "1")]
    assert ValidationLog(log_path).best("q1") == 0.55


def test_the_one_shot_gpu_script_runs_on_the_cpu_and_leaves_weights_and_logs(image_folder, tmp_path):
    import json
    import tarfile

    from ssicbench.training.oneshot import train_once

    configs = []
    for name, lmbda in (("tiny-q1", 0.003), ("tiny-q2", 0.03)):
        cfg = config(image_folder, arch="ssic-charm", model=SMALL_SSIC, lmbda=lmbda).to_dict()
        (tmp_path / f"{name}.json").write_text(json.dumps(cfg))
        configs.append(tmp_path / f"{name}.json")
    zoo = tmp_path / "zoo"
    write_weights(build_trainable("ssic-charm", SMALL_SSIC), zoo / "tiny-q1.pth", step=0)  # shipped for q1 only
    out = train_once(tmp_path / "out", 70, batch_size=2, device="cpu", chunk=2, configs=tuple(configs), zoo=zoo)
    assert sorted(p.name for p in out.iterdir()) == [
        "tiny-q1.pth",
        "tiny-q2.pth",
        "train_logs.tar.gz",
        "validation_log.csv",
    ]
    log = ValidationLog(out / "validation_log.csv")
    assert log.best("tiny-q1") is not None and log.best("tiny-q2") is not None
    assert [r["step"] for r in log.rows if r["config"] == "tiny-q1"][0] == "0"  # the shipped weights, measured first
    with tarfile.open(out / "train_logs.tar.gz") as archive:
        assert {"tiny-q1_train_log.csv", "tiny-q2_train_log.csv"} <= set(archive.getnames())
