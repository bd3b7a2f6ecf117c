"""Puts the frontend's diagnostics into an ESPnet model's training stats.

ESPnet's ST and ASR models accept no unknown ``model_conf`` keys and have no hook for
extra statistics, but the trainer logs (and averages across DDP workers) every key of
the ``stats`` dict that ``model.forward`` returns. :func:`attach_frontend_stats`
registers a forward hook on a built model: after each *training* forward it asks the
frontend for its ``diagnostics()`` (a dict of detached 0-dim tensors, e.g. the GSGN
gate statistics) and adds them to ``stats``.

The frontend never reaches up into this module: the model side pulls. Values that a
frontend computes in the backward pass (GSGN's ``loss_gate`` and cosines) are those of
the previous step; the frontend documents which. Validation and decoding forwards
(``model.eval()``) get nothing added, so validation stats hold only what was measured
on validation data.
"""

from typing import Dict

import torch
from espnet2.torch_utils.device_funcs import force_gatherable


def frontend_diagnostics(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """The diagnostics of ``model.frontend``; empty when it reports none."""
    frontend = getattr(model, "frontend", None)
    diagnostics = getattr(frontend, "diagnostics", None)
    return dict(diagnostics()) if callable(diagnostics) else {}


def _add_diagnostics(model, args, kwargs, output):
    if not model.training:
        return output
    diagnostics = frontend_diagnostics(model)
    if not diagnostics:
        return output
    loss, stats, weight = output
    merged = dict(stats)
    for name, value in diagnostics.items():
        if name in merged:
            raise RuntimeError(f"frontend stat '{name}' clashes with a model stat")
        merged[name] = value.detach() if torch.is_tensor(value) else value
    return loss, force_gatherable(merged, loss.device), weight


def attach_frontend_stats(model: torch.nn.Module) -> torch.nn.Module:
    """Makes ``model(...)`` return the frontend's diagnostics in its stats.

    Args:
        model: An ESPnet model whose ``forward`` returns ``(loss, stats, weight)``
            and whose frontend (``model.frontend``) may define ``diagnostics()``.

    Returns:
        The same model, for chaining.
    """
    model.register_forward_hook(_add_diagnostics, with_kwargs=True)
    return model
