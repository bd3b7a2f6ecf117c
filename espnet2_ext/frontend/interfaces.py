"""Layer interfaces: from a stack of SSL hidden states to one feature sequence.

Every interface maps ``hs`` of shape ``(L, B, T, D)`` (the ``L`` hidden states of one
upstream, or of several fused by
:class:`~espnet2_ext.frontend.layer_fusion.MultiUpstreamLayerFusion`) to
``(B, T, D_out)``. Frames are independent items: output frame ``t`` depends on input
frame ``t`` only, so padding frames never leak into valid frames.

Available (see :data:`interface_choices` and :func:`build_interface`):

- ``weighted_sum``: s3prl ``Featurizer`` semantics (zero-initialised softmax weights,
  optional non-affine layer norm per layer, optional layer selection).
- ``hconv``: hierarchical convolution over the layer axis (Shih & Harwath 2024,
  arXiv 2406.12209), ``floor(log_3 L)`` convolutions computed with integers.
- ``concat_proj``: concatenation of all layers and a Linear ``L*D -> output_dim``.
- ``last``: the last hidden state.
- ``single``: one hidden state chosen by index (negative indices allowed).

``output_size()`` is correct right after construction; no interface caches tensors.
"""

from abc import ABC, abstractmethod
from typing import List, Optional

import torch
import torch.nn.functional as F
from espnet2.train.class_choices import ClassChoices
from typeguard import typechecked


class AbsInterface(torch.nn.Module, ABC):
    """Common interface: ``forward(hs (L, B, T, D)) -> (B, T, output_size())``."""

    @abstractmethod
    def output_size(self) -> int:
        """Output width D', known right after construction."""
        raise NotImplementedError

    @abstractmethod
    def forward(self, hs: torch.Tensor) -> torch.Tensor:
        """Maps hidden states (L, B, T, D) to frames (B, T, D'), frame by frame."""
        raise NotImplementedError


def _check_stack(hs: torch.Tensor, num_layers: int, dim: int, who: str) -> None:
    """Raises ValueError unless hs is a (num_layers, B, T, dim) tensor."""
    if hs.dim() != 4 or hs.size(0) != num_layers or hs.size(-1) != dim:
        raise ValueError(
            f"{who} expects hidden states of shape (L={num_layers}, B, T, D={dim}); "
            f"got {tuple(hs.shape)}"
        )


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1; got {value}")


def hconv_depth(num_layers: int) -> int:
    """``floor(log_3(num_layers))`` with exact integer arithmetic.

    Float logarithms are off at exact powers of 3 (``math.log(243, 3)`` is
    ``4.999999999999999``), so the depth is counted by repeated multiplication.

    Args:
        num_layers: Number of hidden states L (>= 1).

    Returns:
        The largest n with ``3 ** n <= num_layers`` (e.g. 2 for L=13 or 25, 5 for 243).
    """
    _check_positive(num_layers=num_layers)
    depth, power = 0, 3
    while power <= num_layers:
        depth += 1
        power *= 3
    return depth


class WeightedSumInterface(AbsInterface):
    """Softmax-weighted sum of hidden states (s3prl ``Featurizer`` semantics).

    The weights over the selected layers are zero-initialised (so the sum starts as the
    mean of the selected layers) and normalised with a softmax. With
    ``layer_norm=True`` every layer is normalised over D without affine parameters
    (``F.layer_norm``) before the sum. As in s3prl, an upstream with a single hidden
    state (``num_layers == 1``) is passed through unchanged (no weights, no norm).
    """

    @typechecked
    def __init__(
        self,
        num_layers: int,
        dim: int,
        layer_norm: bool = False,
        layer_selections: Optional[List[int]] = None,
    ):
        """Creates the weights.

        Args:
            num_layers: Number of hidden states L of the input.
            dim: Width D of every hidden state.
            layer_norm: Layer-normalise each hidden state (non-affine) before the sum.
            layer_selections: Indices (0-based; negative counts from the end) of the
                layers to sum; default all. Sorted as in s3prl; duplicates rejected.
        """
        super().__init__()
        _check_positive(num_layers=num_layers, dim=dim)
        self.num_layers = num_layers
        self.dim = dim
        self.layer_norm = layer_norm
        if layer_selections is None:
            selected = list(range(num_layers))
        else:
            if len(layer_selections) == 0:
                raise ValueError("layer_selections must not be empty (or use None)")
            bad = [i for i in layer_selections if not -num_layers <= i < num_layers]
            if bad:
                raise ValueError(
                    f"layer_selections {bad} out of range for {num_layers} hidden "
                    f"states (valid: {-num_layers}..{num_layers - 1})"
                )
            selected = sorted(i % num_layers for i in layer_selections)
            if len(set(selected)) != len(selected):
                raise ValueError(f"layer_selections has duplicates: {layer_selections}")
        self.layer_selections = selected
        if num_layers > 1:
            self.weights = torch.nn.Parameter(torch.zeros(len(selected)))
        else:
            self.weights = None

    def output_size(self) -> int:
        return self.dim

    def forward(self, hs: torch.Tensor) -> torch.Tensor:
        """Weighted sum over the layer axis.

        Args:
            hs: Hidden states (L, B, T, D).

        Returns:
            (B, T, D).
        """
        _check_stack(hs, self.num_layers, self.dim, type(self).__name__)
        if self.weights is None:
            return hs[0]
        if len(self.layer_selections) != self.num_layers:
            index = torch.tensor(self.layer_selections, device=hs.device)
            hs = hs.index_select(0, index)
        if self.layer_norm:
            hs = F.layer_norm(hs, (hs.size(-1),))
        weights = F.softmax(self.weights, dim=-1).to(hs.dtype)
        return torch.einsum("l,lbtd->btd", weights, hs)


class HConvInterface(AbsInterface):
    """Hierarchical convolution over the layer axis (Shih & Harwath 2024).

    Every (batch, frame) pair is an independent item: the stack is reshaped to
    ``(B*T, D, L)`` (D as channels, the layers as the sequence) and passed through
    ``floor(log_3 L)`` Conv1d layers (kernel 5, stride 3, padding 2 by default), each
    followed by a ReLU. All convolutions keep D channels except the last, which has
    ``D // L_final`` channels, ``L_final`` being the layer length after the
    convolutions (each maps ``L -> (L + 2*padding - kernel) // stride + 1``). The
    result is flattened channel-major to width ``(D // L_final) * L_final`` (768 for
    13 x 768, with 4,424,832 parameters; 1023 for 25 x 1024).

    Fewer than 3 hidden states give zero convolutions; that is rejected with a
    ValueError rather than silently falling back to another interface.
    """

    @typechecked
    def __init__(
        self,
        num_layers: int,
        dim: int,
        kernel_size: int = 5,
        stride: int = 3,
        padding: int = 2,
    ):
        """Builds the convolutions.

        Args:
            num_layers: Number of hidden states L of the input (>= 3).
            dim: Width D of every hidden state (channels of the convolutions).
            kernel_size: Kernel size over the layer axis.
            stride: Stride over the layer axis.
            padding: Zero padding of the layer axis on both sides.
        """
        super().__init__()
        _check_positive(
            num_layers=num_layers, dim=dim, kernel_size=kernel_size, stride=stride
        )
        if padding < 0:
            raise ValueError(f"padding must be >= 0; got {padding}")
        depth = hconv_depth(num_layers)
        if depth == 0:
            raise ValueError(
                f"HConv needs >= 3 hidden states (floor(log_3 L) convolutions); got "
                f"L={num_layers}. Use interface 'weighted_sum', 'last' or 'single' for "
                "so shallow an upstream."
            )
        self.num_layers = num_layers
        self.dim = dim
        self.depth = depth
        length = num_layers
        for _ in range(depth):
            new_length = (length + 2 * padding - kernel_size) // stride + 1
            if new_length < 1:
                raise ValueError(
                    f"HConv: a layer axis of length {length} is too short for "
                    f"kernel_size={kernel_size}, padding={padding}"
                )
            length = new_length
        self.final_layers = length
        self.final_channels = dim // length
        if self.final_channels < 1:
            raise ValueError(
                f"HConv: width D={dim} is smaller than the final layer length {length}"
            )
        convs = []
        for i in range(depth):
            out_channels = self.final_channels if i == depth - 1 else dim
            convs.append(
                torch.nn.Conv1d(dim, out_channels, kernel_size, stride, padding)
            )
        self.convs = torch.nn.ModuleList(convs)

    def output_size(self) -> int:
        return self.final_channels * self.final_layers

    def forward(self, hs: torch.Tensor) -> torch.Tensor:
        """Convolves every frame's layer stack.

        Args:
            hs: Hidden states (L, B, T, D).

        Returns:
            (B, T, (D // L_final) * L_final).
        """
        _check_stack(hs, self.num_layers, self.dim, type(self).__name__)
        L, B, T, D = hs.shape
        x = hs.permute(1, 2, 3, 0).reshape(B * T, D, L)
        for conv in self.convs:
            x = F.relu(conv(x))
        # (B*T, C, L_final) flattened channel-major: index c * L_final + l
        return x.reshape(B, T, self.output_size())


class ConcatProjInterface(AbsInterface):
    """Concatenation of all layers (layer-major) followed by a Linear ``L*D -> D'``."""

    @typechecked
    def __init__(self, num_layers: int, dim: int, output_dim: Optional[int] = None):
        """Creates the projection.

        Args:
            num_layers: Number of hidden states L of the input.
            dim: Width D of every hidden state.
            output_dim: Output width (default D).
        """
        super().__init__()
        _check_positive(num_layers=num_layers, dim=dim)
        if output_dim is not None:
            _check_positive(output_dim=output_dim)
        self.num_layers = num_layers
        self.dim = dim
        self.proj = torch.nn.Linear(num_layers * dim, output_dim or dim)

    def output_size(self) -> int:
        return self.proj.out_features

    def forward(self, hs: torch.Tensor) -> torch.Tensor:
        """Concatenates and projects.

        Args:
            hs: Hidden states (L, B, T, D).

        Returns:
            (B, T, output_dim).
        """
        _check_stack(hs, self.num_layers, self.dim, type(self).__name__)
        L, B, T, D = hs.shape
        return self.proj(hs.permute(1, 2, 0, 3).reshape(B, T, L * D))


class SingleLayerInterface(AbsInterface):
    """One hidden state chosen by index (negative indices count from the end)."""

    @typechecked
    def __init__(self, num_layers: int, dim: int, layer: int):
        """Validates the index.

        Args:
            num_layers: Number of hidden states L of the input.
            dim: Width D of every hidden state.
            layer: Index of the hidden state, in ``-L .. L-1``.
        """
        super().__init__()
        _check_positive(num_layers=num_layers, dim=dim)
        if not -num_layers <= layer < num_layers:
            raise ValueError(
                f"layer {layer} out of range for {num_layers} hidden states "
                f"(valid: {-num_layers}..{num_layers - 1})"
            )
        self.num_layers = num_layers
        self.dim = dim
        self.layer = layer % num_layers

    def output_size(self) -> int:
        return self.dim

    def forward(self, hs: torch.Tensor) -> torch.Tensor:
        """Selects the layer.

        Args:
            hs: Hidden states (L, B, T, D).

        Returns:
            (B, T, D).
        """
        _check_stack(hs, self.num_layers, self.dim, type(self).__name__)
        return hs[self.layer]


class LastLayerInterface(SingleLayerInterface):
    """The last hidden state."""

    @typechecked
    def __init__(self, num_layers: int, dim: int):
        """Selects layer ``L - 1``.

        Args:
            num_layers: Number of hidden states L of the input.
            dim: Width D of every hidden state.
        """
        super().__init__(num_layers, dim, layer=-1)


#: The registry of layer interfaces (config ``interface: <name>``), as ESPnet keeps one
#: per component kind.
interface_choices = ClassChoices(
    name="interface",
    classes=dict(
        weighted_sum=WeightedSumInterface,
        hconv=HConvInterface,
        concat_proj=ConcatProjInterface,
        last=LastLayerInterface,
        single=SingleLayerInterface,
    ),
    type_check=AbsInterface,
    default="weighted_sum",
)


def build_interface(name: str, num_layers: int, dim: int, **conf) -> AbsInterface:
    """Builds an interface by name.

    Args:
        name: A name of :data:`interface_choices`.
        num_layers: Number of hidden states L of the input.
        dim: Width D of every hidden state.
        **conf: Extra constructor options of that interface.

    Returns:
        The interface module (input (L, B, T, D), output (B, T, output_size())).

    Raises:
        ValueError: For an unknown name (the message lists the valid ones).
    """
    # NOTE: ClassChoices.get_class tests name.lower() but looks up name itself, so
    # "HConv" would end in a KeyError; names are exact here, as in the configs.
    if name not in interface_choices.classes:
        raise ValueError(
            f"unknown interface {name!r}; valid names: "
            f"{', '.join(interface_choices.classes)}"
        )
    cls = interface_choices.get_class(name)
    return cls(num_layers=num_layers, dim=dim, **conf)
