"""The frozen upstream's feature cache: keys, budget, and the frontend's outputs with
and without it."""

import logging

import pytest
import torch

from espnet2_ext.frontend import upstreams as ups
from espnet2_ext.frontend.feature_cache import FeatureCache, waveform_key
from espnet2_ext.frontend.multiview import MultiViewFrontend

LENGTHS = torch.tensor([16000, 9600, 3201])


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    wav = torch.randn(len(LENGTHS), int(LENGTHS.max()), generator=g)
    return wav * (torch.arange(wav.size(1))[None] < LENGTHS[:, None]), LENGTHS.clone()


def _frontend(hubert, **conf):
    return MultiViewFrontend(
        upstreams=[{"name": "hubert_local", "path_or_url": str(hubert)}],
        dim=16,
        interface="hconv",
        **conf,
    )


def test_key_depends_on_values_length_and_dtype_only():
    x = torch.arange(10, dtype=torch.float32)
    assert waveform_key(x) == waveform_key(x.clone())
    assert waveform_key(x[:9]) != waveform_key(x)
    assert waveform_key(torch.cat([x, torch.zeros(1)])) != waveform_key(x)
    assert waveform_key(x.double()) != waveform_key(x)
    y = x.clone()
    y[3] += 1e-6
    assert waveform_key(y) != waveform_key(x)


def _states(frames, num_layers=3, dim=4):
    """Hidden states (L, B, T, D) whose valid frames are 1 + b, padding -1."""
    hs = -torch.ones(num_layers, len(frames), max(frames), dim)
    for b, n in enumerate(frames):
        hs[:, b, :n] = 1.0 + b
    return hs, torch.tensor(frames)


def test_lookup_assembles_valid_frames_and_zero_padding():
    cache = FeatureCache(10**6)
    hs, frames = _states([5, 2, 4])
    keys = [b"a", b"b", b"c"]
    cache.store(keys, hs, frames)
    assert cache.stored_bytes == 3 * (5 + 2 + 4) * 4 * 4  # L * frames * D * float32
    speech = torch.zeros(2, 1)
    got, got_frames = cache.lookup(speech, torch.tensor([1, 1]), [b"b", b"c"])
    assert got_frames.tolist() == [2, 4]
    assert got.shape == (3, 2, 4, 4)
    assert torch.equal(got[:, 0, :2], torch.full((3, 2, 4), 2.0))
    assert torch.count_nonzero(got[:, 0, 2:]) == 0  # zero, not the stored -1
    assert torch.equal(got[:, 1], torch.full((3, 4, 4), 3.0))
    assert cache.lookup(speech, torch.tensor([1, 1]), [b"b", b"d"]) is None


def test_budget_stops_storing_and_warns_once(caplog):
    one = 3 * 5 * 4 * 4  # bytes of one utterance of 5 frames
    cache = FeatureCache(2 * one + one // 2)
    with caplog.at_level(logging.WARNING):
        cache.store([b"a", b"b", b"c"], *_states([5, 5, 5]))
        cache.store([b"d"], *_states([5]))
    assert len(cache) == 2
    assert cache.stored_bytes == 2 * one
    warnings = [r for r in caplog.records if "feature cache full" in r.message]
    assert len(warnings) == 1
    assert "2 utterances" in warnings[0].getMessage()


def test_non_positive_budget_is_refused():
    with pytest.raises(ValueError, match="positive size; got 0"):
        FeatureCache(0)


def test_run_computes_each_batch_once(tiny_hubert):
    upstream = ups.load_upstream(
        {"name": "hubert_local", "path_or_url": str(tiny_hubert)}
    )
    upstream.eval()
    wav, lens = _batch()
    calls = []

    def compute():
        calls.append(1)
        return ups.run_upstream(upstream, wav, lens, frozen=True)

    cache = FeatureCache(10**8)
    first = cache.run(compute, wav, lens)
    second = cache.run(compute, wav, lens)
    assert len(calls) == 1 and (cache.hits, cache.misses) == (1, 1)
    assert torch.equal(first[1], second[1])
    for b, n in enumerate(first[1].tolist()):
        assert torch.equal(first[0][:, b, :n], second[0][:, b, :n])


@pytest.mark.parametrize("fusion", ["gsgn", "ssl"])
def test_frontend_outputs_match_the_uncached_frontend(tiny_hubert, fusion):
    torch.manual_seed(0)
    plain = _frontend(tiny_hubert, fusion=fusion).eval()
    cached = _frontend(tiny_hubert, fusion=fusion, feature_cache="64MB").eval()
    cached.load_state_dict(plain.state_dict())
    assert set(cached.state_dict()) == set(plain.state_dict())  # nothing persisted
    wav, lens = _batch()
    want, want_lens = plain(wav, lens)
    for _ in range(2):  # computed, then assembled from the cache
        got, got_lens = cached(wav, lens)
        assert torch.equal(got_lens, want_lens)
        assert torch.allclose(got, want, atol=1e-6)
    cache = cached._feature_caches[0]
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 3)
    # another order of the same utterances is a hit too, each row unchanged
    order = torch.tensor([2, 0, 1])
    got, got_lens = cached(wav[order][:, : int(lens[order].max())], lens[order])
    assert cache.hits == 2
    assert torch.equal(got_lens, want_lens[order])
    assert torch.allclose(got, want[order][:, : got.size(1)], atol=1e-6)


def test_training_step_reuses_cache_and_trains_the_rest(tiny_hubert):
    frontend = _frontend(tiny_hubert, fusion="ssl", feature_cache=10**8).train()
    wav, lens = _batch()
    frontend(wav, lens)[0].sum().backward()
    grad_first = frontend.ssl_proj.weight.grad.clone()
    frontend.zero_grad()
    frontend(wav, lens)[0].sum().backward()
    assert frontend._feature_caches[0].hits == 1
    assert torch.allclose(frontend.ssl_proj.weight.grad, grad_first, atol=1e-5)
    assert all(p.grad is None for p in frontend.upstream.parameters())


def test_cache_needs_a_frozen_upstream(tiny_hubert):
    with pytest.raises(ValueError, match="feature_cache needs freeze_upstream: true"):
        _frontend(tiny_hubert, freeze_upstream=False, feature_cache="1GB")


def test_fbank_only_ignores_the_cache():
    frontend = MultiViewFrontend(fusion="fbank", dim=16, feature_cache="1GB")
    assert frontend._feature_caches == []
