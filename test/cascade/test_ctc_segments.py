"""The 1-best tokens and their frames from CTC, and one vector per token."""

import pytest
import torch

from espnet2_ext.cascade.ctc_segments import (
    Segment,
    aligned_segments,
    greedy_segments,
    pool_segments,
)


def _posteriors(path, vocab=4):
    """(T, V) log-posteriors whose frame-wise argmax is ``path``."""
    logits = torch.zeros(len(path), vocab)
    logits[torch.arange(len(path)), torch.tensor(path)] = 5.0
    return torch.log_softmax(logits, dim=-1)


def test_greedy_collapses_repeats_and_drops_blanks_with_each_tokens_frames():
    lp = _posteriors([0, 2, 2, 0, 0, 3, 1, 1, 0])
    assert greedy_segments(lp, 9) == [
        Segment(2, 1, 3),
        Segment(3, 5, 6),
        Segment(1, 6, 8),
    ]


def test_a_token_repeated_across_a_blank_is_two_tokens():
    assert greedy_segments(_posteriors([2, 0, 2, 2]), 4) == [
        Segment(2, 0, 1),
        Segment(2, 2, 4),
    ]


def test_frames_past_the_length_are_padding_and_all_blank_is_empty():
    lp = _posteriors([0, 2, 0, 3, 3])
    assert greedy_segments(lp, 3) == [Segment(2, 1, 2)]
    assert greedy_segments(_posteriors([0, 0, 0]), 3) == []
    assert greedy_segments(lp, 0) == []


def test_another_blank_id():
    assert greedy_segments(_posteriors([3, 1, 1, 3]), 4, blank=3) == [Segment(1, 1, 3)]


def test_forced_alignment_of_the_greedy_hypothesis_finds_its_frames():
    lp = _posteriors([0, 2, 2, 0, 3, 0])
    tokens = [s.token for s in greedy_segments(lp, 6)]
    assert aligned_segments(lp, 6, tokens) == greedy_segments(lp, 6)
    assert aligned_segments(lp, 6, []) == []


def test_forced_alignment_refuses_a_hypothesis_longer_than_the_frames():
    with pytest.raises(ValueError, match="3 tokens cannot be aligned to 2 CTC frames"):
        aligned_segments(_posteriors([1, 2]), 2, [1, 2, 3])
    with pytest.raises(ValueError, match="2 tokens cannot be aligned to 2"):
        aligned_segments(_posteriors([1, 2]), 2, [1, 1])  # needs a blank between


def test_pooling_means_or_takes_the_first_frame_and_pads_with_zeros():
    enc = torch.arange(2 * 5 * 3, dtype=torch.float).view(2, 5, 3).requires_grad_()
    segments = [[Segment(2, 1, 3), Segment(3, 4, 5)], []]
    pooled, tokens, lengths = pool_segments(enc, segments)
    assert pooled.shape == (2, 2, 3)
    assert torch.equal(pooled[0, 0], enc[0, 1:3].mean(0))
    assert torch.equal(pooled[0, 1], enc[0, 4])
    assert torch.equal(pooled[1], torch.zeros(2, 3))
    assert tokens.tolist() == [[2, 3], [0, 0]] and lengths.tolist() == [2, 0]
    pooled.sum().backward()
    used = enc.grad.abs().sum(-1)
    assert used[0].tolist() == [0.0, 1.5, 1.5, 0.0, 3.0] and used[1].sum() == 0
    first, _, _ = pool_segments(enc.detach(), segments, "first")
    assert torch.equal(first[0, 0], enc[0, 1].detach())


def test_a_batch_of_empty_hypotheses_pools_to_one_padded_position():
    pooled, tokens, lengths = pool_segments(torch.ones(2, 4, 3), [[], []])
    assert pooled.shape == (2, 1, 3) and lengths.tolist() == [0, 0]
    with pytest.raises(ValueError, match="pooling must be 'mean' or 'first'"):
        pool_segments(torch.ones(1, 4, 3), [[]], "max")
