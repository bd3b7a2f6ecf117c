"""The base class of every two-view fusion (re-exported by :mod:`.fusion`).

It lives apart from :mod:`.fusion` because the registry there lists the GSGN fusion of
:mod:`.gsgn`, which itself derives from this class.
"""

from abc import ABC, abstractmethod
from typing import Dict

import torch


class AbsFusion(torch.nn.Module, ABC):
    """Common interface: ``forward(x_f, x_s, lengths) -> (B, T, D_out)``."""

    def __init__(self, dim: int, output_dim: int) -> None:
        super().__init__()
        if dim < 1 or output_dim < 1:
            raise ValueError(
                f"dim and output_dim must be >= 1; got {dim}, {output_dim}"
            )
        self.dim = dim
        self.output_dim = output_dim

    def output_size(self) -> int:
        """Output width D_out."""
        return self.output_dim

    def diagnostics(self) -> Dict[str, torch.Tensor]:
        """Detached statistics for logging (none for the simple fusions)."""
        return {}

    @abstractmethod
    def forward(
        self, x_f: torch.Tensor, x_s: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Fuses ``x_f``, ``x_s`` (B, T, D) into (B, T, D_out), zero beyond lengths."""
        raise NotImplementedError
