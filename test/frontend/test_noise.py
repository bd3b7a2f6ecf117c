"""The ``noise`` view: uniform noise in the S-feature's global training range."""

import pytest
import torch

from espnet2_ext.frontend.noise import NoiseView


def batch(lo, hi, shape=(2, 10, 4), lengths=(10, 6), pad_value=100.0, seed=0):
    """S-feature with valid values spanning exactly [lo, hi] and wild padding."""
    g = torch.Generator().manual_seed(seed)
    x = lo + (hi - lo) * torch.rand(shape, generator=g)
    x[0, 0, 0], x[0, 1, 1] = lo, hi
    lengths = torch.tensor(lengths)
    for b, n in enumerate(lengths.tolist()):
        x[b, n:] = pad_value
    return x, lengths


def test_noise_stays_in_the_observed_range_and_padding_is_zero():
    view = NoiseView(4)
    x, lengths = batch(-1.5, 2.5)
    noise = view(x, lengths)
    assert noise.shape == x.shape
    assert view.running_min.item() == -1.5 and view.running_max.item() == 2.5
    assert torch.all(noise[1, 6:] == 0)
    valid = torch.cat([noise[0], noise[1, :6]])
    assert valid.min() >= -1.5 and valid.max() <= 2.5
    assert not torch.equal(valid, torch.cat([x[0], x[1, :6]]))
    assert not noise.requires_grad


def test_noise_spans_the_range_uniformly():
    view = NoiseView(8)
    x, lengths = batch(-3.0, 1.0, shape=(4, 500, 8), lengths=(500, 500, 500, 500))
    noise = view(x, lengths)
    assert noise.min() >= -3.0 and noise.max() <= 1.0
    assert noise.min() < -2.95 and noise.max() > 0.95
    assert abs(noise.mean().item() - (-1.0)) < 0.05  # mean of U(-3, 1)


def test_min_max_tracked_over_batches_and_frozen_in_eval():
    view = NoiseView(4)
    view(*batch(-1.0, 2.0, seed=1))
    view(*batch(-3.0, 1.0, seed=2))
    assert (view.running_min.item(), view.running_max.item()) == (-3.0, 2.0)
    view.eval()
    x, lengths = batch(-10.0, 10.0, seed=3)
    noise = view(x, lengths)
    assert (view.running_min.item(), view.running_max.item()) == (-3.0, 2.0)
    assert noise[0].min() >= -3.0 and noise[0].max() <= 2.0


def test_momentum_averages_the_batch_extremes():
    view = NoiseView(4, momentum=0.5)
    view(*batch(-1.0, 2.0, seed=1))
    view(*batch(-3.0, 1.0, seed=2))
    assert (view.running_min.item(), view.running_max.item()) == (-2.0, 1.5)


def test_eval_before_statistics_raises():
    view = NoiseView(4).eval()
    with pytest.raises(RuntimeError, match="no S-feature range"):
        view(*batch(0.0, 1.0))


def test_statistics_are_persistent_state():
    trained = NoiseView(4)
    trained(*batch(-2.0, 3.0))
    state = trained.state_dict()
    assert set(state) == {"running_min", "running_max"}
    assert list(trained.parameters()) == []
    fresh = NoiseView(4).eval()
    fresh.load_state_dict(state)
    noise = fresh(torch.zeros(1, 50, 4, dtype=torch.float64), None)
    assert noise.dtype == torch.float64
    assert noise.min() >= -2.0 and noise.max() <= 3.0


def test_rejects_wrong_width_and_bad_momentum():
    with pytest.raises(ValueError, match="D=4"):
        NoiseView(4)(torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="momentum"):
        NoiseView(4, momentum=1.5)
