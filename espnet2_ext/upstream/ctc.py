"""Greedy CTC decoding and phone error rate, for the fine-tune logs and the probe."""

from typing import List, Sequence

import torch


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor) -> List[List[int]]:
    """Best path, repeats merged, blanks (index 0) removed.

    Args:
        log_probs: (B, T, C).
        lengths: Valid frames (B,).

    Returns:
        Label indices per utterance.
    """
    best = log_probs.argmax(-1)
    out = []
    for seq, n in zip(best.tolist(), lengths.tolist()):
        prev, hyp = 0, []
        for k in seq[:n]:
            if k != prev and k != 0:
                hyp.append(k)
            prev = k
        out.append(hyp)
    return out


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance (substitutions, insertions, deletions cost 1)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev_diag, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev_diag + (r != h))
            prev_diag, row[j] = row[j], cur
    return row[-1]


def error_rate(refs: Sequence[Sequence], hyps: Sequence[Sequence]) -> float:
    """Total edit distance over total reference length (PER when units are phones)."""
    errors = sum(edit_distance(r, h) for r, h in zip(refs, hyps))
    return errors / max(1, sum(len(r) for r in refs))


def ctc_loss(
    log_probs: torch.Tensor,
    lengths: torch.Tensor,
    targets: Sequence[Sequence[int]],
) -> torch.Tensor:
    """Mean CTC loss per target label (``reduction='mean'``), blank 0.

    Args:
        log_probs: (B, T, C) log-softmax outputs.
        lengths: Valid frames (B,).
        targets: Label indices (no blank) per utterance.
    """
    flat = torch.tensor([k for t in targets for k in t], dtype=torch.long)
    target_lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
    return torch.nn.functional.ctc_loss(
        log_probs.transpose(0, 1),
        flat,
        lengths,
        target_lengths,
        blank=0,
        zero_infinity=True,
    )
