"""The slow two-pass GSGN reference step, for any model that contains a GatedFusion.

GSGN's gate loss needs ``delta = dL_task/dy`` at the fusion layer's output ``y``.
:class:`~espnet2_ext.frontend.gsgn.GatedFusion` gets it inside the ordinary backward
pass (one pass). The reference here does it the obvious, slow way:

1. forward with the module's own gate loss switched off (``gate_loss_weight = 0``),
   recording ``x_f``, ``x_s``, ``g_f``, the lengths and ``y``;
2. ``delta = torch.autograd.grad(task_loss, y, retain_graph=True)``: a first backward
   through everything above the fusion layer (encoder, decoder, loss);
3. per-view gradients ``a``, ``b`` and the constant targets ``t`` from ``delta``,
   computed here from the paper's definitions (:func:`reference_view_gradients`,
   :func:`reference_targets`), not with the module's own helpers, so that the check
   does not share their bugs;
4. ``(task_loss + lambda * MSE(g_f, t)).backward()``: the full second backward.

The same model object runs either way, so a benchmark can time one pass against two
passes on identical weights and inputs::

    from espnet2_ext.bench.reference import backward_step

    def loss_fn():
        return model(**batch)[0]          # e.g. an ESPnet model's loss

    backward_step(model, loss_fn, "one_pass")   # loss_fn().backward()
    backward_step(model, loss_fn, "two_pass")   # the reference above

Scope: the reference covers the always-fused case (no branch dropout while training,
``grad_scale = 1``); it raises otherwise. :func:`compare_gradients` checks that both
modes give the same parameter gradients.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch
import torch.nn.functional as F

from espnet2_ext.frontend.alignment import make_pad_mask
from espnet2_ext.frontend.gsgn import GatedFusion

MODES = ("one_pass", "two_pass")
LossFn = Callable[[], torch.Tensor]


def find_gated_fusion(model: torch.nn.Module) -> GatedFusion:
    """The single :class:`GatedFusion` inside ``model``.

    Raises:
        ValueError: When there is none or more than one.
    """
    found = [m for m in model.modules() if isinstance(m, GatedFusion)]
    if len(found) != 1:
        raise ValueError(
            f"expected exactly one GatedFusion in the model; found {found}"
        )
    return found[0]


@dataclass
class FusionTap:
    """Tensors of the last forward of a GatedFusion (graph kept)."""

    x_f: Optional[torch.Tensor] = None
    x_s: Optional[torch.Tensor] = None
    lengths: Optional[torch.Tensor] = None
    g_f: Optional[torch.Tensor] = None
    y: Optional[torch.Tensor] = None


@contextmanager
def tap_fusion(fusion: GatedFusion) -> Iterator[FusionTap]:
    """Records ``x_f``, ``x_s``, ``lengths``, ``g_f`` and ``y`` of ``fusion``'s forward.

    ``g_f`` is taken from :meth:`GatedFusion.gates` (wrapped on the instance for the
    duration), ``y`` and the inputs from a forward hook.
    """
    tap = FusionTap()
    gates = fusion.gates

    def recording_gates(x_f, x_s):
        g_f, g_s = gates(x_f, x_s)
        tap.g_f = g_f
        return g_f, g_s

    def hook(module, args, kwargs, output):
        if kwargs.get("branches") is not None or len(args) > 3:
            raise NotImplementedError("the reference covers the always-fused case only")
        tap.x_f, tap.x_s, tap.lengths = args[:3]
        tap.y = output

    fusion.gates = recording_gates
    handle = fusion.register_forward_hook(hook, with_kwargs=True)
    try:
        yield tap
    finally:
        handle.remove()
        del fusion.gates  # the class method is visible again


@contextmanager
def gate_loss_disabled(fusion: GatedFusion) -> Iterator[float]:
    """Sets ``gate_loss_weight`` to 0 for the duration; yields the original lambda."""
    weight = fusion.gate_loss_weight
    fusion.gate_loss_weight = 0.0
    try:
        yield weight
    finally:
        fusion.gate_loss_weight = weight


def reference_view_gradients(
    delta: torch.Tensor, x_f: torch.Tensor, x_s: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Eq. (6)-(7) as written: ``a_b = sum_t delta_{b,t} x_f,{b,t}^T`` (and ``b`` with
    ``x_s``), by an einsum over frames.

    Args:
        delta: ``dL/dy`` (B, T, D_out), zero on padded frames.
        x_f: ungated FBank view (B, T, D).
        x_s: ungated SSL view (B, T, D).

    Returns:
        ``a``, ``b``: (B, D_out, D).
    """
    return (
        torch.einsum("btk,btd->bkd", delta, x_f),
        torch.einsum("btk,btd->bkd", delta, x_s),
    )


@torch.no_grad()
def reference_targets(
    a: torch.Tensor, b: torch.Tensor, granularity: str
) -> torch.Tensor:
    """Eq. (10)-(11): ``t = 1 - |b| cos / |a|`` where ``cos < 0``, else 1.

    The cosine is ``torch.nn.functional.cosine_similarity`` over D_out (``dim``), over
    D_out x D (``utterance``) or of the batch sums (``batch``, every utterance fused).

    Returns:
        The targets, broadcastable to the gate (B, T, D).
    """
    if granularity == "batch":
        a, b = a.sum(0, keepdim=True), b.sum(0, keepdim=True)
    if granularity == "dim":
        cos = F.cosine_similarity(a, b, dim=1).unsqueeze(1)  # (B, 1, D)
        norm_a, norm_b = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    else:
        flat_a, flat_b = a.flatten(1), b.flatten(1)
        cos = F.cosine_similarity(flat_a, flat_b, dim=1).view(-1, 1, 1)
        norm_a = flat_a.norm(dim=1).view(-1, 1, 1)
        norm_b = flat_b.norm(dim=1).view(-1, 1, 1)
    return torch.where(cos < 0, 1 - norm_b * cos / norm_a, torch.ones_like(cos))


def reference_gate_loss(
    tap: FusionTap, delta: torch.Tensor, fusion: GatedFusion, weight: float
) -> torch.Tensor:
    """``lambda * mean (g_f - t)^2`` over valid frames and dims, with a graph via g_f.

    Args:
        tap: What the forward recorded.
        delta: ``dL_task/dy`` (B, T, D_out).
        fusion: The module (for its granularity and activation).
        weight: lambda.
    """
    valid = ~make_pad_mask(tap.lengths, tap.y, length_dim=1)[..., :1]  # (B, T, 1)
    delta = delta.masked_fill(~valid, 0.0)
    a, b = reference_view_gradients(delta, tap.x_f.detach(), tap.x_s.detach())
    target = reference_targets(a, b, fusion.cos_granularity)
    if fusion.gate_activation == "sigmoid":
        target = target.clamp(max=1.0)
    mask = valid.to(tap.g_f.dtype)
    count = (mask.sum() * tap.g_f.size(-1)).clamp(min=1)
    return weight * ((tap.g_f - target.to(tap.g_f.dtype)) * mask).pow(2).sum() / count


def two_pass_backward(
    model: torch.nn.Module, loss_fn: LossFn, fusion: Optional[GatedFusion] = None
) -> Dict[str, torch.Tensor]:
    """Task loss forward, ``autograd.grad`` for delta, then task + gate loss backward.

    Args:
        model: A model containing one GatedFusion.
        loss_fn: Runs the forward and returns the task loss (a scalar).
        fusion: The GatedFusion (found in ``model`` when None).

    Returns:
        Detached ``loss`` (task) and ``loss_gate``.
    """
    fusion = find_gated_fusion(model) if fusion is None else fusion
    if fusion.training and fusion.schedule is not None:
        raise NotImplementedError("the reference does not model branch dropout")
    if fusion.grad_scale != 1.0:
        raise NotImplementedError("the reference assumes grad_scale = 1")
    with tap_fusion(fusion) as tap, gate_loss_disabled(fusion) as weight:
        loss = loss_fn()
    if tap.y is None:
        raise RuntimeError("the GatedFusion did not run in loss_fn()")
    (delta,) = torch.autograd.grad(loss, tap.y, retain_graph=True)
    gate_loss = reference_gate_loss(tap, delta, fusion, weight)
    (loss + gate_loss).backward()
    return {"loss": loss.detach(), "loss_gate": gate_loss.detach()}


def one_pass_backward(
    model: torch.nn.Module, loss_fn: LossFn
) -> Dict[str, torch.Tensor]:
    """``loss_fn().backward()``; the GatedFusion adds its gate gradient by itself.

    Returns:
        Detached ``loss`` and, when the model has a GatedFusion, its ``loss_gate``
        (known after the backward).
    """
    loss = loss_fn()
    loss.backward()
    out = {"loss": loss.detach()}
    gated = [m for m in model.modules() if isinstance(m, GatedFusion)]
    if len(gated) == 1:
        out["loss_gate"] = gated[0].diagnostics()["loss_gate"]
    return out


def backward_step(
    model: torch.nn.Module, loss_fn: LossFn, mode: str = "one_pass"
) -> Dict[str, torch.Tensor]:
    """Forward + backward in ``mode`` (``one_pass`` or ``two_pass``); no optimizer step.

    Gradients are accumulated into ``.grad``: zero them before when needed.
    """
    if mode == "one_pass":
        return one_pass_backward(model, loss_fn)
    if mode == "two_pass":
        return two_pass_backward(model, loss_fn)
    raise ValueError(f"mode must be one of {MODES}; got {mode!r}")


def compare_gradients(
    model: torch.nn.Module, loss_fn: LossFn, seed: int = 0
) -> Dict[str, float]:
    """Gradients of both modes (and of lambda = 0) on the same weights and inputs.

    The RNG is reseeded before each forward so that dropout draws agree.

    Returns:
        ``max_abs_diff`` between the two modes over all parameter gradients,
        ``max_abs_grad`` (scale), ``rel_diff`` (their ratio), ``gate_effect`` (max
        abs difference between one pass and lambda = 0: how much the gate loss moves
        the gradients, i.e. how sensitive the comparison is) and both ``loss_gate``.
    """
    fusion = find_gated_fusion(model)
    grads = {}
    gate = {}
    for run in MODES + ("lambda_0",):
        model.zero_grad(set_to_none=True)
        torch.manual_seed(seed)
        if run == "lambda_0":
            with gate_loss_disabled(fusion):
                out = backward_step(model, loss_fn, "one_pass")
        else:
            out = backward_step(model, loss_fn, run)
        gate[run] = float(out.get("loss_gate", torch.tensor(float("nan"))))
        grads[run] = {
            n: p.grad.detach().clone()
            for n, p in model.named_parameters()
            if p.grad is not None
        }
    model.zero_grad(set_to_none=True)
    if grads["one_pass"].keys() != grads["two_pass"].keys():
        raise RuntimeError("the two modes gave gradients to different parameters")

    def max_diff(a: str, b: str) -> float:
        return max(
            (grads[a][n] - grads[b][n]).abs().max().item() for n in grads["one_pass"]
        )

    diff = max_diff("one_pass", "two_pass")
    scale = max(g.abs().max().item() for g in grads["two_pass"].values())
    return {
        "max_abs_diff": diff,
        "max_abs_grad": scale,
        "rel_diff": diff / scale if scale > 0 else 0.0,
        "gate_effect": max_diff("one_pass", "lambda_0"),
        "loss_gate_one_pass": gate["one_pass"],
        "loss_gate_two_pass": gate["two_pass"],
    }
