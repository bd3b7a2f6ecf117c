"""GSGN: the gradient-sensitive gating network (arXiv 2501.08057, Sec. II).

:class:`GatedFusion` gates the FBank view with ``g_f = act(A_f x_f + A_s x_s + c)`` and
fuses ``y = W_o (g_f x_f + g_s x_s) + b_o``. Its gate loss needs the per-view gradients
of ``W_o`` (:func:`view_gradients`) and the constant targets derived from their cosine
(:func:`gate_targets`); the fusion layer is a custom autograd function
(:class:`_FusionLayerWithGateLoss`) that forms both inside the ordinary backward pass,
so one ``loss.backward()`` yields the gradient of ``L_task + L_gate``. Optional
multi-stage branch dropout comes from :mod:`espnet2_ext.frontend.branch_dropout`.
"""

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable
from typeguard import typechecked

from espnet2_ext.frontend.abs_fusion import AbsFusion
from espnet2_ext.frontend.branch_dropout import (
    DRAW_GRANULARITIES,
    FBANK,
    FUSED,
    SSL,
    BranchDropoutSchedule,
    sample_branches,
)
from espnet2_ext.utils.espnet_compat import make_pad_mask

GATE_ACTIVATIONS = ("2sigmoid", "sigmoid")
COS_GRANULARITIES = ("dim", "utterance", "batch")
DIAGNOSTIC_KEYS = ("loss_gate", "gate_cos", "gate_conflict", "gate_mean", "gate_above1")


def view_gradients(
    delta: torch.Tensor, x_f: torch.Tensor, x_s: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-utterance, per-view gradients of the fusion-layer weight (Eq. 6-7).

    Args:
        delta: ``dL/dy`` (B, T, D_out), zero on padded frames.
        x_f: Ungated FBank view (B, T, D).
        x_s: Ungated SSL view (B, T, D).

    Returns:
        ``a = sum_t delta_t x_f,t^T`` and ``b = sum_t delta_t x_s,t^T``, each
        (B, D_out, D): two batched matmuls over T.
    """
    delta_t = delta.transpose(1, 2)
    return torch.bmm(delta_t, x_f), torch.bmm(delta_t, x_s)


@torch.no_grad()
def gate_targets(
    a: torch.Tensor,
    b: torch.Tensor,
    granularity: str = "dim",
    fused: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Gate targets of Eq. (10)-(11) from the per-view gradients (constants).

    ``t = 1`` where ``cos >= 0``, else ``t = 1 - |b| cos / |a|`` (>= 1); ``cos`` is 0
    (so ``t = 1``) where ``|a|`` or ``|b|`` is 0. Never NaN.

    Args:
        a: FBank-view gradients (B, D_out, D).
        b: SSL-view gradients (B, D_out, D).
        granularity: ``dim`` (one cosine per utterance and input dim, over D_out),
            ``utterance`` (one per utterance, over D_out x D) or ``batch`` (a and b
            summed over the utterances first).
        fused: Which utterances count for ``batch`` (B,) bool; all when None.

    Returns:
        Targets and cosines, both broadcastable to the gate (B, T, D): shapes
        (B, 1, D), (B, 1, 1) or (1, 1, 1). No autograd history.
    """
    if granularity not in COS_GRANULARITIES:
        raise ValueError(f"granularity must be one of {COS_GRANULARITIES}")
    dtype = torch.promote_types(a.dtype, torch.float32)
    a, b = a.to(dtype), b.to(dtype)
    if granularity == "batch":
        if fused is not None:
            weight = fused.to(dtype).view(-1, 1, 1)
            a, b = a * weight, b * weight
        a, b = a.sum(0, keepdim=True), b.sum(0, keepdim=True)
    dims = (1,) if granularity == "dim" else (1, 2)
    dot = (a * b).sum(dims, keepdim=True)
    norm_a = a.pow(2).sum(dims, keepdim=True).sqrt()
    norm_b = b.pow(2).sum(dims, keepdim=True).sqrt()
    both = norm_a * norm_b
    defined = both > 0
    cos = torch.where(defined, dot / torch.where(defined, both, 1.0), 0.0).clamp(-1, 1)
    ratio = norm_b / torch.where(norm_a > 0, norm_a, 1.0)
    target = torch.where(cos < 0, 1.0 - ratio * cos, torch.ones_like(cos))
    return target, cos


@dataclass
class _GateLoss:
    """What the fusion layer's backward needs besides tensors."""

    weight: float  # lambda
    granularity: str
    clip: bool  # clip targets to (0, 1] (plain sigmoid gate)
    grad_scale: float
    sink: Dict[str, torch.Tensor]  # diagnostics, written in backward


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` (broadcast) holds; NaN for an empty mask."""
    mask = mask.to(values.dtype).expand_as(values)
    return (values * mask).sum() / mask.sum()


def _gate_loss_grad(
    delta: torch.Tensor,
    x_f: torch.Tensor,
    x_s: torch.Tensor,
    g_f: torch.Tensor,
    loss_mask: torch.Tensor,
    spec: _GateLoss,
) -> Optional[torch.Tensor]:
    """``dL_gate/dg_f`` (B, T, D) times ``grad_scale``; writes the diagnostics.

    Returns None when the gate loss weight is 0 (no gradient products are formed).
    """
    dtype = torch.promote_types(g_f.dtype, torch.float32)
    g = g_f.detach().to(dtype)
    mask = loss_mask.to(dtype)  # (B, T, 1): valid frames of fused utterances
    count = mask.sum() * g.size(-1)
    nan = torch.full((), math.nan, dtype=dtype, device=g.device)
    diag = {
        "gate_mean": _masked_mean(g, loss_mask),
        "gate_above1": _masked_mean((g > 1).to(dtype), loss_mask),
        "loss_gate": torch.zeros((), dtype=dtype, device=g.device),
        "gate_cos": nan,
        "gate_conflict": nan,
    }
    extra = None
    if spec.weight != 0.0:
        fused = loss_mask.any(1).view(-1)  # (B,)
        a, b = view_gradients(delta.to(dtype), x_f.to(dtype), x_s.to(dtype))
        target, cos = gate_targets(a, b, spec.granularity, fused)
        if spec.clip:
            target = target.clamp(max=1.0)
        diff = (g - target) * mask
        extra = (2.0 * spec.weight * spec.grad_scale / count.clamp(min=1)) * diff
        if spec.granularity == "batch":
            cos_mask = fused.any().view(1, 1, 1)
        else:
            cos_mask = fused.view(-1, 1, 1)
        diag["loss_gate"] = spec.weight * diff.pow(2).sum() / count
        diag["gate_cos"] = _masked_mean(cos, cos_mask)
        diag["gate_conflict"] = _masked_mean((cos < 0).to(dtype), cos_mask)
    spec.sink.clear()
    spec.sink.update({k: v.detach() for k, v in diag.items()})
    return extra


class _FusionLayerWithGateLoss(torch.autograd.Function):
    """``y = W_o (g_f x_f + g_s x_s) + b_o`` whose backward adds ``dL_gate/dg_f``."""

    @staticmethod
    def forward(ctx, x_f, x_s, g_f, g_s, weight, bias, valid, loss_mask, spec):
        x = g_f * x_f + g_s * x_s
        y = F.linear(x, weight, bias).masked_fill(~valid, 0.0)
        ctx.save_for_backward(x_f, x_s, g_f, g_s, weight, valid, loss_mask)
        ctx.spec = spec
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x_f, x_s, g_f, g_s, weight, valid, loss_mask = ctx.saved_tensors
        needs = ctx.needs_input_grad
        delta = grad_y.to(weight.dtype).masked_fill(~valid, 0.0)  # (B, T, D_out)
        grad_x = delta @ weight  # (B, T, D)
        grads = [None] * 9
        if needs[0]:
            grads[0] = (grad_x * g_f).sum_to_size(x_f.shape).to(x_f.dtype)
        if needs[1]:
            grads[1] = (grad_x * g_s).sum_to_size(x_s.shape).to(x_s.dtype)
        if needs[2]:
            grad_g_f = (grad_x * x_f).sum_to_size(g_f.shape)
            extra = _gate_loss_grad(delta, x_f, x_s, g_f, loss_mask, ctx.spec)
            if extra is not None:
                grad_g_f = grad_g_f + extra
            grads[2] = grad_g_f.to(g_f.dtype)
        if needs[3]:
            grads[3] = (grad_x * x_s).sum_to_size(g_s.shape).to(g_s.dtype)
        if needs[4]:
            x = (g_f * x_f + g_s * x_s).to(weight.dtype)
            grads[4] = delta.flatten(0, -2).t() @ x.flatten(0, -2)
        if needs[5]:
            grads[5] = delta.sum((0, 1))
        return tuple(grads)


class GatedFusion(AbsFusion):
    """Gradient-sensitive gating network (GSGN, arXiv 2501.08057, Sec. II).

    Forward::

        z   = A_f x_f + A_s x_s + c            (gate_fbank: A_f, c; gate_ssl: A_s)
        g_f = act(z)                           2*sigmoid (default) or sigmoid
        g_s = 1                                (or its own gate: learn_ssl_gate)
        y   = W_o (g_f * x_f + g_s * x_s) + b_o

    Gate loss (Eq. 11), computed in the ordinary backward pass: with ``delta = dL/dy``
    and the ungated views, ``a = sum_t delta_t x_f,t^T`` and ``b = sum_t delta_t
    x_s,t^T`` per utterance (B, D_out, D); their cosine at ``cos_granularity`` gives
    the constant target ``t = 1`` (cos >= 0) or ``1 - |b| cos / |a|`` (clipped to 1
    with the plain sigmoid), and ``L_gate = lambda * mean (g_f - t)^2`` over valid
    frames of fused utterances and D. The fusion layer is a custom autograd function
    that adds ``dL_gate/dg_f`` to the gradient of ``g_f``, so ``loss.backward()`` on
    the task loss yields the gradient of ``L_task + L_gate`` in one pass.

    Branch dropout (Eq. 13): while training, each utterance (or the whole batch) takes
    the FBank-only (``g_f = 1, g_s = 0``), SSL-only (``g_f = 0, g_s = 1``) or fused
    branch, with probabilities from the epoch schedule (:meth:`set_epoch`; epoch 1
    until told). ``W_o`` is applied in every branch; the gate still enters the graph
    (multiplied by 0) so every parameter gets a gradient each step (DDP without
    ``find_unused_parameters``). In eval mode the fused branch is always taken unless
    ``sample_at_inference``.

    AMP: under a ``GradScaler`` ``delta`` arrives multiplied by the loss scale S. The
    cosine and ``|b| / |a|`` do not change, but the added gate gradient is not scaled
    by itself; set ``grad_scale`` (attribute or option) to S before each forward (it is
    read there and carried into the backward) so that unscaling leaves the right gate
    gradient. ``EpochAwareTrainer`` does this from ESPnet's ``GradScaler``.

    :meth:`diagnostics` reports, as detached 0-dim tensors, ``loss_gate`` (lambda x
    MSE), ``gate_cos`` (mean cosine), ``gate_conflict`` (share of cos < 0),
    ``gate_mean`` (mean g_f) and ``gate_above1`` (share of g_f > 1), all over the fused
    utterances of the last backward: they lag one step (known only after backward).
    They are NaN before the first backward or when no utterance took the fused branch;
    with ``gate_loss_weight = 0`` ``loss_gate`` is 0 and the cosine entries NaN.
    """

    @typechecked
    def __init__(
        self,
        dim: int,
        output_dim: int,
        gate_activation: str = "2sigmoid",
        gate_loss_weight: float = 1.0,
        cos_granularity: str = "dim",
        learn_ssl_gate: bool = False,
        branch_dropout: Optional[List[List[Union[int, float]]]] = None,
        branch_dropout_unit: str = "utterance",
        sample_at_inference: bool = False,
        grad_scale: float = 1.0,
    ) -> None:
        """Builds the gate(s) and the fusion layer.

        Args:
            dim: Width D of both views.
            output_dim: Output width D_out.
            gate_activation: ``2sigmoid`` (range (0, 2), 1 at z = 0) or ``sigmoid``
                (the paper's text; targets are then clipped to 1).
            gate_loss_weight: lambda; 0 gives gated fusion without gradient
                sensitivity (no gradient products are formed).
            cos_granularity: ``dim``, ``utterance`` or ``batch`` (see
                :func:`gate_targets`).
            learn_ssl_gate: Give ``g_s`` its own gate (no gate loss on it) instead of
                ``g_s = 1``.
            branch_dropout: Stages ``[[start_epoch, p_fbank, p_ssl], ...]`` (see
                :class:`BranchDropoutSchedule`); None: always fused.
            branch_dropout_unit: ``utterance`` (one draw each) or ``batch``.
            sample_at_inference: In eval mode, sample branches with the last stage.
            grad_scale: Factor on the added gate gradient (AMP loss scale).
        """
        super().__init__(dim, output_dim)
        for name, value, valid in (
            ("gate_activation", gate_activation, GATE_ACTIVATIONS),
            ("cos_granularity", cos_granularity, COS_GRANULARITIES),
            ("branch_dropout_unit", branch_dropout_unit, DRAW_GRANULARITIES),
        ):
            if value not in valid:
                raise ValueError(f"{name} must be one of {list(valid)}; got {value!r}")
        if gate_loss_weight < 0:
            raise ValueError(f"gate_loss_weight must be >= 0; got {gate_loss_weight}")
        self.gate_activation = gate_activation
        self.gate_loss_weight = float(gate_loss_weight)
        self.cos_granularity = cos_granularity
        self.branch_dropout_unit = branch_dropout_unit
        self.sample_at_inference = sample_at_inference
        self.grad_scale = float(grad_scale)
        self.schedule = (
            None if branch_dropout is None else BranchDropoutSchedule(branch_dropout)
        )
        self.epoch = 1
        self.generator: Optional[torch.Generator] = None  # for reproducible draws
        self.gate_fbank = torch.nn.Linear(dim, dim)  # A_f and c
        self.gate_ssl = torch.nn.Linear(dim, dim, bias=False)  # A_s
        self.learn_ssl_gate = learn_ssl_gate
        if learn_ssl_gate:
            self.ssl_gate_fbank = torch.nn.Linear(dim, dim)
            self.ssl_gate_ssl = torch.nn.Linear(dim, dim, bias=False)
        self.fusion_layer = torch.nn.Linear(dim, output_dim)  # W_o and b_o
        self._diagnostics: Dict[str, torch.Tensor] = {}

    def set_epoch(self, epoch: int) -> None:
        """Sets the 1-based epoch that selects the branch-dropout stage."""
        if epoch < 1:
            raise ValueError(f"epochs are 1-based; got {epoch}")
        self.epoch = int(epoch)

    def diagnostics(self) -> Dict[str, torch.Tensor]:
        """Gate statistics of the last backward (see the class docstring)."""
        return {
            k: self._diagnostics.get(k, torch.tensor(math.nan)) for k in DIAGNOSTIC_KEYS
        }

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(z)
        return 2.0 * gate if self.gate_activation == "2sigmoid" else gate

    def gates(
        self, x_f: torch.Tensor, x_s: torch.Tensor
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Gate values before branch selection.

        Returns:
            ``g_f`` (B, T, D) and ``g_s`` (B, T, D), or None when ``g_s = 1``.
        """
        g_f = self._act(self.gate_fbank(x_f) + self.gate_ssl(x_s))
        if not self.learn_ssl_gate:
            return g_f, None
        return g_f, self._act(self.ssl_gate_fbank(x_f) + self.ssl_gate_ssl(x_s))

    def sample(self, batch_size: int, device=None) -> Optional[torch.Tensor]:
        """Branch codes (B,) for the current mode and epoch; None: all fused."""
        if self.schedule is None or not (self.training or self.sample_at_inference):
            return None
        if self.training:
            p_fbank, p_ssl = self.schedule.probabilities(self.epoch)
        else:
            p_fbank, p_ssl = self.schedule.last_probabilities()
        draws = batch_size if self.branch_dropout_unit == "utterance" else 1
        codes = sample_branches(draws, p_fbank, p_ssl, self.generator, device)
        return codes.expand(batch_size)

    def forward(
        self,
        x_f: torch.Tensor,
        x_s: torch.Tensor,
        lengths: torch.Tensor,
        branches: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Gates and fuses the two views.

        Args:
            x_f: FBank view (B, T, D).
            x_s: SSL view (B, T, D).
            lengths: Valid frames per utterance (B,).
            branches: Optional branch codes (B,) (``FUSED``/``FBANK``/``SSL``) to use
                instead of sampling, e.g. in tests.

        Returns:
            Fused features (B, T, D_out), zero beyond each length.
        """
        batch = x_f.size(0)
        valid = ~make_pad_mask(lengths, x_f, length_dim=1)[..., :1]  # (B, T, 1)
        g_f, g_s = self.gates(x_f, x_s)
        if g_s is None:
            g_s = x_s.new_ones(batch, 1, 1)
        if branches is None:
            branches = self.sample(batch, x_f.device)
        loss_mask = valid
        if branches is not None:
            branches = branches.to(x_f.device).view(batch, 1, 1)
            fused = (branches == FUSED).to(g_f.dtype)
            g_f = fused * g_f + (branches == FBANK).to(g_f.dtype)
            g_s = fused * g_s + (branches == SSL).to(g_f.dtype)
            loss_mask = valid & (branches == FUSED)
        spec = _GateLoss(
            weight=self.gate_loss_weight,
            granularity=self.cos_granularity,
            clip=self.gate_activation == "sigmoid",
            grad_scale=self.grad_scale,
            sink=self._diagnostics,
        )
        weight, bias = self.fusion_layer.weight, self.fusion_layer.bias
        return _FusionLayerWithGateLoss.apply(
            x_f, x_s, g_f, g_s, weight, bias, valid, loss_mask, spec
        )
