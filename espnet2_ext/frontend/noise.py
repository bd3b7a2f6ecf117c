"""The ``noise`` view: the S-feature replaced by uniform noise (GSGN paper, Table II).

The ablation asks whether the fused model gains from the *content* of the SSL view or
merely from a second input of the right scale. The S-feature is replaced by noise drawn
uniformly from ``[min, max]``, where ``min`` and ``max`` are the S-feature's
"maximum and minimum values across the entire training set": two **global scalars**
(not per dimension), tracked over every valid training frame seen so far.
"""

from typing import Optional

import torch
from typeguard import typechecked

from espnet2_ext.utils.espnet_compat import make_pad_mask


class NoiseView(torch.nn.Module):
    """Uniform noise with the range of the real S-feature.

    In train mode every forward first updates the persistent buffers ``running_min`` and
    ``running_max`` (scalars, initialised to +inf / -inf) from the valid frames of the
    real S-feature, under ``no_grad``, then draws the noise from the updated range. In
    eval mode the buffers are only read. With ``momentum=None`` the buffers are the
    exact minimum and maximum over all training batches seen so far; with a float
    ``m`` they are exponential moving averages ``(1 - m) * running + m * batch`` of the
    per-batch extremes (the first batch sets them directly).

    The buffers are part of the state dict, so a trained checkpoint decodes with the
    training-set range. Under DDP (``broadcast_buffers=True``) rank 0's buffers win.
    The noise carries no gradient to the S-feature.
    """

    @typechecked
    def __init__(self, dim: int, momentum: Optional[float] = None):
        """Builds the view.

        Args:
            dim: Feature width D of the S-feature (checked in ``forward``).
            momentum: None for the cumulative min/max over all training data, or a
                weight in (0, 1] for exponential moving averages.
        """
        super().__init__()
        if dim < 1:
            raise ValueError(f"dim must be >= 1; got {dim}")
        if momentum is not None and not 0.0 < momentum <= 1.0:
            raise ValueError(f"momentum must be in (0, 1] or None; got {momentum}")
        self.dim = dim
        self.momentum = momentum
        self.register_buffer("running_min", torch.tensor(float("inf")))
        self.register_buffer("running_max", torch.tensor(float("-inf")))

    def output_size(self) -> int:
        return self.dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}, momentum={self.momentum}"

    def has_stats(self) -> bool:
        """Whether a range has been observed (or loaded) yet."""
        return bool(torch.isfinite(self.running_min) & torch.isfinite(self.running_max))

    @torch.no_grad()
    def update(self, x_s: torch.Tensor, valid: torch.Tensor) -> None:
        """Folds the valid frames of one batch into the running range.

        Args:
            x_s: S-feature (B, T, D).
            valid: (B, T) bool mask of the valid frames.
        """
        values = x_s.detach()[valid]
        if values.numel() == 0:
            return
        lo = values.min().to(self.running_min)
        hi = values.max().to(self.running_max)
        if self.momentum is None or not self.has_stats():
            self.running_min.copy_(torch.minimum(self.running_min, lo))
            self.running_max.copy_(torch.maximum(self.running_max, hi))
        else:
            self.running_min.lerp_(lo, self.momentum)
            self.running_max.lerp_(hi, self.momentum)

    def forward(
        self, x_s: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Noise in place of the S-feature.

        Args:
            x_s: Real S-feature (B, T, D); only its range (train mode) and shape,
                device and dtype are used.
            lengths: Valid frames per utterance (B,); None means all frames are valid.

        Returns:
            Noise (B, T, D), uniform in ``[running_min, running_max]`` on valid frames
            and zero on padded frames, with ``x_s``'s device and dtype.

        Raises:
            RuntimeError: In eval mode before any range was observed or loaded.
        """
        if x_s.dim() != 3 or x_s.size(-1) != self.dim:
            raise ValueError(
                f"NoiseView expects an S-feature (B, T, D={self.dim}); "
                f"got {tuple(x_s.shape)}"
            )
        if lengths is None:
            valid = torch.ones(x_s.shape[:2], dtype=torch.bool, device=x_s.device)
        else:
            valid = ~make_pad_mask(lengths, x_s[..., 0])  # (B, T)
        if self.training:
            self.update(x_s, valid)
        if not self.has_stats():
            raise RuntimeError(
                "NoiseView has no S-feature range yet: run it in train mode on real "
                "data first, or load a checkpoint trained with the noise view"
            )
        lo = self.running_min.to(device=x_s.device, dtype=x_s.dtype)
        hi = self.running_max.to(device=x_s.device, dtype=x_s.dtype)
        noise = torch.rand(x_s.shape, device=x_s.device, dtype=x_s.dtype)
        noise = (lo + (hi - lo) * noise).clamp(min=lo, max=hi)
        return noise * valid.unsqueeze(-1).to(x_s.dtype)
