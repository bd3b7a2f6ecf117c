"""The ASR 1-best and the encoder frames of each of its tokens, from CTC.

The exporter gives one vector per 1-best token, taken at that token's frames. Two
ways to get the tokens and their frames:

- :func:`greedy_segments` (the default): the frame-wise argmax, repeats collapsed and
  blanks removed; a token's frames are the run of frames that emitted it.
- :func:`aligned_segments`: a given token sequence (e.g. a beam search's 1-best)
  force-aligned to the CTC posteriors (``torchaudio.functional.forced_align``), each
  token's frames merged by ``torchaudio.functional.merge_tokens``.

Example::

    >>> lp = torch.log_softmax(torch.tensor([[0., 5, 0], [0, 5, 0], [5, 0, 0],
    ...                                      [0, 0, 5]]), -1)
    >>> greedy_segments(lp, 4)
    [Segment(token=1, start=0, end=2), Segment(token=2, start=3, end=4)]
"""

from typing import List, NamedTuple, Sequence, Tuple

import torch


class Segment(NamedTuple):
    """One 1-best token and its encoder frames ``[start, end)``."""

    token: int
    start: int
    end: int


def greedy_segments(
    log_probs: torch.Tensor, length: int, blank: int = 0
) -> List[Segment]:
    """Greedy CTC decoding with each token's frames.

    Args:
        log_probs: (T, V) CTC log-posteriors of one utterance.
        length: Its number of valid frames (the rest is padding).
        blank: The blank id.

    Returns:
        The 1-best tokens in order (repeats collapsed, blanks removed), each with
        the run of frames that emitted it; empty when every frame is blank.
    """
    best = log_probs[:length].argmax(dim=-1).tolist()
    segments: List[Segment] = []
    prev = blank
    for t, token in enumerate(best):
        if token != blank:
            if token == prev:
                segments[-1] = segments[-1]._replace(end=t + 1)
            else:
                segments.append(Segment(token, t, t + 1))
        prev = token
    return segments


def aligned_segments(
    log_probs: torch.Tensor, length: int, tokens: Sequence[int], blank: int = 0
) -> List[Segment]:
    """The frames of a given token sequence, by CTC forced alignment.

    Args:
        log_probs: (T, V) CTC log-posteriors of one utterance.
        length: Its number of valid frames.
        tokens: The hypothesis (no blanks), e.g. a beam search's 1-best.
        blank: The blank id.

    Raises:
        ValueError: the hypothesis needs more frames than the utterance has.
    """
    import torchaudio.functional as F

    if len(tokens) == 0:
        return []
    repeats = sum(a == b for a, b in zip(tokens, tokens[1:]))
    if len(tokens) + repeats > length:
        raise ValueError(
            f"a hypothesis of {len(tokens)} tokens cannot be aligned to {length}"
            " CTC frames"
        )
    targets = torch.tensor([list(tokens)], dtype=torch.int32)
    frames = log_probs[:length].detach().float().cpu().unsqueeze(0)
    alignment, scores = F.forced_align(frames, targets, blank=blank)
    spans = F.merge_tokens(alignment[0], scores[0].exp(), blank=blank)
    return [Segment(s.token, s.start, s.end) for s in spans]


def pool_segments(
    encoded: torch.Tensor, segments: Sequence[Sequence[Segment]], how: str = "mean"
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One vector per 1-best token from its frames, for a batch.

    Args:
        encoded: (B, T, D) encoder output.
        segments: Per utterance, its tokens and frames.
        how: ``mean`` of the token's frames, or its ``first`` frame.

    Returns:
        pooled: (B, L, D), L the longest hypothesis (at least 1); zeros past each
            hypothesis' end. Differentiable with respect to ``encoded``.
        tokens: (B, L) token ids, 0 past each hypothesis' end.
        lengths: (B,) hypothesis lengths (0 for an empty hypothesis).
    """
    if how not in ("mean", "first"):
        raise ValueError(f"pooling must be 'mean' or 'first'; got '{how}'")
    batch, frames, _ = encoded.shape
    longest = max([len(s) for s in segments] + [1])
    weights = encoded.new_zeros(batch, longest, frames)
    tokens = torch.zeros(batch, longest, dtype=torch.long, device=encoded.device)
    for b, utterance in enumerate(segments):
        for i, seg in enumerate(utterance):
            if how == "mean":
                weights[b, i, seg.start : seg.end] = 1.0 / (seg.end - seg.start)
            else:
                weights[b, i, seg.start] = 1.0
            tokens[b, i] = seg.token
    lengths = torch.tensor([len(s) for s in segments], device=encoded.device)
    return torch.bmm(weights, encoded), tokens, lengths
