"""Fusion of several upstreams' layer stacks (Shih & Harwath 2025)."""

import pytest
import torch
import torch.nn.functional as F

from espnet2_ext.frontend.interfaces import build_interface
from espnet2_ext.frontend.layer_fusion import (
    MultiUpstreamLayerFusion,
    interpolate_layers,
    layer_interpolation_matrix,
)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- interpolation
def test_interpolation_endpoints_and_midpoints_on_constructed_stack():
    # layer l holds the value 2 * l everywhere: 3 layers -> 5 at positions 0..2 step .5
    hs = (2.0 * torch.arange(3.0))[:, None, None, None].expand(3, 2, 4, 6)
    out = interpolate_layers(hs, 5)
    assert out.shape == (5, 2, 4, 6)
    for k, value in enumerate([0.0, 1.0, 2.0, 3.0, 4.0]):
        assert torch.equal(out[k], torch.full((2, 4, 6), value))


def test_interpolation_13_to_25_keeps_layers_and_averages_neighbours():
    hs = torch.randn(13, 2, 3, 4)
    out = interpolate_layers(hs, 25)  # position of output k is k / 2
    assert torch.equal(out[0], hs[0]) and torch.equal(out[-1], hs[-1])
    for k in range(13):
        torch.testing.assert_close(out[2 * k], hs[k], rtol=0, atol=0)
    for k in range(12):
        torch.testing.assert_close(out[2 * k + 1], (hs[k] + hs[k + 1]) / 2)


@pytest.mark.parametrize("src, dst", [(13, 25), (5, 13), (7, 7), (2, 9), (1, 4)])
def test_interpolation_matches_f_interpolate_align_corners(src, dst):
    hs = torch.randn(src, 2, 3, 4)
    ref = F.interpolate(
        hs.permute(1, 2, 3, 0).reshape(-1, 1, src),
        size=dst,
        mode="linear",
        align_corners=True,
    )
    ref = ref.reshape(2, 3, 4, dst).permute(3, 0, 1, 2)
    torch.testing.assert_close(interpolate_layers(hs, dst), ref)
    w = layer_interpolation_matrix(src, dst)
    torch.testing.assert_close(w.sum(1), torch.ones(dst))
    assert torch.equal(w[0, :1], torch.ones(1)) and w[-1, -1] == 1


def test_interpolation_matrix_exact_weights():
    w = layer_interpolation_matrix(
        3, 4, dtype=torch.float64
    )  # positions 0, 2/3, 4/3, 2
    expected = torch.tensor(
        [[1, 0, 0], [1 / 3, 2 / 3, 0], [0, 2 / 3, 1 / 3], [0, 0, 1]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(w, expected)
    with pytest.raises(ValueError, match=">= 1"):
        layer_interpolation_matrix(0, 3)


# ------------------------------------------------------------------- the module
def test_single_upstream_passes_through_without_parameters():
    for mode in ("sum", "concat"):
        m = MultiUpstreamLayerFusion([13], [768], mode=mode)
        assert n_params(m) == 0
        assert m.num_layers == 13 and m.output_size() == 768
        hs = torch.randn(13, 1, 2, 768)
        assert m(list([hs])) is hs


def test_parameter_counts_exact():
    # widths 768 and 1024 -> D = 1024; only the 768-wide upstream gets a projection
    s = MultiUpstreamLayerFusion([13, 25], [768, 1024], mode="sum")
    assert n_params(s) == 768 * 1024 + 1024 == 787_456
    assert isinstance(s.width_proj[1], torch.nn.Identity)
    c = MultiUpstreamLayerFusion([13, 25], [768, 1024], mode="concat")
    # + shared Linear(2 * 1024 -> 1024)
    assert n_params(c) == 787_456 + 2048 * 1024 + 1024 == 2_885_632
    for m in (s, c):
        assert m.num_layers == 25 and m.output_size() == 1024
    # equal widths: sum has no parameters, concat only the shared projection
    assert n_params(MultiUpstreamLayerFusion([13, 13, 25], [8, 8, 8])) == 0
    cc = MultiUpstreamLayerFusion([13, 13, 25], [8, 8, 8], mode="concat")
    assert n_params(cc) == 24 * 8 + 8


def _stacks():
    return [torch.randn(5, 2, 4, 6), torch.randn(9, 2, 4, 8), torch.randn(3, 2, 4, 8)]


def _ref_interpolate(hs: torch.Tensor, dst: int) -> torch.Tensor:
    """Layer interpolation by torch's own linear interpolation (align_corners)."""
    src, b, t, d = hs.shape
    flat = hs.permute(1, 2, 3, 0).reshape(-1, 1, src)
    out = F.interpolate(flat, size=dst, mode="linear", align_corners=True)
    return out.reshape(b, t, d, dst).permute(3, 0, 1, 2)


def _affine(x: torch.Tensor, linear: torch.nn.Linear) -> torch.Tensor:
    """``x W^T + b`` written out, with the module's own weights."""
    return x @ linear.weight.T + linear.bias


def test_sum_mode_values():
    m = MultiUpstreamLayerFusion([5, 9, 3], [6, 8, 8], mode="sum")
    stacks = _stacks()
    out = m(stacks)
    assert out.shape == (9, 2, 4, 8)
    expected = (
        _affine(_ref_interpolate(stacks[0], 9), m.width_proj[0])
        + stacks[1]
        + _ref_interpolate(stacks[2], 9)
    )
    torch.testing.assert_close(out, expected)


def test_concat_mode_values():
    m = MultiUpstreamLayerFusion([5, 9, 3], [6, 8, 8], mode="concat")
    stacks = _stacks()
    out = m(stacks)
    assert out.shape == (9, 2, 4, 8)
    cat = torch.cat(
        [
            _affine(_ref_interpolate(stacks[0], 9), m.width_proj[0]),
            stacks[1],
            _ref_interpolate(stacks[2], 9),
        ],
        dim=-1,
    )
    assert cat.shape == (9, 2, 4, 24)
    torch.testing.assert_close(out, _affine(cat, m.concat_proj))


@pytest.mark.parametrize("mode", ["sum", "concat"])
def test_frames_are_independent(mode):
    m = MultiUpstreamLayerFusion([5, 9, 3], [6, 8, 8], mode=mode)
    stacks = _stacks()
    base = m(stacks)
    for i, (b, t) in enumerate([(0, 0), (1, 2), (0, 3)]):
        bumped = [s.clone() for s in stacks]
        bumped[i][:, b, t] += 100.0
        changed = (m(bumped) - base).abs().amax(dim=(0, 3)) > 0
        expected = torch.zeros(2, 4, dtype=torch.bool)
        expected[b, t] = True
        assert torch.equal(changed, expected)


@pytest.mark.parametrize("mode", ["sum", "concat"])
def test_feeds_an_interface(mode):
    m = MultiUpstreamLayerFusion([13, 25], [12, 16], mode=mode)
    iface = build_interface("hconv", num_layers=m.num_layers, dim=m.output_size())
    out = iface(m([torch.randn(13, 2, 3, 12), torch.randn(25, 2, 3, 16)]))
    assert out.shape == (2, 3, iface.output_size()) == (2, 3, 15)  # 16 // 3 * 3


def test_errors():
    with pytest.raises(ValueError, match="mode must be one of"):
        MultiUpstreamLayerFusion([3], [4], mode="mean")
    with pytest.raises(ValueError, match="one entry per upstream"):
        MultiUpstreamLayerFusion([3, 4], [4])
    with pytest.raises(ValueError, match="one entry per upstream"):
        MultiUpstreamLayerFusion([], [])
    m = MultiUpstreamLayerFusion([3, 5], [4, 4])
    with pytest.raises(ValueError, match="expected 2 hidden-state stacks"):
        m([torch.randn(3, 1, 2, 4)])
    with pytest.raises(ValueError, match=r"upstream 1: expected hidden states \(L=5"):
        m([torch.randn(3, 1, 2, 4), torch.randn(4, 1, 2, 4)])
    with pytest.raises(ValueError, match="same batch size and frame count"):
        m([torch.randn(3, 1, 2, 4), torch.randn(5, 1, 3, 4)])
