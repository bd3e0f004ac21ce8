"""Training: a killed run resumes to the same weights; DDP over 2 gloo processes equals one process."""

import csv
import os
import socket
import subprocess
import sys

import pytest
import torch
from conftest import REPO

from ssicbench.training.checkpoint import load_checkpoint
from ssicbench.training.config import TrainConfig
from ssicbench.training.loop import LAST, Trainer

TINY_HYPERPRIOR = {"arch": "bmshj2018-hyperprior", "model": {"N": 8, "M": 12}}


def config(image_folder, **kw) -> TrainConfig:
    base = dict(
        patch_size=64,
        batch_size=4,
        steps=6,
        lr=1e-3,
        milestones=[4],
        checkpoint_every=2,
        log_every=1,
        eval_every=0,
        dataset=str(image_folder),
        device="cpu",
    )
    return TrainConfig.from_dict({**TINY_HYPERPRIOR, **base, **kw})


def assert_same_weights(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0 if atol == 0 else 1e-5, msg=key)


def test_killed_run_resumes_to_the_same_weights(image_folder, tmp_path, monkeypatch):
    Trainer(config(image_folder), tmp_path / "straight").run()
    straight = load_checkpoint(tmp_path / "straight" / LAST)

    real_step = Trainer.train_step

    def dies_at_step_5(self):
        if self.step == 5:
            raise KeyboardInterrupt  # stands in for SIGKILL: steps after the checkpoint at 4 are lost
        return real_step(self)

    monkeypatch.setattr(Trainer, "train_step", dies_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config(image_folder), tmp_path / "killed").run()
    assert load_checkpoint(tmp_path / "killed" / LAST)["step"] == 4
    monkeypatch.setattr(Trainer, "train_step", real_step)
    Trainer(config(image_folder), tmp_path / "killed").run()
    resumed = load_checkpoint(tmp_path / "killed" / LAST)

    assert resumed["step"] == straight["step"] == 6
    assert_same_weights(straight["model"], resumed["model"])


def test_resumed_run_follows_the_schedule_of_its_new_config(image_folder, tmp_path):
    run = tmp_path / "run"
    Trainer(config(image_folder, steps=4, milestones=[100]), run).run()
    # extended and decayed by another factor: the new milestone (2) lies before the resume point (4), so the decay
    # applies at once, and the one ahead (5) decays by the new gamma too
    Trainer(config(image_folder, steps=6, milestones=[2, 5], gamma=0.5), run).run()
    state = load_checkpoint(run / LAST)
    assert state["step"] == 6
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 0.5**2)
    lrs = {int(float(r["step"])): float(r["lr"]) for r in csv.DictReader(open(run / "train_log.csv"))}
    assert lrs[4] == pytest.approx(1e-3) and lrs[5] == pytest.approx(2.5e-4) and lrs[6] == pytest.approx(2.5e-4)


def test_resumed_run_needs_no_init_weights(image_folder, tmp_path):
    """A run started from exported weights resumes from its own checkpoint after those weights are gone."""
    from ssicbench.training.export import write_weights

    first = Trainer(config(image_folder, steps=2), tmp_path / "first")
    first.run()
    init = write_weights(first.trainable, tmp_path / "init.pth", first.step)
    Trainer(config(image_folder, steps=2, init=str(init)), tmp_path / "run").run()
    init.unlink()
    Trainer(config(image_folder, steps=4, init=str(init)), tmp_path / "run").run()
    assert load_checkpoint(tmp_path / "run" / LAST)["step"] == 4


def test_checkpoint_is_written_atomically(image_folder, tmp_path):
    Trainer(config(image_folder, steps=2), tmp_path / "run").run()
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.suffix == ".tmp") == []
    state = load_checkpoint(tmp_path / "run" / LAST)
    assert {"model", "optimizer", "aux_optimizer", "rng", "step", "config"} <= state.keys()
    log = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    assert log[0].startswith("loss,bpp,mse") and len(log) == 3


SMALL_SSIC = {
    "embed_dim_g": [16, 24, 32, 40],
    "depths_g": [2, 2, 2, 2],
    "num_heads_g": [2, 2, 4, 4],
    "embed_dim_h": [32, 32],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_gloo_processes_equal_one_process(image_folder, tmp_path):
    """Same global batch, split over 2 processes: DDP's averaged gradients give the single-process weights."""
    import json

    cfg = config(image_folder, arch="ssic-charm", model=SMALL_SSIC, noisy=False, steps=3, checkpoint_every=3)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    Trainer(cfg, tmp_path / "one").run()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        str(REPO / "run_bench.py"),
        "train",
        "--config",
        str(tmp_path / "cfg.json"),
        "--out",
        str(tmp_path / "two"),
    ]
    subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=600)
    one, two = load_checkpoint(tmp_path / "one" / LAST), load_checkpoint(tmp_path / "two" / LAST)
    assert one["step"] == two["step"] == 3
    assert_same_weights(one["model"], two["model"], atol=1e-5)


def test_exported_checkpoint_loads_in_the_ssic_codec_and_decodes(image_folder, tmp_path):
    from conftest import smooth_image

    from ssicbench.codecs import Bitstream, create_codec
    from ssicbench.training.export import export_checkpoint

    cfg = config(image_folder, arch="ssic-charm", model=SMALL_SSIC, steps=2)
    Trainer(cfg, tmp_path / "run").run()
    path = export_checkpoint(tmp_path / "run", tmp_path / "ssic.pth")
    codec = create_codec("ssic-charm", checkpoint=str(path), config=SMALL_SSIC)
    image = smooth_image(64, 96)
    decoded = codec.decode(Bitstream.from_bytes(codec.encode(image, 1).to_bytes()))
    assert decoded.shape == image.shape and decoded.dtype == image.dtype


def test_init_starts_from_exported_weights(image_folder, tmp_path):
    from ssicbench.training.export import export_checkpoint

    cfg = config(image_folder, arch="ssic-charm", model=SMALL_SSIC, steps=1)
    Trainer(cfg, tmp_path / "first").run()
    path = export_checkpoint(tmp_path / "first", tmp_path / "first.pth")
    second = Trainer(
        config(image_folder, arch="ssic-charm", model=SMALL_SSIC, steps=1, init=str(path), seed=7), tmp_path / "second"
    )
    first_state = load_checkpoint(tmp_path / "first" / LAST)["model"]
    own = second.model.state_dict()
    assert all(
        torch.equal(own[k], first_state[k])
        for k in first_state
        if "quantiles" not in k and "_cdf" not in k and "_offset" not in k
    )
    second.run()  # a fine-tuned run (its state now carries the init's tables) still exports
    assert export_checkpoint(tmp_path / "second", tmp_path / "second.pth").is_file()


def test_bfloat16_autocast_trains(image_folder, tmp_path):
    record = Trainer(
        config(image_folder, arch="ssic-charm", model=SMALL_SSIC, steps=2, amp=True), tmp_path / "amp"
    ).run()
    assert torch.isfinite(torch.tensor(record["loss"])) and record["bpp"] > 0


def test_periodic_evaluation_reports_bpp_from_real_bytes(image_folder, tmp_path):
    cfg = config(
        image_folder,
        arch="ssic-charm",
        model=SMALL_SSIC,
        steps=2,
        eval_every=2,
        eval_dataset=str(image_folder),
        eval_images=2,
    )
    Trainer(cfg, tmp_path / "run").run()
    rows = (tmp_path / "run" / "eval_log.csv").read_text().splitlines()
    assert rows[0] == "step,bpp,psnr,images"
    step, bpp, psnr, images = rows[1].split(",")
    assert step == "2" and float(bpp) > 0 and 0 < float(psnr) < 60 and images == "2"
    assert (tmp_path / "run" / "tensorboard").is_dir()


def test_unsupported_mask_source_is_refused(image_folder):
    from ssicbench.errors import BenchError

    with pytest.raises(BenchError, match="masks: expected one of random, none"):
        config(image_folder, masks="some/folder")


def test_progress_line_shows_loss_rate_psnr_speed_and_time_left():
    from ssicbench.training.loop import progress_line

    line = progress_line({"step": 50, "loss": 1.25, "bpp": 0.5, "mse": 0.001, "elapsed_s": 10.0}, 200, 5.0)
    assert line.startswith("step 50/200 (25%)")
    assert "loss=1.25" in line and "bpp=0.5" in line and "psnr=30.00 dB" in line
    assert "5.00 steps/s, 0.5 min left" in line


@pytest.mark.parametrize("arch", ["ssic-hyper", "ssic-wostructure"])
def test_structured_variants_and_only_they_train_with_group_masks(arch, image_folder, tmp_path, monkeypatch):
    """The variant table decides: ssic-hyper codes groups, so it trains on the sampled group masks."""
    from ssicbench.codecs.ssic import SSIC_VARIANTS, SSICModel

    seen = []
    forward_train = SSICModel.forward_train

    def spy(self, x, groups, *args):
        seen.append(groups)
        return forward_train(self, x, groups, *args)

    monkeypatch.setattr(SSICModel, "forward_train", spy)
    cfg = config(image_folder, arch=arch, model=SMALL_SSIC, patch_size=64, steps=1, mask_empty_prob=0.0)
    Trainer(cfg, tmp_path / "run").run()
    if SSIC_VARIANTS[arch].structured:
        assert seen[0].shape == (4, 4, 4) and seen[0].max() > 0  # irregular groups at 1/16, as the codec codes
    else:
        assert seen[0] is None


def test_warm_up_ramps_the_learning_rate_then_follows_the_milestones(image_folder, tmp_path):
    Trainer(config(image_folder, steps=6, warmup_steps=3, milestones=[5], gamma=0.5), tmp_path / "run").run()
    lrs = {int(float(r["step"])): float(r["lr"]) for r in csv.DictReader(open(tmp_path / "run" / "train_log.csv"))}
    # the lr logged at step s is the one step s+1 will use: (s+1)/3 of 1e-3 while warming up, then 1e-3, halved at 5
    assert [lrs[s] for s in range(1, 7)] == pytest.approx([2e-3 / 3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4])
