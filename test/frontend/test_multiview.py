"""The multiview frontend against a real (random-weight) s3prl HuBERT upstream."""

import pytest
import torch

from espnet2_ext.frontend.multiview import MultiViewFrontend

LENGTHS = torch.tensor([16000, 15999, 8001, 400])
# Hand-computed: FBank n // 160 + 1 = [101, 100, 51, 3]; SSL (n - 1) // 320 + 1 =
# [50, 50, 26, 2]; rate ssl: min(ceil(fbank / 2), ssl); rate fbank: min(fbank, 2 ssl).
EXPECTED_FRAMES = {
    ("gsgn", "ssl"): [50, 50, 26, 2],
    ("gsgn", "fbank"): [100, 100, 51, 3],
    ("fbank", "ssl"): [51, 50, 26, 2],
    ("fbank", "fbank"): [101, 100, 51, 3],
    ("ssl", "ssl"): [50, 50, 26, 2],
    ("ssl", "fbank"): [100, 100, 52, 4],
}


def _frontend(hubert, **conf):
    conf.setdefault("dim", 16)
    return MultiViewFrontend(
        upstreams=[{"name": "hubert_local", "path_or_url": str(hubert)}], **conf
    )


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    wav = torch.randn(len(LENGTHS), int(LENGTHS.max()), generator=g)
    return wav * (torch.arange(wav.size(1))[None] < LENGTHS[:, None]), LENGTHS.clone()


@pytest.mark.parametrize("fusion,rate", sorted(EXPECTED_FRAMES))
def test_exact_frame_counts_per_utterance(tiny_hubert, fusion, rate):
    frontend = _frontend(tiny_hubert, fusion=fusion, rate=rate, output_dim=12).eval()
    feats, lens = frontend(*_batch())
    assert lens.tolist() == EXPECTED_FRAMES[(fusion, rate)]
    assert feats.shape == (4, max(EXPECTED_FRAMES[(fusion, rate)]), 12)
    assert frontend.output_size() == 12


@pytest.mark.parametrize("rate", ["ssl", "fbank"])
def test_padding_content_never_reaches_valid_frames(tiny_hubert, rate):
    frontend = _frontend(tiny_hubert, rate=rate, interface="hconv").eval()
    wav, lens = _batch()
    garbage = wav + 100.0 * (torch.arange(wav.size(1))[None] >= lens[:, None])
    clean_out, clean_lens = frontend(wav, lens)
    dirty_out, dirty_lens = frontend(garbage, lens)
    assert torch.equal(clean_lens, dirty_lens)
    assert torch.equal(clean_out, dirty_out)
    for b, n in enumerate(clean_lens.tolist()):
        assert torch.count_nonzero(clean_out[b, n:]) == 0
        assert torch.count_nonzero(clean_out[b, :n]) > 0


def test_single_view_baselines_do_not_build_the_other_view(tiny_hubert):
    fbank_only = MultiViewFrontend(fusion="fbank", dim=16)  # needs no upstream at all
    assert not hasattr(fbank_only, "upstream")
    assert fbank_only.fbank is not None
    ssl_only = _frontend(tiny_hubert, fusion="ssl")
    assert ssl_only.fbank is None and not hasattr(ssl_only, "fbank_proj")


def test_frozen_upstream_gets_no_gradient_and_stays_bit_identical(tiny_hubert):
    frontend = _frontend(tiny_hubert, interface="weighted_sum").train()
    up = {k: v.clone() for k, v in frontend.upstream.state_dict().items()}
    rest = {n: p.clone() for n, p in frontend.named_parameters() if p.requires_grad}
    assert not any(p.requires_grad for p in frontend.upstream.parameters())
    assert not frontend.upstream.training  # eval mode despite frontend.train()
    assert {n.split(".")[0] for n in rest} == {
        "fbank_proj", "interface", "ssl_proj", "fusion",
    }  # fmt: skip
    optim = torch.optim.SGD(frontend.parameters(), lr=0.1)
    feats, lens = frontend(*_batch())
    feats.pow(2).mean().backward()
    optim.step()
    assert all(p.grad is None for p in frontend.upstream.parameters())
    for k, v in frontend.upstream.state_dict().items():
        assert torch.equal(v, up[k]), k
    changed = [n for n, p in frontend.named_parameters() if p.requires_grad
               and not torch.equal(p, rest[n])]  # fmt: skip
    assert "ssl_proj.weight" in changed and "fbank_proj.weight" in changed


def test_fine_tuned_upstream_receives_gradients_and_changes(tiny_hubert):
    frontend = _frontend(tiny_hubert, freeze_upstream=False).train()
    assert frontend.upstream.training
    before = {k: v.clone() for k, v in frontend.upstream.state_dict().items()}
    optim = torch.optim.SGD(frontend.parameters(), lr=0.1)
    frontend(*_batch())[0].pow(2).mean().backward()
    grads = [p.grad for p in frontend.upstream.parameters() if p.requires_grad]
    assert grads and sum(int(g is not None and g.abs().sum() > 0) for g in grads) > 10
    optim.step()
    after = frontend.upstream.state_dict()
    assert any(not torch.equal(after[k], before[k]) for k in before)


def test_reload_pretrained_parameters_restores_the_checkpoint(tiny_hubert):
    frontend = _frontend(tiny_hubert)
    reference = {k: v.clone() for k, v in frontend.upstream.state_dict().items()}
    with torch.no_grad():
        for p in frontend.upstream.parameters():
            p.normal_()
    frontend.reload_pretrained_parameters()
    for k, v in frontend.upstream.state_dict().items():
        assert torch.equal(v, reference[k]), k


@pytest.mark.parametrize("mode", ["sum", "concat"])
def test_two_upstreams_with_different_depth_and_width(tiny_hubert, tmp_path, mode):
    from espnet2_ext.upstream.random_weights import write_dummy_wav2vec2

    w2v = write_dummy_wav2vec2(tmp_path / "w2v.pt", num_layers=4, dim=48)
    frontend = MultiViewFrontend(
        upstreams=[
            {"name": "hubert_local", "path_or_url": str(tiny_hubert)},  # 3 x 32
            {"name": "wav2vec2_local", "path_or_url": str(w2v)},  # 5 x 48
        ],
        upstream_fusion=mode,
        interface="hconv",
        dim=16,
    ).eval()
    assert isinstance(frontend.upstream, torch.nn.ModuleList)
    assert frontend.layer_fusion.num_layers == 5
    assert frontend.layer_fusion.output_size() == 48
    feats, lens = frontend(*_batch())
    assert lens.tolist() == [50, 50, 26, 2]
    assert feats.shape == (4, 50, 16)


def test_eval_mode_is_deterministic(tiny_hubert):
    frontend = _frontend(
        tiny_hubert, fusion_conf={"branch_dropout": [[1, 0.3, 0.3]]}
    ).eval()
    batch = _batch()
    assert torch.equal(frontend(*batch)[0], frontend(*batch)[0])


def test_configuration_errors_are_explained(tiny_hubert):
    with pytest.raises(ValueError, match="16 kHz"):
        MultiViewFrontend(fs="8k", fusion="fbank")
    with pytest.raises(ValueError, match="needs 'upstreams:"):
        MultiViewFrontend(fusion="gsgn")
    with pytest.raises(ValueError, match="rate must be one of"):
        _frontend(tiny_hubert, rate="25hz")


GSGN_KEYS = {"loss_gate", "gate_cos", "gate_conflict", "gate_mean", "gate_above1"}


def test_diagnostics_after_forward_and_backward(tiny_hubert):
    frontend = _frontend(tiny_hubert, fusion="gsgn").train()
    feats, _ = frontend(*_batch())
    feats.pow(2).mean().backward()  # GSGN writes its statistics in backward
    diag = frontend.diagnostics()
    assert set(diag) == GSGN_KEYS
    for name, value in diag.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0, name
        assert not value.requires_grad and torch.isfinite(value), name
    assert diag["loss_gate"] > 0


def test_diagnostics_empty_for_a_simple_fusion(tiny_hubert):
    frontend = _frontend(tiny_hubert, fusion="sum").train()
    frontend(*_batch())[0].pow(2).mean().backward()
    assert frontend.diagnostics() == {}


OUTPUT_HOP = {"ssl": 320, "fbank": 160}


@pytest.mark.parametrize("fusion,rate", sorted(EXPECTED_FRAMES))
def test_hop_length_is_the_hop_of_the_output_frames(tiny_hubert, fusion, rate):
    frontend = _frontend(tiny_hubert, fusion=fusion, rate=rate).eval()
    hop = frontend.hop_length
    assert hop == OUTPUT_HOP[rate] and frontend.fbank_hop == 160
    lengths = torch.tensor([16000, 8000])
    wav = torch.randn(2, 16000, generator=torch.Generator().manual_seed(1))
    _, lens = frontend(wav * (torch.arange(16000)[None] < lengths[:, None]), lengths)
    # 8000 more samples give exactly 8000 / hop more output frames
    assert int(lens[0] - lens[1]) == 8000 // hop
    assert 16000 // hop <= int(lens[0]) <= 16000 // hop + 1


# ------------------------------------------ the units and noise S-features, end to end
def _codebook(tmp_path, dim=32, num_units=7):
    """A k-means codebook for layer 1 of the tiny HuBERT (32 wide)."""
    from espnet2_ext.frontend.units import save_codebook

    centroids = torch.randn(num_units, dim, generator=torch.Generator().manual_seed(3))
    meta = dict(upstream="hubert_local", layer=1, seed=3, num_frames=100)
    return str(save_codebook(tmp_path / "km.pt", centroids, meta))


def _view_frontend(hubert, tmp_path, ssl_view, fusion="gsgn"):
    conf = dict(ssl_view=ssl_view, fusion=fusion, output_dim=12)
    if ssl_view == "units":
        conf["units_conf"] = {"codebook": _codebook(tmp_path)}
    return _frontend(hubert, **conf)


def _trained_params(module):
    return {name for name, p in module.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("ssl_view", ["units", "noise"])
@pytest.mark.parametrize("fusion", ["gsgn", "ssl"])
def test_units_and_noise_views_give_the_exact_frames(
    tiny_hubert, tmp_path, ssl_view, fusion
):
    frontend = _view_frontend(tiny_hubert, tmp_path, ssl_view, fusion)
    feats, lens = frontend(*_batch())  # train mode: the noise view learns its range
    assert frontend.output_size() == 12
    assert lens.tolist() == EXPECTED_FRAMES[(fusion, "ssl")] == [50, 50, 26, 2]
    assert feats.shape == (4, 50, 12)
    for b, n in enumerate(lens.tolist()):
        assert torch.count_nonzero(feats[b, n:]) == 0


def test_units_view_trains_its_embedding_and_never_the_upstream(tiny_hubert, tmp_path):
    frontend = _view_frontend(tiny_hubert, tmp_path, "units")
    feats, _ = frontend(*_batch())
    feats.pow(2).sum().backward()
    trained = _trained_params(frontend)
    assert "units.embed.weight" in trained
    assert {"fbank_proj.weight", "fbank_proj.bias"} <= trained
    assert any(name.startswith("fusion.") for name in trained)
    assert not any(name.startswith("upstream.") for name in trained)
    assert not hasattr(frontend, "interface") and not hasattr(frontend, "ssl_proj")
    assert all(p.grad is None for p in frontend.upstream.parameters())


def test_noise_view_trains_only_the_fbank_side_and_the_fusion(tiny_hubert, tmp_path):
    frontend = _view_frontend(tiny_hubert, tmp_path, "noise")
    feats, _ = frontend(*_batch())
    feats.pow(2).sum().backward()
    trained = _trained_params(frontend)
    assert {"fbank_proj.weight", "fbank_proj.bias"} <= trained
    assert any(name.startswith("fusion.") for name in trained)
    # the S-feature only sets the noise range: nothing on the SSL side learns
    assert trained.isdisjoint(
        name
        for name, _ in frontend.named_parameters()
        if name.startswith(("upstream.", "layer_fusion.", "interface.", "ssl_proj."))
    )
    assert torch.isfinite(frontend.noise.running_min)


@pytest.mark.parametrize("ssl_view", ["units", "noise"])
def test_units_and_noise_frontends_are_deterministic_in_eval(
    tiny_hubert, tmp_path, ssl_view
):
    frontend = _view_frontend(tiny_hubert, tmp_path, ssl_view)
    frontend(*_batch())  # one training batch: the noise range is observed
    if ssl_view == "noise":  # a narrow range that any update in eval would widen
        frontend.noise.running_min.fill_(-1e-3)
        frontend.noise.running_max.fill_(1e-3)
    frontend.eval()
    state = {k: v.clone() for k, v in frontend.state_dict().items()}
    wav, lens = _batch(seed=1)
    wav = 10.0 * wav  # louder than the training batch: a range update would show
    torch.manual_seed(5)
    first, _ = frontend(wav, lens)
    torch.manual_seed(5)  # the noise view draws from torch's generator
    second, _ = frontend(wav, lens)
    assert torch.equal(first, second)
    for key, value in frontend.state_dict().items():
        assert torch.equal(value, state[key]), key  # eval changes no buffer
    if ssl_view == "units":  # no draw at all: equal without reseeding
        third, _ = frontend(wav, lens)
        assert torch.equal(first, third)
