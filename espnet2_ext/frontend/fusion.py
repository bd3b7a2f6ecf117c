"""Two-view fusion: from FBank frames x_f and SSL frames x_s to one feature sequence.

Every fusion maps ``x_f`` and ``x_s`` of shape ``(B, T, D)`` plus ``lengths`` (B,) to
``y`` of shape ``(B, T, D_out)`` through a fusion layer ``W_o`` (a Linear). Frames are
independent items and ``y`` is zero beyond each utterance's length, so padded input
frames reach neither valid outputs nor gradients.

Available (see :data:`fusion_choices` and :func:`build_fusion`):

- ``fbank``: ``y = W_o x_f`` (FBank-only baseline).
- ``ssl``: ``y = W_o x_s`` (S-feature-only baseline).
- ``sum``: ``y = W_o (x_f + x_s)``.
- ``concat``: ``y = W_o [x_f; x_s]`` with ``W_o`` of width 2D (paper Table III).
- ``gsgn``: the gradient-sensitive gating network (:class:`GatedFusion` of
  :mod:`espnet2_ext.frontend.gsgn`), with the gate loss computed inside the ordinary
  backward pass and optional multi-stage branch dropout
  (:mod:`espnet2_ext.frontend.branch_dropout`).

:class:`AbsFusion` (defined in :mod:`espnet2_ext.frontend.abs_fusion`) is importable
from here too.
"""

import torch
from espnet2.train.class_choices import ClassChoices
from typeguard import typechecked

from espnet2_ext.frontend.abs_fusion import AbsFusion
from espnet2_ext.frontend.gsgn import GatedFusion
from espnet2_ext.utils.espnet_compat import make_pad_mask

__all__ = [
    "AbsFusion",
    "FBankOnlyFusion",
    "SSLOnlyFusion",
    "SumFusion",
    "ConcatFusion",
    "fusion_choices",
    "build_fusion",
]


class _LinearFusion(AbsFusion):
    """A view combination followed by the fusion layer ``W_o`` (a Linear)."""

    in_factor = 1  # width of the combined view, in multiples of D

    @typechecked
    def __init__(self, dim: int, output_dim: int) -> None:
        """Builds the fusion layer.

        Args:
            dim: Width D of both views.
            output_dim: Output width D_out.
        """
        super().__init__(dim, output_dim)
        self.fusion_layer = torch.nn.Linear(self.in_factor * dim, output_dim)

    def combine(self, x_f: torch.Tensor, x_s: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self, x_f: torch.Tensor, x_s: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Fuses the two views.

        Args:
            x_f: FBank view (B, T, D).
            x_s: SSL view (B, T, D).
            lengths: Valid frames per utterance (B,).

        Returns:
            Fused features (B, T, D_out), zero beyond each length.
        """
        y = self.fusion_layer(self.combine(x_f, x_s))
        return y.masked_fill(make_pad_mask(lengths, y, length_dim=1), 0.0)


class FBankOnlyFusion(_LinearFusion):
    """``y = W_o x_f`` (x_s is ignored)."""

    def combine(self, x_f: torch.Tensor, x_s: torch.Tensor) -> torch.Tensor:
        return x_f


class SSLOnlyFusion(_LinearFusion):
    """``y = W_o x_s`` (x_f is ignored)."""

    def combine(self, x_f: torch.Tensor, x_s: torch.Tensor) -> torch.Tensor:
        return x_s


class SumFusion(_LinearFusion):
    """``y = W_o (x_f + x_s)``."""

    def combine(self, x_f: torch.Tensor, x_s: torch.Tensor) -> torch.Tensor:
        return x_f + x_s


class ConcatFusion(_LinearFusion):
    """``y = W_o [x_f; x_s]``, ``W_o``: 2D -> D_out (the paper's "concat gate")."""

    in_factor = 2

    def combine(self, x_f: torch.Tensor, x_s: torch.Tensor) -> torch.Tensor:
        return torch.cat([x_f, x_s], dim=-1)


#: The registry of two-view fusions (config ``fusion: <name>``), as ESPnet keeps one
#: per component kind.
fusion_choices = ClassChoices(
    name="fusion",
    classes=dict(
        fbank=FBankOnlyFusion,
        ssl=SSLOnlyFusion,
        sum=SumFusion,
        concat=ConcatFusion,
        gsgn=GatedFusion,
    ),
    type_check=AbsFusion,
    default="gsgn",
)


def build_fusion(name: str, dim: int, output_dim: int, **conf) -> AbsFusion:
    """Builds the fusion called ``name`` (a name of :data:`fusion_choices`).

    Args:
        name: Fusion name.
        dim: Width D of both views.
        output_dim: Output width D_out.
        **conf: Further constructor options (GSGN only).

    Raises:
        ValueError: For an unknown name (the message lists the valid ones).
    """
    # NOTE: ClassChoices.get_class tests name.lower() but looks up name itself, so
    # "GSGN" would end in a KeyError; names are exact here, as in the configs.
    if name not in fusion_choices.classes:
        raise ValueError(
            f"unknown fusion {name!r}; valid names: "
            f"{', '.join(fusion_choices.classes)}"
        )
    cls = fusion_choices.get_class(name)
    return cls(dim=dim, output_dim=output_dim, **conf)
