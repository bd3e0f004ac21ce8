"""Which recipe trains the bundled SSIC's rate points more per CPU-hour: the per-lambda family (one model per
lambda, each trained for 1/Q of the time) or one variable-rate model (a per-channel gain on the latent selected by
a quality index; every step trains a random rate per sample). Both start from the same weights and get the same
CPU time; both are scored on the held-out validation photos (never Kodak) by the training objective
lmbda * 255^2 * MSE + bpp, with bpp the entropy model's exact code length of the rounded latents.

Usage: python benchmarks/bench_rate_recipes.py --minutes 15 [--init codecs/ssic/zoo/ssic-tiny-q3.pth] [--checks 3]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ssicbench.report import bd_rate
from ssicbench.training.background import validation_images
from ssicbench.training.config import TrainConfig
from ssicbench.training.data import PatchSampler, random_group_masks
from ssicbench.training.loop import Trainer, lr_at, training_sampler
from ssicbench.training.models import TrainableModel, build_trainable

ROOT = Path(__file__).resolve().parents[1]
RATE_POINTS = [ROOT / "configs" / "train" / f"ssic-tiny-q{q}.json" for q in range(1, 6)]
SCHEDULE = {"lr": 1e-4, "milestones": [], "warmup_steps": 50, "eval_every": 0, "checkpoint_every": 10**9}


class GainUnits(nn.Module):
    """One positive gain per latent channel and quality index; starts at sqrt(lambda_q / lambda_init), the
    step-size ratio that high-rate theory gives for moving the weights' own lambda to lambda_q."""

    def __init__(self, lambdas: Sequence[float], lambda_init: float, channels: int):
        super().__init__()
        start = torch.tensor([0.5 * math.log(lam / lambda_init) for lam in lambdas])
        self.log_gain = nn.Parameter(start[:, None].repeat(1, channels))

    def forward(self, quality: Tensor) -> Tensor:
        return self.log_gain[quality].exp()


def validation_tensors() -> list[Tensor]:
    """The validation photos as (1, 3, H, W) in [0, 1], cropped to multiples of 64 (the transforms' stride)."""
    out = []
    for image in validation_images():
        h, w = image.shape[0] // 64 * 64, image.shape[1] // 64 * 64
        out.append(torch.from_numpy(np.ascontiguousarray(image[:h, :w])).permute(2, 0, 1)[None].float() / 255)
    return out


@torch.no_grad()
def score(model: nn.Module, images: Sequence[Tensor], lmbda: float, gain: Tensor | None = None) -> dict[str, float]:
    """Mean bpp (exact code length of the rounded latents, one group), MSE and RD cost on `images`."""
    model.eval()
    bpps, mses = [], []
    for x in images:
        out = model.forward_train(x, noisy=False, gain=gain)
        bits = sum(torch.log2(lik.double()).sum() for lik in out["likelihoods"].values())
        bpps.append(-float(bits) / (x.shape[2] * x.shape[3]))
        mses.append(float(torch.mean((x - out["x_hat"].clamp(0, 1)) ** 2)))
    bpp, mse = float(np.mean(bpps)), float(np.mean(mses))
    return {"bpp": bpp, "mse": mse, "psnr": -10 * math.log10(mse), "cost": lmbda * 255**2 * mse + bpp}


def family_arm(
    configs: list[TrainConfig], sampler: PatchSampler, seconds: float, checks: int, images: list[Tensor]
) -> list[list[dict]]:
    """Per check (the first before training), per rate point: the score after each model trained its share of
    `seconds` (1/len(configs))."""
    with tempfile.TemporaryDirectory() as tmp:
        trainers = [Trainer(cfg, Path(tmp) / str(i), sampler) for i, cfg in enumerate(configs)]
        results = [[{**score(t.model, images, t.cfg.lmbda), "steps": 0} for t in trainers]]
        for _ in range(checks):
            row = []
            for trainer in trainers:
                trainer.cfg.time_budget_s = seconds / len(configs) / checks
                trainer.run()
                row.append({**score(trainer.model, images, trainer.cfg.lmbda), "steps": trainer.step})
            results.append(row)
    return results


def variable_rate_arm(
    configs: list[TrainConfig],
    init: TrainConfig,
    sampler: PatchSampler,
    seconds: float,
    checks: int,
    images: list[Tensor],
) -> list[list[dict]]:
    """One model from `init`'s weights with gain units, each sample of a step at a random rate point's lambda."""
    trainable: TrainableModel = build_trainable(init.arch, init.model)
    trainable.load_weights(init.init)
    model = trainable.module
    lambdas = torch.tensor([cfg.lmbda for cfg in configs])
    gains = GainUnits(lambdas.tolist(), init.lmbda, model.config.latent_channels)
    main, aux = trainable.parameter_groups()
    optimizer = torch.optim.Adam([{"params": main}, {"params": gains.parameters(), "scale": 50.0}], lr=init.lr)
    aux_optimizer = torch.optim.Adam(aux, lr=init.aux_lr)
    torch.manual_seed(init.seed + 1)

    def scores(step: int) -> list[dict]:
        with torch.no_grad():
            return [
                {**score(model, images, cfg.lmbda, gains(torch.tensor([q]))), "steps": step}
                for q, cfg in enumerate(configs)
            ]

    results, step = [scores(0)], 0
    for _ in range(checks):
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / checks:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(init, step) * group.get("scale", 1.0)
            x, rng = sampler.global_batch(step, init.batch_size)
            masks = random_group_masks(rng, init.batch_size, init.patch_size, init.mask_empty_prob, trainable.mask_cell)
            quality = torch.from_numpy(rng.integers(len(configs), size=init.batch_size))
            model.train()
            out = model.forward_train(x, masks, noisy=True, gain=gains(quality))
            bits = sum(torch.log(lik).sum() for lik in out["likelihoods"].values()) / -math.log(2)
            mse = torch.mean((x - out["x_hat"]) ** 2, dim=(1, 2, 3))
            loss = torch.mean(lambdas[quality] * 255**2 * mse) + bits / (x.shape[0] * x.shape[2] * x.shape[3])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(main, init.clip_grad)
            optimizer.step()
            aux_loss = trainable.aux_loss()
            aux_optimizer.zero_grad(set_to_none=True)
            aux_loss.backward()
            aux_optimizer.step()
            step += 1
        results.append(scores(step))
    return results


def print_comparison(configs: list[TrainConfig], family: list[list[dict]], variable: list[list[dict]], seconds: float):
    for check, (fam, var) in enumerate(zip(family, variable)):
        minutes = seconds * check / (len(family) - 1) / 60
        print(f"\nafter {minutes:.1f} CPU-minutes per arm (family {fam[0]['steps']} steps per model, "
              f"variable-rate {var[0]['steps']} steps)")  # fmt: skip
        print("| rate point | lambda | family bpp, dB, cost | variable-rate bpp, dB, cost | cost change |")
        print("| --- | --- | --- | --- | --- |")
        for q, (cfg, a, b) in enumerate(zip(configs, fam, var), 1):
            change = 100 * (b["cost"] / a["cost"] - 1)
            print(
                f"| {q} | {cfg.lmbda:g} | {a['bpp']:.4f}, {a['psnr']:.2f}, {a['cost']:.4f} | "
                f"{b['bpp']:.4f}, {b['psnr']:.2f}, {b['cost']:.4f} | {change:+.2f} % |"
            )
        rate = bd_rate(
            [a["bpp"] for a in fam], [a["psnr"] for a in fam], [b["bpp"] for b in var], [b["psnr"] for b in var]
        )
        print(f"BD-rate (PSNR) of the variable-rate model against the family on the validation photos: {rate:+.2f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="CPU wall-clock minutes per arm")
    parser.add_argument("--init", default=str(ROOT / "codecs" / "ssic" / "zoo" / "ssic-tiny-q3.pth"))
    parser.add_argument("--init-lambda", type=float, default=0.0067, help="the lambda the init weights were trained at")
    parser.add_argument("--checks", type=int, default=3, help="validations per arm, evenly spaced in time")
    args = parser.parse_args()
    configs = [TrainConfig.load(path, init=args.init, steps=10**9, **SCHEDULE) for path in RATE_POINTS]
    init = TrainConfig.load(RATE_POINTS[0], init=args.init, lmbda=args.init_lambda, **SCHEDULE)
    images = validation_tensors()
    seconds = 60 * args.minutes
    print(f"{torch.get_num_threads()} threads; both arms start from {args.init}")
    sampler = training_sampler(init)  # one pool of crops: both arms see the same batches
    family = family_arm(configs, sampler, seconds, args.checks, images)
    variable = variable_rate_arm(configs, init, sampler, seconds, args.checks, images)
    print_comparison(configs, family, variable, seconds)


if __name__ == "__main__":
    main()
