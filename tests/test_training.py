"""Training: a killed run resumes to the same weights; DDP over 2 gloo processes equals one process."""

import os
import socket
import subprocess
import sys

import pytest
import torch

from ssicbench.training.checkpoint import load_checkpoint
from ssicbench.training.config import TrainConfig
from ssicbench.training.loop import LAST, Trainer

TINY_HYPERPRIOR = {"arch": "bmshj2018-hyperprior", "model": {"N": 8, "M": 12}}


def config(image_folder, **kw) -> TrainConfig:
    base = dict(patch_size=64, batch_size=4, steps=6, lr=1e-3, milestones=[4], checkpoint_every=2,
                log_every=1, eval_every=0, dataset=str(image_folder), device="cpu")
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
    assert resumed["scheduler"] == straight["scheduler"]


def test_checkpoint_is_written_atomically(image_folder, tmp_path):
    Trainer(config(image_folder, steps=2), tmp_path / "run").run()
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.suffix == ".tmp") == []
    state = load_checkpoint(tmp_path / "run" / LAST)
    assert {"model", "optimizer", "aux_optimizer", "scheduler", "rng", "step", "config"} <= state.keys()
    log = (tmp_path / "run" / "train_log.csv").read_text().splitlines()
    assert log[0].startswith("loss,bpp,mse") and len(log) == 3
