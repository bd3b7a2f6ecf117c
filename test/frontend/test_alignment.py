"""Frame counts and frame-rate alignment: exact numbers for ragged batches, masking."""

import pytest
import torch

from espnet2_ext.frontend.alignment import (
    align_views,
    aligned_num_frames,
    fbank_num_frames,
    mask_frames,
    mask_samples,
    repeat_frames,
    resample_frames,
    ssl_num_frames,
    stack_frames,
    trim_to,
)

SAMPLES = [16000, 15999, 8001, 400]
# By hand: FBank n // 160 + 1; s3prl (n - 1) // 320 + 1.
#   16000 -> 100 + 1 = 101 | 15999 // 320 = 49 -> 50
#   15999 ->  99 + 1 = 100 | 15998 // 320 = 49 -> 50
#    8001 ->  50 + 1 =  51 |  8000 // 320 = 25 -> 26
#     400 ->   2 + 1 =   3 |   399 // 320 =  1 ->  2
FBANK = [101, 100, 51, 3]
SSL = [50, 50, 26, 2]
# rate ssl:   min(ceil(fbank / 2), ssl) = min([51, 50, 26, 2], ssl) = [50, 50, 26, 2]
# rate fbank: min(fbank, 2 * ssl) = min(fbank, [100, 100, 52, 4]) = [100, 100, 51, 3]
ALIGNED = {"ssl": [50, 50, 26, 2], "fbank": [100, 100, 51, 3]}
HUGE = 1e6


def test_frame_count_formulas_ints_and_tensors():
    n = torch.tensor(SAMPLES)
    assert fbank_num_frames(n).tolist() == FBANK
    assert ssl_num_frames(n).tolist() == SSL
    assert fbank_num_frames(n).dtype == torch.long
    assert ssl_num_frames(n).dtype == torch.long
    assert [fbank_num_frames(s) for s in SAMPLES] == FBANK
    assert [ssl_num_frames(s) for s in SAMPLES] == SSL
    assert isinstance(fbank_num_frames(400), int)
    assert fbank_num_frames(480, hop_length=240) == 3
    assert ssl_num_frames(641, stride=640) == 2


def test_fbank_formula_matches_espnet_stft():
    from espnet2.layers.stft import Stft

    stft = Stft(n_fft=400, win_length=400, hop_length=160)
    n = torch.tensor(SAMPLES)
    _, lens = stft(torch.randn(len(SAMPLES), max(SAMPLES)), n)
    assert lens.tolist() == FBANK


@pytest.mark.parametrize("rate", ["ssl", "fbank"])
def test_aligned_num_frames(rate):
    n = torch.tensor(SAMPLES)
    assert aligned_num_frames(n, rate).tolist() == ALIGNED[rate]
    assert [aligned_num_frames(s, rate) for s in SAMPLES] == ALIGNED[rate]


def test_aligned_num_frames_errors():
    with pytest.raises(ValueError, match="rate must be one of"):
        aligned_num_frames(16000, "50hz")
    with pytest.raises(ValueError, match="multiple of the FBank hop"):
        aligned_num_frames(16000, "ssl", hop_length=160, stride=400)


def _views(d_f=3, d_s=4, pad_value=0.0):
    """Ragged FBank and SSL views of SAMPLES with padding filled by pad_value."""
    f_lens, s_lens = torch.tensor(FBANK), torch.tensor(SSL)
    x_f = torch.full((4, max(FBANK), d_f), pad_value)
    x_s = torch.full((4, max(SSL), d_s), pad_value)
    for b in range(4):
        x_f[b, : FBANK[b]] = torch.randn(FBANK[b], d_f)
        x_s[b, : SSL[b]] = torch.randn(SSL[b], d_s)
    return x_f, f_lens, x_s, s_lens


def test_align_views_rate_ssl_shapes_lengths_and_content():
    x_f, f_lens, x_s, s_lens = _views()
    a_f, a_s, lens = align_views(x_f, f_lens, x_s, s_lens, "ssl", 2)
    assert lens.tolist() == ALIGNED["ssl"]
    assert a_f.shape == (4, 50, 6)
    assert a_s.shape == (4, 50, 4)
    for b in range(4):
        for t in range(lens[b]):
            second = x_f[b, 2 * t + 1] if 2 * t + 1 < FBANK[b] else torch.zeros(3)
            assert torch.equal(a_f[b, t], torch.cat([x_f[b, 2 * t], second]))
            assert torch.equal(a_s[b, t], x_s[b, t])
    # 8001 samples: 51 FBank frames -> the 26th stacked frame is frame 50 + zeros
    assert torch.equal(a_f[2, 25, 3:], torch.zeros(3))
    assert torch.equal(a_f[2, 25, :3], x_f[2, 50])
    # utterance 0: 101 FBank frames, but only 50 SSL frames -> 50
    assert lens[0] == 50


def test_align_views_rate_fbank_shapes_lengths_and_content():
    x_f, f_lens, x_s, s_lens = _views()
    a_f, a_s, lens = align_views(x_f, f_lens, x_s, s_lens, "fbank", 2)
    assert lens.tolist() == ALIGNED["fbank"]
    assert a_f.shape == (4, 100, 3)
    assert a_s.shape == (4, 100, 4)
    for b in range(4):
        for t in range(lens[b]):
            assert torch.equal(a_f[b, t], x_f[b, t])
            assert torch.equal(a_s[b, t], x_s[b, t // 2])


@pytest.mark.parametrize("rate", ["ssl", "fbank"])
def test_align_views_padding_never_leaks(rate):
    """Huge values in padded frames change nothing; outputs beyond lengths are 0."""
    torch.manual_seed(1)
    clean = _views(pad_value=0.0)
    torch.manual_seed(1)
    dirty = _views(pad_value=HUGE)
    out_clean = align_views(*clean, rate, 2)
    out_dirty = align_views(*dirty, rate, 2)
    assert torch.equal(out_clean[2], out_dirty[2])
    lens = out_dirty[2]
    for clean_view, dirty_view in zip(out_clean[:2], out_dirty[:2]):
        assert torch.equal(clean_view, dirty_view)
        assert dirty_view.abs().max() < HUGE
        beyond = torch.arange(dirty_view.size(1))[None, :] >= lens[:, None]
        assert torch.equal(dirty_view[beyond], torch.zeros_like(dirty_view[beyond]))


@pytest.mark.parametrize("rate", ["ssl", "fbank"])
def test_align_views_lengths_equal_formula_from_samples(rate):
    n = torch.tensor([16000, 15999, 8001, 400, 321, 320, 319, 161, 160, 1])
    f_lens, s_lens = fbank_num_frames(n), ssl_num_frames(n)
    x_f = torch.randn(len(n), int(f_lens.max()), 2)
    x_s = torch.randn(len(n), int(s_lens.max()), 2)
    a_f, a_s, lens = align_views(x_f, f_lens, x_s, s_lens, rate, 2)
    assert torch.equal(lens, aligned_num_frames(n, rate))
    assert a_f.size(1) == a_s.size(1) == int(lens.max())


def test_align_views_bad_rate():
    with pytest.raises(ValueError, match="rate must be one of"):
        align_views(*_views(), "100hz", 2)


def test_stack_frames_ragged():
    x = torch.arange(1, 1 + 2 * 5 * 2, dtype=torch.float).reshape(2, 5, 2)
    lens = torch.tensor([5, 2])
    y, y_lens = stack_frames(x, lens, 2)
    assert y.shape == (2, 3, 4)
    assert y_lens.tolist() == [3, 1]
    assert torch.equal(y[0, 0], torch.cat([x[0, 0], x[0, 1]]))
    assert torch.equal(y[0, 2], torch.cat([x[0, 4], torch.zeros(2)]))  # tail pad
    assert torch.equal(y[1, 0], torch.cat([x[1, 0], x[1, 1]]))
    assert torch.equal(y[1, 1:], torch.zeros(2, 4))  # x[1, 2:] is padding
    y3, l3 = stack_frames(x, lens, 3)
    assert y3.shape == (2, 2, 6) and l3.tolist() == [2, 1]
    assert torch.equal(y3[1, 0], torch.cat([x[1, 0], x[1, 1], torch.zeros(2)]))


def test_repeat_frames_ragged():
    x = torch.randn(2, 3, 4)
    x[1, 2] = HUGE  # padding of utterance 1
    y, y_lens = repeat_frames(x, torch.tensor([3, 2]), 2)
    assert y.shape == (2, 6, 4)
    assert y_lens.tolist() == [6, 4]
    for t in range(6):
        assert torch.equal(y[0, t], x[0, t // 2])
    assert torch.equal(y[1, :4], x[1].repeat_interleave(2, 0)[:4])
    assert torch.equal(y[1, 4:], torch.zeros(2, 4))


def test_trim_to():
    x = torch.randn(3, 6, 2)
    y, new = trim_to(x, torch.tensor([6, 4, 2]), torch.tensor([5, 5, 1]))
    assert new.tolist() == [5, 4, 1]
    assert y.shape == (3, 5, 2)
    assert torch.equal(y[0], x[0, :5])
    assert torch.equal(y[1, :4], x[1, :4]) and torch.equal(y[1, 4], torch.zeros(2))
    assert torch.equal(y[2, 0], x[2, 0]) and torch.equal(y[2, 1:], torch.zeros(4, 2))


def test_mask_frames_any_trailing_shape():
    x = torch.ones(2, 3, 4, 5)
    y = mask_frames(x, torch.tensor([1, 3]))
    assert y[0, 1:].abs().sum() == 0 and y[0, 0].sum() == 20 and y[1].sum() == 60


def test_mask_frames_and_samples_ragged():
    lengths = torch.tensor([5, 0, 2, 9])  # 9 > T: nothing of that row is padding
    frames = torch.randn(4, 5, 3)
    valid = torch.arange(5)[None, :] < lengths[:, None]
    want = frames * valid[:, :, None]
    assert torch.equal(mask_frames(frames, lengths), want)
    assert torch.equal(mask_frames(frames[..., 0], lengths), want[..., 0])
    assert torch.equal(mask_samples(frames[..., 0], lengths), want[..., 0])


def test_bad_factor():
    with pytest.raises(ValueError, match="factor must be a positive int"):
        stack_frames(torch.randn(1, 2, 3), torch.tensor([2]), 0)


def test_resample_coarser_source_repeats():
    x = torch.randn(2, 3, 4)
    lens = torch.tensor([3, 1])
    y, y_lens = resample_frames(x, lens, 640, 320)
    assert y.shape == (2, 6, 4) and y_lens.tolist() == [6, 2]
    assert torch.equal(y[0], x[0].repeat_interleave(2, 0))
    assert torch.equal(y[1, :2], x[1, :1].repeat(2, 1))
    assert torch.equal(y[1, 2:], torch.zeros(4, 4))


def test_resample_finer_source_averages_valid_frames_only():
    x = torch.randn(2, 5, 3)
    x[1, 3:] = HUGE  # padding of utterance 1 (length 3)
    y, y_lens = resample_frames(x, torch.tensor([5, 3]), 160, 320)
    assert y.shape == (2, 3, 3) and y_lens.tolist() == [3, 2]
    torch.testing.assert_close(y[0, 0], (x[0, 0] + x[0, 1]) / 2)
    torch.testing.assert_close(y[0, 2], x[0, 4])  # last group: 1 valid frame
    torch.testing.assert_close(y[1, 1], x[1, 2])  # not (x[1, 2] + HUGE) / 2
    assert torch.equal(y[1, 2], torch.zeros(3))
    y3, l3 = resample_frames(x, torch.tensor([5, 3]), 160, 480)
    assert y3.shape == (2, 2, 3) and l3.tolist() == [2, 1]
    torch.testing.assert_close(y3[0, 1], (x[0, 3] + x[0, 4]) / 2)


def test_resample_same_stride_and_errors():
    x = torch.randn(2, 4, 3)
    y, lens = resample_frames(x, torch.tensor([4, 2]), 320, 320)
    assert torch.equal(y[0], x[0]) and torch.equal(y[1, 2:], torch.zeros(2, 3))
    with pytest.raises(ValueError, match="ratio of the strides must be an integer"):
        resample_frames(x, torch.tensor([4, 2]), 480, 320)
    with pytest.raises(ValueError, match="ratio of the strides must be an integer"):
        resample_frames(x, torch.tensor([4, 2]), 320, 480)
