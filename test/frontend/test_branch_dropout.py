"""Multi-stage branch dropout: schedule, sampler frequencies, GatedFusion behaviour."""

import pytest
import torch

from espnet2_ext.frontend.branch_dropout import (
    FBANK,
    FUSED,
    PAPER_SCHEDULE,
    SSL,
    Branch,
    BranchDropoutSchedule,
    sample_branches,
)
from espnet2_ext.frontend.gsgn import GatedFusion

DRAWS = 20000
TOL = 0.015  # about 4.5 standard deviations at p = 0.5 for 20000 draws


def frequencies(codes):
    n = codes.numel()
    return [float((codes == c).sum()) / n for c in (FUSED, FBANK, SSL)]


def test_codes():
    assert (int(FUSED), int(FBANK), int(SSL)) == (0, 1, 2)
    assert [b.name for b in Branch] == ["FUSED", "FBANK", "SSL"]
    assert PAPER_SCHEDULE == [[1, 0.3, 0.0], [11, 0.5, 0.3], [26, 0.3, 0.0]]


@pytest.mark.parametrize(
    "epoch, expected",
    [(1, (0.3, 0.0)), (10, (0.3, 0.0)), (11, (0.5, 0.3)), (25, (0.5, 0.3))]
    + [(26, (0.3, 0.0)), (100, (0.3, 0.0))],
)
def test_paper_schedule_switches_at_configured_epochs(epoch, expected):
    assert BranchDropoutSchedule(PAPER_SCHEDULE).probabilities(epoch) == expected


@pytest.mark.parametrize("epoch", [5, 15, 30])
def test_sampled_frequencies_match_the_schedule(epoch):
    p_fbank, p_ssl = BranchDropoutSchedule(PAPER_SCHEDULE).probabilities(epoch)
    gen = torch.Generator().manual_seed(epoch)
    codes = sample_branches(DRAWS, p_fbank, p_ssl, generator=gen)
    assert codes.dtype == torch.long and codes.shape == (DRAWS,)
    fused, fbank, ssl = frequencies(codes)
    assert fbank == pytest.approx(p_fbank, abs=TOL)
    assert ssl == pytest.approx(p_ssl, abs=TOL)
    assert fused == pytest.approx(1 - p_fbank - p_ssl, abs=TOL)
    if p_ssl == 0.0:
        assert ssl == 0.0


def test_sampler_extremes_and_generator_reproducibility():
    assert torch.all(sample_branches(50, 1.0, 0.0) == FBANK)
    assert torch.all(sample_branches(50, 0.0, 1.0) == SSL)
    assert torch.all(sample_branches(50, 0.0, 0.0) == FUSED)
    a = sample_branches(64, 0.3, 0.3, torch.Generator().manual_seed(3))
    b = sample_branches(64, 0.3, 0.3, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_module_follows_the_epoch():
    module = GatedFusion(4, 3, branch_dropout=PAPER_SCHEDULE).train()
    module.generator = torch.Generator().manual_seed(0)
    for epoch, (p_fbank, p_ssl) in [(10, (0.3, 0.0)), (11, (0.5, 0.3))]:
        module.set_epoch(epoch)
        _, fbank, ssl = frequencies(module.sample(DRAWS))
        assert fbank == pytest.approx(p_fbank, abs=TOL)
        assert ssl == pytest.approx(p_ssl, abs=TOL)


def test_module_epoch_defaults_to_one_and_selects_the_branch():
    torch.manual_seed(0)
    module = GatedFusion(4, 3, branch_dropout=[[1, 1.0, 0.0], [3, 0.0, 1.0]]).train()
    x_f, x_s = torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    lengths = torch.tensor([5, 3])
    valid = (torch.arange(5)[None, :] < lengths[:, None]).unsqueeze(-1)
    with torch.no_grad():
        fbank_only = module.fusion_layer(x_f) * valid
        ssl_only = module.fusion_layer(x_s) * valid
        assert module.epoch == 1
        torch.testing.assert_close(module(x_f, x_s, lengths), fbank_only)
        module.set_epoch(2)
        torch.testing.assert_close(module(x_f, x_s, lengths), fbank_only)
        module.set_epoch(3)
        torch.testing.assert_close(module(x_f, x_s, lengths), ssl_only)


def test_batch_unit_draws_one_branch_per_batch():
    module = GatedFusion(
        4, 3, branch_dropout=[[1, 0.4, 0.3]], branch_dropout_unit="batch"
    )
    module.train().generator = torch.Generator().manual_seed(0)
    firsts = []
    for _ in range(2000):
        codes = module.sample(8)
        assert torch.all(codes == codes[0])
        firsts.append(int(codes[0]))
    fused, fbank, ssl = frequencies(torch.tensor(firsts))
    assert (fused, fbank, ssl) == pytest.approx((0.3, 0.4, 0.3), abs=0.05)


def test_eval_is_deterministic_and_fused():
    torch.manual_seed(0)
    module = GatedFusion(4, 3, branch_dropout=[[1, 0.5, 0.5]]).eval()
    x_f, x_s, lengths = (
        torch.randn(3, 6, 4),
        torch.randn(3, 6, 4),
        torch.tensor([6, 4, 1]),
    )
    with torch.no_grad():
        first, second = module(x_f, x_s, lengths), module(x_f, x_s, lengths)
        fused = module(x_f, x_s, lengths, branches=torch.full((3,), int(FUSED)))
    assert module.sample(3) is None
    assert torch.equal(first, second)
    assert torch.equal(first, fused)
    # the same module in training mode with p_fused = 0 never gives the fused output
    module.train()
    with torch.no_grad():
        assert not torch.allclose(module(x_f, x_s, lengths), fused)


def test_sample_at_inference_uses_the_last_stage():
    torch.manual_seed(0)
    module = GatedFusion(
        4, 3, branch_dropout=[[1, 0.0, 0.0], [5, 1.0, 0.0]], sample_at_inference=True
    ).eval()
    assert torch.all(module.sample(10) == FBANK)  # epoch 1, but the last stage
    module.train()
    assert torch.all(module.sample(10) == FUSED)


def test_no_schedule_means_always_fused():
    module = GatedFusion(4, 3).train()
    assert module.sample(5) is None


@pytest.mark.parametrize(
    "stages, message",
    [
        ([], "at least one stage"),
        ([[1, 0.3]], "must be [start_epoch, p_fbank, p_ssl]"),
        ([[2, 0.3, 0.0]], "must start at epoch 1"),
        ([[1, 0.3, 0.0], [11, 0.5, 0.3], [11, 0.3, 0.0]], "strictly increasing"),
        ([[1, 0.3, 0.0], [26, 0.5, 0.3], [11, 0.3, 0.0]], "strictly increasing"),
        ([[1, 1.2, 0.0]], "p_fbank must be in [0, 1]"),
        ([[1, 0.2, -0.1]], "p_ssl must be in [0, 1]"),
        ([[1, 0.6, 0.5]], "p_fbank + p_ssl must be <= 1"),
        ([[1.5, 0.1, 0.1]], "start epoch must be an integer"),
    ],
)
def test_validation_errors(stages, message):
    with pytest.raises(ValueError) as err:
        BranchDropoutSchedule(stages)
    assert message in str(err.value)


def test_validation_accepts_edge_values_and_rejects_bad_epochs():
    schedule = BranchDropoutSchedule([[1, 0.7, 0.3], [2, 0, 1]])  # YAML ints too
    assert schedule.probabilities(2) == (0.0, 1.0)
    with pytest.raises(ValueError, match="1-based"):
        schedule.probabilities(0)
    with pytest.raises(ValueError, match="1-based"):
        GatedFusion(4, 3).set_epoch(0)
    with pytest.raises(ValueError, match="branch_dropout_unit"):
        GatedFusion(4, 3, branch_dropout_unit="frame")
