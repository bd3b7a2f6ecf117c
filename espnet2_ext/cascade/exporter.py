"""Exporters: ASR encoder vectors, one per 1-best token, to the MT's embedding space.

The paper states the exporter's objective (L2 to the MT's input embeddings of the
1-best tokens) but not its architecture, so it is an option (``exporter`` in the
config), one of :data:`exporter_choices`:

- ``linear`` (default): one linear map ``(B, L, D_asr) -> (B, L, D_mt)``;
- ``mlp``: linear, ReLU, dropout, linear;
- ``transformer``: a linear map to ``D_mt``, then a few pre-norm self-attention blocks
  over the token sequence (the context of neighbouring tokens).

Widths are never written in a config: :func:`build_exporter` takes them from the ASR
encoder's ``output_size()`` and the MT embedding's ``embed_dim``.
"""

from abc import ABC, abstractmethod
from typing import Optional

import torch
from typeguard import typechecked

from espnet2_ext.utils.espnet_compat import make_pad_mask


class AbsExporter(torch.nn.Module, ABC):
    """Maps (B, L, input_size) token vectors to (B, L, output_size) embeddings.

    Attributes:
        input_size: Width of the ASR encoder output.
        output_size: Width of the MT token embedding.
    """

    def __init__(self, input_size: int, output_size: int):
        super().__init__()
        self.input_size = input_size
        self.output_size = output_size

    @abstractmethod
    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, L, input_size) and (B,) valid lengths -> (B, L, output_size)."""


class LinearExporter(AbsExporter):
    """One linear map."""

    @typechecked
    def __init__(self, input_size: int, output_size: int):
        super().__init__(input_size, output_size)
        self.linear = torch.nn.Linear(input_size, output_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class MLPExporter(AbsExporter):
    """Linear, ReLU, dropout, linear; ``hidden_units`` defaults to ``output_size``."""

    @typechecked
    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_units: Optional[int] = None,
        dropout_rate: float = 0.1,
    ):
        super().__init__(input_size, output_size)
        hidden = hidden_units or output_size
        self.net = torch.nn.Sequential(
            torch.nn.Linear(input_size, hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(dropout_rate),
            torch.nn.Linear(hidden, output_size),
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TransformerExporter(AbsExporter):
    """A linear map to ``output_size``, then pre-norm self-attention blocks over the
    tokens (padding masked) and a final layer norm and linear map."""

    @typechecked
    def __init__(
        self,
        input_size: int,
        output_size: int,
        num_blocks: int = 1,
        attention_heads: int = 4,
        linear_units: Optional[int] = None,
        dropout_rate: float = 0.1,
    ):
        super().__init__(input_size, output_size)
        if output_size % attention_heads:
            raise ValueError(
                f"the MT embedding width {output_size} is not a multiple of"
                f" attention_heads {attention_heads}"
            )
        self.proj_in = torch.nn.Linear(input_size, output_size)
        block = torch.nn.TransformerEncoderLayer(
            output_size,
            attention_heads,
            linear_units or 4 * output_size,
            dropout_rate,
            batch_first=True,
            norm_first=True,
        )
        self.blocks = torch.nn.TransformerEncoder(
            block, num_blocks, enable_nested_tensor=False
        )
        self.norm = torch.nn.LayerNorm(output_size)
        self.proj_out = torch.nn.Linear(output_size, output_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        pad = make_pad_mask(lengths, maxlen=x.size(1)).to(x.device)
        h = self.blocks(self.proj_in(x), src_key_padding_mask=pad)
        return self.proj_out(self.norm(h))


def exporter_classes() -> dict:
    """Name -> exporter class (the ``exporter`` option's choices)."""
    return {
        "linear": LinearExporter,
        "mlp": MLPExporter,
        "transformer": TransformerExporter,
    }


def exporter_choices():
    """ESPnet's ``ClassChoices`` of the ``exporter`` option (default ``linear``)."""
    from espnet2.train.class_choices import ClassChoices

    return ClassChoices(
        name="exporter",
        classes=exporter_classes(),
        type_check=AbsExporter,
        default="linear",
    )


def build_exporter(
    name: str, input_size: int, output_size: int, conf: Optional[dict] = None
) -> AbsExporter:
    """The exporter ``name`` between an ASR encoder of width ``input_size`` and an MT
    embedding of width ``output_size``.

    Raises:
        ValueError: an unknown name (the message lists the known ones), or a width
            given in ``conf`` (widths come from the sub-models).
    """
    classes = exporter_classes()
    if name not in classes:
        raise ValueError(f"unknown exporter '{name}'; valid: {' '.join(classes)}")
    conf = dict(conf or {})
    for key in ("input_size", "output_size"):
        if key in conf:
            raise ValueError(
                f"exporter_conf sets {key}: the width is read from the ASR encoder"
                " and the MT embedding; remove it"
            )
    return classes[name](input_size, output_size, **conf)
