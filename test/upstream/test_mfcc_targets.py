"""Frame counts and alignment of the MFCC targets with HuBERT's 50 Hz frames."""

import pytest
import torch

from espnet2_ext.upstream.hubert_steps import crop_batch
from espnet2_ext.upstream.mfcc_targets import (
    mfcc_features,
    mfcc_frames,
    model_frames,
    to_model_rate,
)
from espnet2_ext.upstream.random_weights import build_hubert, hubert_configs


@pytest.mark.parametrize(
    "samples,frames50,frames100",
    [(399, 0, 0), (400, 1, 1), (719, 1, 2), (720, 2, 3), (16000, 49, 98)],
)
def test_frame_counts(samples, frames50, frames100):
    assert (model_frames(samples), mfcc_frames(samples)) == (frames50, frames100)
    wav = 0.1 * torch.randn(samples)
    if samples >= 400:
        assert mfcc_features(wav).shape == (frames100, 39)


def test_model_frames_match_the_real_convolutional_encoder():
    model_cfg, task_cfg = hubert_configs("tiny")
    model = build_hubert(model_cfg, task_cfg, [["0", "1"]], seed=0)
    for samples in (400, 719, 720, 1039, 1040, 16000, 16001, 23456):
        with torch.no_grad():
            out = model.feature_extractor(torch.zeros(1, samples))
        assert out.shape[2] == model_frames(samples), samples


def test_labels_are_the_mfcc_frames_with_the_same_centre():
    samples = 16000
    rows = torch.arange(mfcc_frames(samples))[:, None]
    picked = to_model_rate(rows, samples)[:, 0]
    assert len(picked) == model_frames(samples)
    # centre of model frame t: 320 t + 200; of MFCC frame j: 160 j + 200
    assert ((160 * picked + 200) == 320 * torch.arange(len(picked)) + 200).all()


def test_crops_keep_labels_aligned_with_samples():
    wavs = [torch.arange(n, dtype=torch.float32) for n in (5000, 9000, 12345)]
    labels = [torch.arange(model_frames(len(w))) for w in wavs]
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        x, y = crop_batch(wavs, labels, gen)
        assert x.shape == (3, 5000) and y.shape == (3, model_frames(5000))
        # first sample of the crop is where the first label's frame starts
        assert torch.equal(x[:, 0], 320.0 * y[:, 0])
        assert torch.equal(y - y[:, :1], torch.arange(y.shape[1]).expand_as(y))
