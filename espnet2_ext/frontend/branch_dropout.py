"""Multi-stage branch dropout (GSGN paper, Eq. 13): an epoch schedule and a sampler.

While training, every utterance (or the whole batch) takes one of three branches:
FBank only, S-feature (SSL) only, or the fused views. With a uniform draw ``p``::

    FBANK  when p < p_fbank
    SSL    when p_fbank <= p < p_fbank + p_ssl
    FUSED  otherwise

The probabilities change with the epoch. A schedule is a list of stages
``[start_epoch, p_fbank, p_ssl]`` in ESPnet's 1-based epochs; a stage holds from its
start epoch until the next stage starts. The paper's schedule is
:data:`PAPER_SCHEDULE`::

    [[1, 0.3, 0.0], [11, 0.5, 0.3], [26, 0.3, 0.0]]

i.e. epochs 1-10: 30 % FBank only; 11-25: 50 % FBank only, 30 % SSL only; 26-: 30 %
FBank only.
"""

from enum import IntEnum
from typing import List, Optional, Tuple, Union

import torch
from typeguard import typechecked


class Branch(IntEnum):
    """Branch codes returned by :func:`sample_branches`."""

    FUSED = 0
    FBANK = 1
    SSL = 2


FUSED = Branch.FUSED
FBANK = Branch.FBANK
SSL = Branch.SSL

#: The paper's schedule, ``[start_epoch, p_fbank, p_ssl]`` with 1-based epochs.
PAPER_SCHEDULE = [[1, 0.3, 0.0], [11, 0.5, 0.3], [26, 0.3, 0.0]]

#: Valid ``branch_dropout_unit`` values, i.e. how many utterances share one branch
#: draw: each utterance its own, or the whole batch.
DRAW_GRANULARITIES = ("utterance", "batch")

_EPS = 1e-9  # float slack for p_fbank + p_ssl <= 1 (0.7 + 0.3 is 1.0000000000000002)


def sample_branches(
    batch_size: int,
    p_fbank: float,
    p_ssl: float,
    generator: Optional[torch.Generator] = None,
    device: Union[torch.device, str, None] = None,
) -> torch.Tensor:
    """Draws one branch per utterance (Eq. 13).

    Args:
        batch_size: Number of utterances B.
        p_fbank: Probability of the FBank-only branch.
        p_ssl: Probability of the SSL-only branch.
        generator: Optional random generator (its device is used for the draw);
            the global RNG when None.
        device: Device of the returned codes (default: the generator's, else CPU).

    Returns:
        Branch codes (B,) long: ``FUSED`` (0), ``FBANK`` (1) or ``SSL`` (2).
    """
    draw_device = generator.device if generator is not None else device
    p = torch.rand(batch_size, generator=generator, device=draw_device)
    codes = torch.full_like(p, int(FUSED), dtype=torch.long)
    codes = torch.where(p < p_fbank + p_ssl, torch.full_like(codes, int(SSL)), codes)
    codes = torch.where(p < p_fbank, torch.full_like(codes, int(FBANK)), codes)
    return codes if device is None else codes.to(device)


class BranchDropoutSchedule:
    """Epoch-dependent branch probabilities ``(p_fbank, p_ssl)``.

    Example:
        >>> schedule = BranchDropoutSchedule(PAPER_SCHEDULE)
        >>> schedule.probabilities(11)
        (0.5, 0.3)
    """

    @typechecked
    def __init__(self, stages: List[List[Union[int, float]]]) -> None:
        """Validates and stores the stages.

        Args:
            stages: ``[[start_epoch, p_fbank, p_ssl], ...]``; start epochs are
                1-based integers, strictly increasing, the first one 1; probabilities
                in [0, 1] with ``p_fbank + p_ssl <= 1``.

        Raises:
            ValueError: On any violation, naming the offending stage.
        """
        if not stages:
            raise ValueError(
                "branch dropout needs at least one stage [1, p_fbank, p_ssl]"
            )
        parsed = []
        for i, stage in enumerate(stages):
            if len(stage) != 3:
                raise ValueError(
                    f"stage {i} must be [start_epoch, p_fbank, p_ssl]; got {stage}"
                )
            start, p_fbank, p_ssl = stage
            if float(start) != int(start):
                raise ValueError(
                    f"stage {i}: start epoch must be an integer; got {start}"
                )
            for name, p in (("p_fbank", p_fbank), ("p_ssl", p_ssl)):
                if not 0.0 <= p <= 1.0:
                    raise ValueError(f"stage {i}: {name} must be in [0, 1]; got {p}")
            if p_fbank + p_ssl > 1.0 + _EPS:
                raise ValueError(
                    f"stage {i}: p_fbank + p_ssl must be <= 1; got {p_fbank} + {p_ssl}"
                )
            parsed.append((int(start), float(p_fbank), float(p_ssl)))
        if parsed[0][0] != 1:
            raise ValueError(
                f"the first stage must start at epoch 1 (ESPnet epochs are 1-based); "
                f"got {parsed[0][0]}"
            )
        starts = [s[0] for s in parsed]
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(
                f"stage start epochs must be strictly increasing; got {starts}"
            )
        self.stages: List[Tuple[int, float, float]] = parsed

    def probabilities(self, epoch: int) -> Tuple[float, float]:
        """``(p_fbank, p_ssl)`` of the stage that holds at ``epoch`` (1-based)."""
        if epoch < 1:
            raise ValueError(f"epochs are 1-based; got {epoch}")
        current = self.stages[0]
        for stage in self.stages:
            if stage[0] <= epoch:
                current = stage
        return current[1], current[2]

    def last_probabilities(self) -> Tuple[float, float]:
        """``(p_fbank, p_ssl)`` of the last stage (used to sample at inference)."""
        return self.stages[-1][1], self.stages[-1][2]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({[list(s) for s in self.stages]})"
