"""Two-view fusions: shapes, parameter counts, semantics, padding, construction.

GSGN's own behaviour (gate values, gate loss, options) is tested in test_gsgn.py.
"""

import pytest
import torch

from espnet2_ext.frontend.fusion import (
    AbsFusion,
    ConcatFusion,
    FBankOnlyFusion,
    SSLOnlyFusion,
    SumFusion,
    build_fusion,
    fusion_choices,
)
from espnet2_ext.frontend.gsgn import GatedFusion

D, D_OUT = 8, 6
# fusion layer D*D_OUT + D_OUT = 54; concat 2D*D_OUT + D_OUT = 102;
# GSGN: A_f with bias c (64 + 8) + A_s (64) + fusion layer 54 = 190
PARAMS = {"fbank": 54, "ssl": 54, "sum": 54, "concat": 102, "gsgn": 190}
# Which views (FBank, SSL) each fusion reads.
READS = {
    "fbank": (True, False),
    "ssl": (False, True),
    "sum": (True, True),
    "concat": (True, True),
    "gsgn": (True, True),
}


def frame_mask(lengths, num_frames):
    """Valid-frame mask (B, T), the reference: ``t < lengths[b]``."""
    return torch.arange(num_frames)[None, :] < lengths[:, None]


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def inputs(batch=3, frames=7, lengths=(7, 4, 1)):
    return (
        torch.randn(batch, frames, D),
        torch.randn(batch, frames, D),
        torch.tensor(lengths),
    )


def test_registry():
    classes = fusion_choices.classes
    assert set(classes) == {"fbank", "ssl", "sum", "concat", "gsgn"}
    assert classes["fbank"] is FBankOnlyFusion and classes["gsgn"] is GatedFusion
    assert fusion_choices.name == "fusion" and fusion_choices.base_type is AbsFusion
    assert all(issubclass(cls, AbsFusion) for cls in classes.values())


def test_unknown_fusion_message_lists_the_choices():
    for name in ("gated", "GSGN", "none"):
        with pytest.raises(ValueError) as err:
            build_fusion(name, D, D_OUT)
        assert str(err.value) == (
            f"unknown fusion {name!r}; valid names: fbank, ssl, sum, concat, gsgn"
        )


def test_abs_fusion_needs_a_forward():
    class NoForward(AbsFusion):
        pass

    with pytest.raises(TypeError, match="abstract"):
        NoForward(D, D_OUT)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_shapes_sizes_and_parameter_counts(name):
    module = build_fusion(name, dim=D, output_dim=D_OUT)
    assert module.output_size() == D_OUT
    assert n_params(module) == PARAMS[name]
    x_f, x_s, lengths = inputs()
    y = module(x_f, x_s, lengths)
    assert y.shape == (3, 7, D_OUT)
    assert isinstance(module.diagnostics(), dict)


@pytest.mark.parametrize(
    "cls, combine",
    [
        (FBankOnlyFusion, lambda f, s: f),
        (SSLOnlyFusion, lambda f, s: s),
        (SumFusion, lambda f, s: f + s),
        (ConcatFusion, lambda f, s: torch.cat([f, s], -1)),
    ],
)
def test_simple_fusion_values(cls, combine):
    module = cls(D, D_OUT)
    x_f, x_s, lengths = inputs()
    y = module(x_f, x_s, lengths)
    w, b = module.fusion_layer.weight, module.fusion_layer.bias
    want = combine(x_f, x_s) @ w.T + b
    valid = frame_mask(lengths, 7)
    torch.testing.assert_close(y[valid], want[valid])
    assert torch.all(y[~valid] == 0)
    assert module.diagnostics() == {}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_padded_frames_do_not_leak(name):
    torch.manual_seed(0)
    module = build_fusion(name, D, D_OUT)
    x_f, x_s, lengths = inputs()
    pad = ~frame_mask(lengths, 7)
    outs, grads = [], []
    for fill in (0.0, 1e3):
        module.zero_grad()
        a = x_f.masked_fill(pad.unsqueeze(-1), fill).requires_grad_()
        b = x_s.masked_fill(pad.unsqueeze(-1), -fill).requires_grad_()
        y = module(a, b, lengths)
        y.pow(2).sum().backward()
        outs.append(y.detach())
        grads.append([p.grad.clone() for p in module.parameters()])
        for view, read in zip((a, b), READS[name]):
            if read:  # its valid frames get gradient, its padded frames none
                assert torch.all(view.grad[pad] == 0)
                assert torch.any(view.grad[~pad] != 0)
            else:
                assert view.grad is None  # the view is not read at all
    torch.testing.assert_close(outs[0], outs[1])
    for g0, g1 in zip(*grads):
        torch.testing.assert_close(g0, g1)


def test_build_fusion_errors_and_options():
    with pytest.raises(ValueError) as err:
        build_fusion("gated", D, D_OUT)
    for name in ("concat", "fbank", "gsgn", "ssl", "sum"):
        assert name in str(err.value)
    assert "gated" in str(err.value)
    module = build_fusion(
        "gsgn", D, D_OUT, gate_loss_weight=0, cos_granularity="batch", grad_scale=2
    )
    assert module.gate_loss_weight == 0.0 and module.cos_granularity == "batch"
    with pytest.raises(TypeError):
        build_fusion("sum", D, D_OUT, gate_loss_weight=1.0)
