"""Fusion of several upstreams' layer stacks before the layer interface.

Shih & Harwath 2025 ("Unifying Model and Layer Fusion for Speech Foundation Models",
arXiv 2511.08389): the hidden-state stacks ``(L_i, B, T, D_i)`` of N upstreams, already
at a common frame count T, are

1. brought to ``L = max(L_i)`` layers by linear interpolation along the layer axis
   (``align_corners=True``: the first and last layers are kept exactly),
2. brought to ``D = max(D_i)`` by a per-upstream Linear ``D_i -> D`` (only for the
   upstreams whose width differs),
3. fused: ``sum`` -> ``(L, B, T, D)`` (HConv fusion) or ``concat`` along the width,
   ``(L, B, T, N*D)``, then a shared Linear ``N*D -> D`` (CHConv).

The result goes to a layer interface (:mod:`espnet2_ext.frontend.interfaces`) built
with ``num_layers=fusion.num_layers`` and ``dim=fusion.output_size()``. A single
upstream passes through unchanged and the module then has no parameters.
"""

from typing import List

import torch
from typeguard import typechecked

MODES = ("sum", "concat")


def layer_interpolation_matrix(
    src_layers: int,
    dst_layers: int,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> torch.Tensor:
    """Weights of linear interpolation along the layer axis (``align_corners=True``).

    Output layer ``k`` sits at position ``p = k * (src - 1) / (dst - 1)`` of the
    source and mixes layers ``floor(p)`` and ``floor(p) + 1`` with weights
    ``1 - frac(p)`` and ``frac(p)`` (the same as ``F.interpolate(mode="linear",
    align_corners=True)``).

    Args:
        src_layers: Number of source layers (>= 1).
        dst_layers: Number of output layers (>= 1).
        dtype: dtype of the result (computed in float64 first).
        device: Device of the result.

    Returns:
        Matrix (dst_layers, src_layers); each row sums to 1.
    """
    if src_layers < 1 or dst_layers < 1:
        raise ValueError(
            f"layer counts must be >= 1; got src={src_layers}, dst={dst_layers}"
        )
    weights = torch.zeros(dst_layers, src_layers, dtype=torch.float64)
    if dst_layers == 1 or src_layers == 1:
        weights[:, 0] = 1.0
        return weights.to(dtype=dtype, device=device)
    for k in range(dst_layers):
        # exact rational position k * (src - 1) / (dst - 1)
        num, den = k * (src_layers - 1), dst_layers - 1
        low, rem = divmod(num, den)
        frac = rem / den
        weights[k, low] += 1.0 - frac
        if rem:
            weights[k, low + 1] += frac
    return weights.to(dtype=dtype, device=device)


def interpolate_layers(hs: torch.Tensor, num_layers: int) -> torch.Tensor:
    """Resamples a hidden-state stack to ``num_layers`` layers.

    Args:
        hs: Hidden states (L_in, B, T, D).
        num_layers: Wanted number of layers L.

    Returns:
        (L, B, T, D); ``hs`` itself when ``L == L_in``.
    """
    if hs.size(0) == num_layers:
        return hs
    weights = layer_interpolation_matrix(
        hs.size(0), num_layers, dtype=hs.dtype, device=hs.device
    )
    return torch.einsum("kl,lbtd->kbtd", weights, hs)


class MultiUpstreamLayerFusion(torch.nn.Module):
    """Layer-count, width and model fusion of N upstreams' hidden-state stacks."""

    @typechecked
    def __init__(self, num_layers: List[int], dims: List[int], mode: str = "sum"):
        """Builds the width projections.

        Args:
            num_layers: Hidden states L_i of every upstream.
            dims: Width D_i of every upstream.
            mode: ``sum`` (HConv fusion) or ``concat`` (CHConv: concat along the width
                and a shared Linear ``N*D -> D``).
        """
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got '{mode}'")
        if len(num_layers) == 0 or len(num_layers) != len(dims):
            raise ValueError(
                "num_layers and dims need one entry per upstream (at least one); got "
                f"{num_layers} and {dims}"
            )
        if min(num_layers) < 1 or min(dims) < 1:
            raise ValueError(
                f"layer counts and widths must be >= 1; got {num_layers}, {dims}"
            )
        self.mode = mode
        self.upstream_layers = list(num_layers)
        self.upstream_dims = list(dims)
        self.num_layers = max(num_layers)
        self.dim = max(dims)
        self.width_proj = torch.nn.ModuleList(
            [
                torch.nn.Identity() if d == self.dim else torch.nn.Linear(d, self.dim)
                for d in dims
            ]
        )
        n = len(dims)
        if mode == "concat" and n > 1:
            self.concat_proj = torch.nn.Linear(n * self.dim, self.dim)
        else:
            self.concat_proj = None

    def output_size(self) -> int:
        return self.dim

    def forward(self, stacks: List[torch.Tensor]) -> torch.Tensor:
        """Fuses the stacks.

        Args:
            stacks: One hidden-state stack (L_i, B, T, D_i) per upstream, all with the
                same B and T.

        Returns:
            (L, B, T, D) with ``L = max(L_i)``, ``D = max(D_i)``.
        """
        if len(stacks) != len(self.upstream_layers):
            raise ValueError(
                f"expected {len(self.upstream_layers)} hidden-state stacks; "
                f"got {len(stacks)}"
            )
        for i, (hs, n_layers, dim) in enumerate(
            zip(stacks, self.upstream_layers, self.upstream_dims)
        ):
            if hs.dim() != 4 or hs.size(0) != n_layers or hs.size(-1) != dim:
                raise ValueError(
                    f"upstream {i}: expected hidden states (L={n_layers}, B, T, "
                    f"D={dim}); got {tuple(hs.shape)}"
                )
            if hs.shape[1:3] != stacks[0].shape[1:3]:
                raise ValueError(
                    "all stacks need the same batch size and frame count (B, T); got "
                    f"{[tuple(h.shape[1:3]) for h in stacks]}"
                )
        if len(stacks) == 1:
            return stacks[0]
        aligned = [
            proj(interpolate_layers(hs, self.num_layers))
            for hs, proj in zip(stacks, self.width_proj)
        ]
        if self.mode == "sum":
            return torch.stack(aligned, dim=0).sum(dim=0)
        return self.concat_proj(torch.cat(aligned, dim=-1))
