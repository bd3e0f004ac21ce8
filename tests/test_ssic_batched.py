"""The batched (dense) SSIC transforms: a batch of images, each with its own group mask, in one call gives the
per-image row-list results to float tolerance, and keeps every group independent of the others' pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ssic_helpers import random_model

from ssicbench.codecs.masks import cell_grid, random_group_mask

TOLERANCE = 2e-5


def batch_of(sizes: tuple[int, int], count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` random images of one size (multiples of 64) with different random group masks."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(count, 3, *sizes, generator=generator)
    masks = [random_group_mask(cell_grid(*sizes, 16), 16, seed=seed + i) for i in range(count)]
    return x, torch.from_numpy(np.stack(masks)).long()


def test_batched_analysis_equals_the_per_image_path():
    model = random_model(seed=3)
    for sizes in ((128, 128), (64, 192)):  # the second has stages that are not multiples of the window
        x, groups = batch_of(sizes, 3, seed=sizes[1])
        with torch.no_grad():
            dense, per_image = model.analysis_dense(x, groups), model.analysis(x, groups)
        assert dense.shape == (3, 40, sizes[0] // 16, sizes[1] // 16)
        assert torch.allclose(dense, per_image, atol=TOLERANCE * dense.abs().max())


def test_batched_synthesis_equals_the_per_image_path():
    model = random_model(seed=4)
    x, groups = batch_of((128, 64), 3, seed=5)
    with torch.no_grad():
        y_hat = torch.round(model.analysis(x, groups))
        dense = model.synthesis_dense(y_hat, groups)
        per_image = torch.cat([model.synthesis(y_hat[b : b + 1], groups[b]) for b in range(3)])
    assert dense.shape == x.shape
    assert torch.allclose(dense, per_image, atol=TOLERANCE * per_image.abs().max())


def test_batched_training_pass_equals_the_per_image_pass_and_its_gradients():
    x, groups = batch_of((128, 128), 4, seed=6)
    results = []
    for batched in (True, False):
        model = random_model(seed=7).train()
        out = model.forward_train(x, groups, noisy=False, batched=batched)
        loss = sum(torch.log(lik).sum() for lik in out["likelihoods"].values()) + out["x_hat"].square().sum()
        loss.backward()
        results.append((out, model.g_a_pe[0].proj.weight.grad.clone()))
    (dense, dense_grad), (per_image, per_image_grad) = results
    assert torch.allclose(dense["x_hat"], per_image["x_hat"], atol=1e-4)
    for key in ("y", "z"):
        assert torch.allclose(dense["likelihoods"][key], per_image["likelihoods"][key], atol=1e-5)
    assert torch.allclose(dense_grad, per_image_grad, rtol=1e-3, atol=1e-3 * per_image_grad.abs().max())


@pytest.mark.parametrize("path", ["analysis_dense", "analysis"])
def test_each_sample_of_a_batch_keeps_its_groups_independent(path):
    """Changing the pixels of one group changes no latent of another group, for every sample of the batch,
    on the dense (training) path and on the codec's row path."""
    model = random_model(seed=8)
    analysis = getattr(model, path)
    x, groups = batch_of((128, 128), 3, seed=9)
    with torch.no_grad():
        before = analysis(x, groups)
        changed = x.clone()
        for b in range(3):
            first = groups[b, 0, 0]
            pixels = (groups[b] == first).repeat_interleave(16, 0).repeat_interleave(16, 1)
            changed[b][:, pixels] = torch.rand(3, int(pixels.sum()))
        after = analysis(changed, groups)
    for b in range(3):
        others = groups[b] != groups[b, 0, 0]
        assert torch.equal(before[b][:, others], after[b][:, others])
        assert not torch.equal(before[b][:, ~others], after[b][:, ~others])


def test_a_per_sample_latent_gain_is_a_step_size_that_keeps_samples_apart():
    """Variable-rate training: a gain of one changes nothing, and a larger gain (a finer quantization step) costs
    a sample more bits without touching the other samples of its batch."""
    model = random_model(seed=10)
    x, groups = batch_of((64, 64), 2, seed=11)
    channels = model.config.latent_channels
    with torch.no_grad():
        plain = model.forward_train(x, groups, noisy=False)
        ones = model.forward_train(x, groups, noisy=False, gain=torch.ones(2, channels))
        finer = model.forward_train(x, groups, noisy=False, gain=torch.tensor([[1.0], [4.0]]).expand(2, channels))
        alone = [model.forward_train(x[1:], groups[1:], noisy=False, gain=torch.full((1, channels), g)) for g in (1, 4)]
    assert torch.equal(ones["x_hat"], plain["x_hat"])
    assert torch.equal(ones["likelihoods"]["y"], plain["likelihoods"]["y"])
    assert torch.allclose(finer["x_hat"][0], plain["x_hat"][0], atol=1e-6)
    assert torch.allclose(finer["x_hat"][1], alone[1]["x_hat"][0], atol=1e-6)
    bits = [-torch.log2(out["likelihoods"]["y"]).sum() for out in alone]
    assert bits[1] > bits[0]
