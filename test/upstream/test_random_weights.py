"""The random-weight checkpoints load through s3prl's real ``*_local`` path."""

import random

import pytest
import torch

from espnet2_ext.frontend.upstreams import load_upstream, upstream_info
from espnet2_ext.upstream.random_weights import (
    PRESETS,
    write_dummy_hubert,
    write_dummy_wav2vec2,
)


@pytest.mark.parametrize(
    "fixture,name",
    [("tiny_hubert", "hubert_local"), ("tiny_wav2vec2", "wav2vec2_local")],
)
def test_loads_as_local_upstream_with_hubert_frame_rate(request, fixture, name):
    upstream = load_upstream(
        {"name": name, "path_or_url": str(request.getfixturevalue(fixture))}
    )
    info = upstream_info(upstream)
    assert (info.num_layers, info.dim, info.stride) == (3, 32, 320)
    wav = torch.randn(3, 16000)
    hs, lens = upstream(wav, torch.tensor([16000, 15999, 8001]))
    assert len(hs) == 3
    assert hs[0].shape == (3, 50, 32)
    assert lens[0].tolist() == [50, 50, 26]  # (n - 1) // 320 + 1


def test_loading_keeps_the_callers_rng_state(tiny_hubert):
    torch.manual_seed(123)
    random.seed(123)
    expected_torch = torch.rand(3)
    expected_py = random.random()
    torch.manual_seed(123)
    random.seed(123)
    load_upstream({"name": "hubert_local", "path_or_url": str(tiny_hubert)})
    assert torch.equal(torch.rand(3), expected_torch)
    assert random.random() == expected_py


def test_same_seed_same_weights_and_base_preset_shape(tmp_path):
    a = torch.load(write_dummy_hubert(tmp_path / "a.pt", seed=3))
    b = torch.load(write_dummy_hubert(tmp_path / "b.pt", seed=3))
    c = torch.load(write_dummy_hubert(tmp_path / "c.pt", seed=4))
    key = "encoder.layers.0.fc1.weight"
    assert torch.equal(a["model_weight"][key], b["model_weight"][key])
    assert not torch.equal(a["model_weight"][key], c["model_weight"][key])
    assert a["model_cfg"]["encoder_layers"] == PRESETS["tiny"]["num_layers"]
    assert set(a) == {"task_cfg", "model_cfg", "model_weight", "dictionaries_symbols"}
    w = torch.load(write_dummy_wav2vec2(tmp_path / "w.pt", num_layers=3, dim=48))
    assert set(w) == {"task_cfg", "model_cfg", "model_weight"}
    assert (w["model_cfg"]["encoder_layers"], w["model_cfg"]["encoder_embed_dim"]) == (
        3,
        48,
    )


def test_unknown_upstream_name_and_bad_spec_are_explained():
    with pytest.raises(ValueError, match="unknown s3prl upstream 'hubert_lokal'"):
        load_upstream({"name": "hubert_lokal"})
    with pytest.raises(ValueError, match="unknown keys: \\['path'\\]"):
        load_upstream({"name": "hubert_local", "path": "x.pt"})
