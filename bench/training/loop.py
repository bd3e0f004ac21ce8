"""The training loop: rate-distortion loss, Adam (+ auxiliary optimizer), multistep LR, clipping, DDP,
AMP, torch.compile, warm-up, atomic checkpoints that resume exactly, CSV/TensorBoard logs, periodic real-bytes eval."""

from __future__ import annotations

import bisect
import csv
import json
import logging
import math
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ssicbench.training.checkpoint import load_checkpoint, rng_state, save_atomic, set_rng_state
from ssicbench.training.config import TrainConfig
from ssicbench.training.data import PatchSampler, random_group_masks
from ssicbench.training.images import dead_leaves_pool, load_training_images, photo_palette
from ssicbench.training.models import RDForward, TrainableModel, build_trainable

__all__ = [
    "LAST",
    "Distributed",
    "MetricLog",
    "Trainer",
    "lr_at",
    "pick_device",
    "progress_line",
    "rd_loss",
    "training_sampler",
]

log = logging.getLogger(__name__)

LAST = "last.pt"


class Distributed:
    """Rank/world of a torchrun launch (WORLD_SIZE > 1), else a single process."""

    def __init__(self, device: torch.device):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    return torch.device(name)


def lr_at(cfg: TrainConfig, step: int) -> float:
    """The learning rate of step `step` (0-based): `cfg.lr` times `gamma` for each milestone reached, ramped up
    linearly over the first `warmup_steps` (fresh Adam moments on trained weights would otherwise jolt them)."""
    lr = cfg.lr * cfg.gamma ** bisect.bisect_right(sorted(cfg.milestones), step)
    if step < cfg.warmup_steps:
        lr *= (step + 1) / cfg.warmup_steps
    return lr


def rd_loss(cfg: TrainConfig, x: torch.Tensor, x_hat: torch.Tensor, bits: torch.Tensor) -> dict[str, torch.Tensor]:
    """loss = lmbda * 255^2 * MSE + bpp (CompressAI's convention), or lmbda * (1 - MS-SSIM) + bpp."""
    bpp = bits / (x.shape[0] * x.shape[2] * x.shape[3])
    if cfg.metric == "mse":
        mse = torch.mean((x - x_hat.float()) ** 2)
        return {"loss": cfg.lmbda * 255**2 * mse + bpp, "bpp": bpp, "mse": mse}
    from pytorch_msssim import ms_ssim

    quality = ms_ssim(x, x_hat.float().clamp(0, 1), data_range=1.0)
    return {"loss": cfg.lmbda * (1 - quality) + bpp, "bpp": bpp, "ms_ssim": quality}


def training_sampler(cfg: TrainConfig) -> PatchSampler:
    """Crops of the configured photos plus, when asked, a pool of dead-leaves images in the photos' colours."""
    photos = load_training_images(cfg.dataset, cfg.patch_size)
    leaves: list = []
    if cfg.dead_leaves:
        palette = photo_palette(photos, seed=cfg.seed)
        leaves = dead_leaves_pool(cfg.dead_leaves, cfg.dead_leaves_size, cfg.seed, palette, workers=os.cpu_count() or 1)
    return PatchSampler(photos, cfg.patch_size, cfg.seed, leaves, cfg.dead_leaves_share)


class Trainer:
    """One training run in `run_dir`; `run()` resumes from `run_dir/last.pt` when it exists."""

    def __init__(self, cfg: TrainConfig, run_dir: str | Path, sampler: PatchSampler | None = None):
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.device = pick_device(cfg.device)
        self.dist = Distributed(self.device)
        if cfg.batch_size % self.dist.world:
            raise ValueError(f"batch size {cfg.batch_size} does not split over {self.dist.world} processes")
        torch.manual_seed(cfg.seed)  # identical initial weights on every rank
        self.trainable: TrainableModel = build_trainable(cfg.arch, cfg.model)
        if cfg.init and not (self.run_dir / LAST).exists():  # a resumed run has its own state (init may be gone)
            self.trainable.load_weights(cfg.init)
        self.model = self.trainable.module.to(self.device)
        main_params, aux_params = self.trainable.parameter_groups()
        self.optimizer = torch.optim.Adam(main_params, lr=cfg.lr)
        self.aux_optimizer = torch.optim.Adam(aux_params, lr=cfg.aux_lr) if aux_params else None
        self.step = 0
        self._resumed = False
        self.apply_schedule()
        torch.manual_seed(cfg.seed + 1000 * self.dist.rank)  # independent quantization noise per rank
        self.forward: torch.nn.Module = RDForward(self.trainable, cfg.noisy, cfg.batched_transforms)
        if self.dist.world > 1:
            aux = [f"model.{name}" for name in self.trainable.aux_names()]  # synced by nobody: identical on all ranks
            DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(self.forward, aux)
            self.forward = DistributedDataParallel(
                self.forward, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        if cfg.compile:
            self.forward = torch.compile(self.forward)
        self.sampler = sampler or training_sampler(cfg)  # runs on the same data may share one sampler

    # --- state ---------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "aux_optimizer": self.aux_optimizer.state_dict() if self.aux_optimizer else None,
            "rng": rng_state(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.trainable.load_training_state(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.aux_optimizer:
            self.aux_optimizer.load_state_dict(state["aux_optimizer"])
        self.step = state["step"]
        self.apply_schedule()
        if self.dist.world == 1:
            set_rng_state(state["rng"])
        else:  # only rank 0's RNG state is saved: each rank re-seeds its own noise stream
            torch.manual_seed(self.cfg.seed + 1000 * self.dist.rank + self.step)

    def apply_schedule(self) -> None:
        """Set the learning rate the config's schedule gives at `self.step`: on resume the config, not the
        checkpoint, decides the schedule, so a run can be extended or its decay moved (config.json tells the truth)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.cfg, self.step)

    def resume(self) -> None:
        """Continue from `run_dir/last.pt` when it exists; once per trainer (later `run` calls go on in memory)."""
        if self._resumed:
            return
        self._resumed = True
        if (self.run_dir / LAST).exists():
            self.load_state(load_checkpoint(self.run_dir / LAST, self.device))
            if self.dist.main:
                log.info("resumed at step %d from %s", self.step, self.run_dir / LAST)

    def save(self) -> None:
        if self.dist.main:
            save_atomic(self.state(), self.run_dir / LAST)

    # --- loop ----------------------------------------------------------------------------------------

    def train_step(self) -> dict[str, float]:
        cfg = self.cfg
        x, rng = self.sampler.global_batch(self.step, cfg.batch_size)
        masks = None
        if self.trainable.mask_cell and cfg.masks == "random":
            cell = self.trainable.mask_cell
            masks = random_group_masks(rng, cfg.batch_size, cfg.patch_size, cfg.mask_empty_prob, cell)
        share = cfg.batch_size // self.dist.world
        local = slice(self.dist.rank * share, (self.dist.rank + 1) * share)
        x = x[local].to(self.device)
        masks = masks[local].to(self.device) if masks is not None else None
        self.model.train()
        # bfloat16 autocast needs no loss scaling; the loss itself is computed in float32
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if cfg.amp else nullcontext()
        with autocast:
            x_hat, bits = self.forward(x, masks)
        losses = rd_loss(cfg, x, x_hat, bits)
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        if cfg.clip_grad:
            torch.nn.utils.clip_grad_norm_(self.optimizer.param_groups[0]["params"], cfg.clip_grad)
        self.optimizer.step()
        record = {k: float(v.detach()) for k, v in losses.items()}
        if self.aux_optimizer:
            aux = self.trainable.aux_loss()
            self.aux_optimizer.zero_grad(set_to_none=True)
            aux.backward()
            self.aux_optimizer.step()
            record["aux_loss"] = float(aux.detach())
        self.step += 1
        self.apply_schedule()
        return record

    def run(self) -> dict[str, float]:
        """Train to `cfg.steps`, resuming from the last checkpoint; returns the last logged record."""
        cfg = self.cfg
        self.resume()
        if self.dist.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        logger = MetricLog(self.run_dir, self.step) if self.dist.main else None
        record: dict[str, float] = {}
        start, first_step = time.perf_counter(), self.step
        while self.step < cfg.steps:
            if cfg.time_budget_s and time.perf_counter() - start > cfg.time_budget_s:
                self.save()  # out of time: keep the last step
                break
            record = self.train_step()
            if logger and (self.step % cfg.log_every == 0 or self.step == cfg.steps):
                record.update(step=self.step, lr=lr_at(cfg, self.step), elapsed_s=time.perf_counter() - start)
                logger.write("train", record)
                log.info(progress_line(record, cfg.steps, (self.step - first_step) / record["elapsed_s"]))
            if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                self.save()
            if logger and cfg.eval_every and (self.step % cfg.eval_every == 0 or self.step == cfg.steps):
                evaluation = {"step": self.step, **self.evaluate()}
                logger.write("eval", evaluation)
                log.info("eval at step %d: %s", self.step, ", ".join(f"{k}={v:.4g}" for k, v in evaluation.items()))
            self.dist.barrier()
        if logger:
            logger.close()
        self.dist.close()
        return record

    def evaluate(self) -> dict[str, float]:
        """Encode evaluation images to real bytes with the codec built from the current weights."""
        from ssicbench.training.evaluate import evaluate_model

        return evaluate_model(self.trainable, self.cfg, self.run_dir, self.device)


def progress_line(record: dict[str, float], total_steps: int, steps_per_s: float) -> str:
    """One line of training progress: step, loss, bpp, PSNR (from the MSE), speed and time left."""
    step = int(record["step"])
    parts = [f"step {step}/{total_steps} ({100 * step / total_steps:.0f}%)"]
    parts += [f"{k}={record[k]:.4g}" for k in ("loss", "bpp") if k in record]
    if record.get("mse", 0) > 0:
        parts.append(f"psnr={-10 * math.log10(record['mse']):.2f} dB")
    left = (total_steps - step) / steps_per_s if steps_per_s > 0 else math.inf
    parts.append(f"{steps_per_s:.2f} steps/s, {left / 60:.1f} min left")
    return "  ".join(parts)


class MetricLog:
    """Training curves as CSV files (one per kind) and TensorBoard scalars.

    On resume, rows logged after the checkpoint (work the kill threw away) are dropped, so each step
    appears once.
    """

    def __init__(self, run_dir: Path, resumed_step: int):
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = run_dir
        for path in run_dir.glob("*_log.csv"):
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
            kept = [r for r in rows if float(r["step"]) <= resumed_step]
            if len(kept) < len(rows):
                with open(path, "w", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(kept)
        self.tb = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resumed_step + 1 if resumed_step else None)

    def write(self, kind: str, record: dict[str, float]) -> None:
        path = self.run_dir / f"{kind}_log.csv"
        new = not path.exists()
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(record))
            if new:
                writer.writeheader()
            writer.writerow(record)
        for key, value in record.items():
            if key != "step":
                self.tb.add_scalar(f"{kind}/{key}", value, int(record["step"]))

    def close(self) -> None:
        self.tb.close()
