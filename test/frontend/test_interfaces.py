"""Layer interfaces over SSL hidden states: shapes, parameter counts, semantics."""

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from espnet2_ext.frontend.interfaces import (
    AbsInterface,
    ConcatProjInterface,
    HConvInterface,
    LastLayerInterface,
    SingleLayerInterface,
    WeightedSumInterface,
    build_interface,
    hconv_depth,
    interface_choices,
)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------------ HConv depth
@pytest.mark.parametrize(
    "num_layers, depth",
    [(1, 0), (2, 0), (3, 1), (8, 1), (9, 2), (13, 2), (25, 2), (26, 2), (27, 3)]
    + [(80, 3), (81, 4), (242, 4), (243, 5), (728, 5), (729, 6)],
)
def test_hconv_depth_is_exact_floor_log3(num_layers, depth):
    assert hconv_depth(num_layers) == depth
    assert 3**depth <= num_layers < 3 ** (depth + 1)


def test_hconv_depth_243_float_log_is_wrong():
    # floor(log_3 243) is exactly 5 (3**5 == 243). Float math gives
    # log(243, 3) == 4.999999999999999, i.e. depth 4: the off-by-one the integer loop
    # avoids. (A claim of "depth 4 for L=243" is therefore the float artefact.)
    assert int(math.log(243, 3)) == 4
    assert hconv_depth(243) == 5
    assert len(HConvInterface(243, 8).convs) == 5


# ------------------------------------------------------------------------ HConv
def test_hconv_13x768_params_and_width():
    m = HConvInterface(13, 768)
    # 13 -> 5 -> 2 layers; Conv(768->768, k5) + Conv(768->384, k5)
    assert len(m.convs) == 2
    assert m.final_layers == 2
    assert n_params(m) == 4_424_832
    assert n_params(m) == (768 * 768 * 5 + 768) + (768 * 384 * 5 + 384)
    assert m.output_size() == 768
    hs = torch.randn(13, 2, 3, 768)
    assert m(hs).shape == (2, 3, 768)


def test_hconv_25x1024_width_1023():
    m = HConvInterface(25, 1024)
    # 25 -> 9 -> 3 layers; last conv 1024 // 3 = 341 channels, 341 * 3 = 1023
    assert m.final_layers == 3
    assert m.output_size() == 1023
    assert m(torch.randn(25, 1, 2, 1024)).shape == (1, 2, 1023)


def test_hconv_matches_reference_per_frame():
    """Each frame: (D, L) -> convs over layers -> ReLU -> channel-major flatten."""
    L, B, T, D = 13, 2, 3, 6
    m = HConvInterface(L, D)
    assert m.output_size() == (D // 2) * 2
    with torch.no_grad():
        for conv in m.convs:
            conv.bias.normal_()
    hs = torch.randn(L, B, T, D)
    out = m(hs)
    assert (out >= 0).all()  # ReLU after the last conv as well
    for b in range(B):
        for t in range(T):
            x = hs[:, b, t, :].T.unsqueeze(0)  # (1, D, L)
            for conv in m.convs:
                x = F.relu(F.conv1d(x, conv.weight, conv.bias, stride=3, padding=2))
            assert x.shape == (1, D // 2, 2)
            torch.testing.assert_close(out[b, t], x.reshape(-1))


@pytest.mark.parametrize("num_layers", [1, 2])
def test_hconv_rejects_fewer_than_3_layers(num_layers):
    with pytest.raises(ValueError, match=r"HConv needs >= 3 hidden states"):
        HConvInterface(num_layers, 16)


def test_hconv_rejects_width_below_final_layers():
    with pytest.raises(ValueError, match="smaller than the final layer length"):
        HConvInterface(25, 2)  # L_final = 3 > D


# ----------------------------------------------------------------- weighted sum
def test_weighted_sum_init_is_mean_of_layers():
    m = WeightedSumInterface(5, 8)
    assert n_params(m) == 5
    assert torch.equal(m.weights.data, torch.zeros(5))
    hs = torch.randn(5, 2, 4, 8)
    torch.testing.assert_close(m(hs), hs.mean(0))
    assert m.output_size() == 8


def test_weighted_sum_softmax_weights():
    m = WeightedSumInterface(4, 3)
    with torch.no_grad():
        m.weights.copy_(torch.tensor([0.0, 1.0, 2.0, -1.0]))
    hs = torch.randn(4, 2, 5, 3)
    w = torch.softmax(torch.tensor([0.0, 1.0, 2.0, -1.0]), 0)
    expected = sum(w[i] * hs[i] for i in range(4))
    torch.testing.assert_close(m(hs), expected)


def test_weighted_sum_layer_norm_is_per_layer_non_affine():
    m = WeightedSumInterface(3, 16, layer_norm=True)
    assert n_params(m) == 3  # no affine layer-norm parameters
    hs = (
        torch.randn(3, 2, 4, 16) * torch.tensor([1.0, 10.0, 100.0])[:, None, None, None]
    )
    hs = hs + 5.0
    mean = hs.mean(-1, keepdim=True)
    var = hs.var(-1, unbiased=False, keepdim=True)
    normed = (hs - mean) / torch.sqrt(var + 1e-5)
    torch.testing.assert_close(m(hs), normed.mean(0), rtol=1e-4, atol=1e-5)
    # without the norm the large-scale layer dominates
    plain = WeightedSumInterface(3, 16)(hs)
    assert not torch.allclose(plain, m(hs), atol=1e-2)


def test_weighted_sum_layer_selections():
    m = WeightedSumInterface(6, 4, layer_selections=[-1, 2, 0])
    assert m.layer_selections == [0, 2, 5]
    assert n_params(m) == 3
    hs = torch.randn(6, 1, 3, 4)
    torch.testing.assert_close(m(hs), (hs[0] + hs[2] + hs[5]) / 3)


# The only independent reference for the weighted sum's normalisation and layer
# selection: s3prl's own Featurizer (CI imports s3prl anyway).
@pytest.mark.parametrize("normalize", [False, True])
def test_weighted_sum_matches_s3prl_featurizer(normalize):
    from s3prl.nn.upstream import Featurizer

    L, D = 5, 8
    fake_upstream = SimpleNamespace(
        num_layers=L, hidden_sizes=[D] * L, downsample_rates=[320] * L
    )
    ref = Featurizer(fake_upstream, layer_selections=[1, 3, 4], normalize=normalize)
    ours = WeightedSumInterface(L, D, layer_norm=normalize, layer_selections=[1, 3, 4])
    with torch.no_grad():
        ref.weights.normal_()
        ours.weights.copy_(ref.weights)
    hs = torch.randn(L, 2, 7, D) * 3 + 1
    lens = torch.tensor([7, 5])
    expected, _ = ref(list(hs), [lens] * L)
    torch.testing.assert_close(ours(hs), expected)


def test_weighted_sum_single_state_passes_through():
    m = WeightedSumInterface(1, 4, layer_norm=True)
    assert n_params(m) == 0  # as s3prl: one hidden state is used directly
    hs = torch.randn(1, 2, 3, 4) * 7
    assert torch.equal(m(hs), hs[0])


@pytest.mark.parametrize(
    "selections, message",
    [([], "must not be empty"), ([0, 6], r"out of range .*-6\.\.5"), ([1, -5], "dup")],
)
def test_weighted_sum_bad_selections(selections, message):
    with pytest.raises(ValueError, match=message):
        WeightedSumInterface(6, 4, layer_selections=selections)


# ----------------------------------------------------- concat / last / single
def test_concat_proj_params_and_layer_major_order():
    m = ConcatProjInterface(3, 4)
    assert m.output_size() == 4
    assert n_params(m) == 3 * 4 * 4 + 4
    m2 = ConcatProjInterface(3, 4, output_dim=10)
    assert m2.output_size() == 10
    assert n_params(m2) == 12 * 10 + 10
    hs = torch.randn(3, 2, 5, 4)
    cat = torch.cat([hs[0], hs[1], hs[2]], dim=-1)
    expected = cat @ m2.proj.weight.T + m2.proj.bias  # written out
    torch.testing.assert_close(m2(hs), expected)
    assert m2(hs).shape == (2, 5, 10)


def test_last_and_single_layer():
    hs = torch.randn(4, 2, 3, 5)
    last = LastLayerInterface(4, 5)
    assert n_params(last) == 0 and last.output_size() == 5
    assert torch.equal(last(hs), hs[3])
    assert torch.equal(SingleLayerInterface(4, 5, layer=1)(hs), hs[1])
    assert torch.equal(SingleLayerInterface(4, 5, layer=-4)(hs), hs[0])
    assert torch.equal(SingleLayerInterface(4, 5, layer=-2)(hs), hs[2])


@pytest.mark.parametrize("layer", [4, -5, 100])
def test_single_layer_out_of_range(layer):
    with pytest.raises(ValueError, match=r"out of range for 4 hidden states"):
        SingleLayerInterface(4, 5, layer=layer)


def test_wrong_input_shape_is_reported():
    m = WeightedSumInterface(4, 8)
    with pytest.raises(ValueError, match=r"\(L=4, B, T, D=8\)"):
        m(torch.randn(3, 2, 5, 8))
    with pytest.raises(ValueError, match=r"got \(4, 2, 5, 7\)"):
        m(torch.randn(4, 2, 5, 7))


# ---------------------------------------------------------------------- builder
CONFS = {
    "weighted_sum": {"layer_norm": True},
    "hconv": {},
    "concat_proj": {"output_dim": 7},
    "last": {},
    "single": {"layer": 2},
}


INTERFACES = interface_choices.classes


def test_registry_names():
    assert set(INTERFACES) == {"weighted_sum", "hconv", "concat_proj", "last", "single"}
    assert interface_choices.name == "interface"
    assert interface_choices.base_type is AbsInterface
    assert all(issubclass(cls, AbsInterface) for cls in INTERFACES.values())


def test_unknown_interface_message_lists_the_choices():
    for name in ("foo", "HConv", "none"):
        with pytest.raises(ValueError) as err:
            build_interface(name, 13, 8)
        assert str(err.value) == (
            f"unknown interface {name!r}; valid names: "
            "weighted_sum, hconv, concat_proj, last, single"
        )


def test_abs_interface_needs_forward_and_output_size():
    class OnlyForward(AbsInterface):
        def forward(self, hs):
            return hs[-1]

    with pytest.raises(TypeError, match="abstract"):
        OnlyForward()


def test_build_interface_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown interface 'foo'") as err:
        build_interface("foo", 13, 8)
    for name in INTERFACES:
        assert name in str(err.value)


@pytest.mark.parametrize("name", sorted(CONFS))
def test_output_size_matches_forward(name):
    m = build_interface(name, num_layers=10, dim=12, **CONFS[name])
    assert isinstance(m, INTERFACES[name])
    out = m(torch.randn(10, 2, 5, 12))
    assert out.shape == (2, 5, m.output_size())


@pytest.mark.parametrize("name", sorted(CONFS))
def test_frames_are_independent(name):
    """Perturbing input frame (b, t) changes output frame (b, t) only."""
    L, B, T, D = 10, 2, 6, 12
    m = build_interface(name, num_layers=L, dim=D, **CONFS[name])
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(std=0.5)
    hs = torch.randn(L, B, T, D)
    base = m(hs)
    for b, t in [(0, 0), (1, 3), (0, T - 1)]:
        bumped = hs.clone()
        bumped[:, b, t] += 100.0 * torch.randn(L, D)
        out = m(bumped)
        changed = (out - base).abs().amax(-1) > 0
        expected = torch.zeros(B, T, dtype=torch.bool)
        expected[b, t] = True
        assert torch.equal(changed, expected), (name, b, t)


def test_constructor_is_typechecked():
    from typeguard import TypeCheckError

    with pytest.raises(TypeCheckError):
        HConvInterface(13, 768.0)
