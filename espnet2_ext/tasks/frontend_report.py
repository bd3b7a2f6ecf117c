"""Lets a frontend add loss terms and statistics to an ESPnet model's output.

ESPnet's ST and ASR models have no hook for an auxiliary loss and accept no unknown
``model_conf`` keys, but the trainer logs (and averages across DDP workers) every key of
the ``stats`` dict that ``model.forward`` returns. :func:`attach_frontend_report` wraps
a built model's ``forward`` with two hooks: the first opens a :class:`FrontendReport`
for the step, and code running inside that forward (typically the frontend) calls
:func:`report_loss` / :func:`report_stats`; the second adds the reported losses to the
model's loss and the values to its ``stats``.

Nothing is stored on the modules: the report lives in a :mod:`contextvars` variable for
the duration of one forward, so decoding (no report open) costs nothing and reporting is
a no-op there. ``torch.nn.DataParallel`` runs replicas in threads that do not see the
context; ESPnet's multi-GPU path is DDP (one process per GPU), which does.
"""

import contextvars
from typing import Dict, Optional, Union

import torch
from espnet2.torch_utils.device_funcs import force_gatherable

_ACTIVE: contextvars.ContextVar[Optional["FrontendReport"]] = contextvars.ContextVar(
    "espnet2_ext_frontend_report", default=None
)


class FrontendReport:
    """Loss terms and statistics reported during one model forward."""

    def __init__(self) -> None:
        self.losses: Dict[str, torch.Tensor] = {}
        self.stats: Dict[str, Union[torch.Tensor, float]] = {}

    def total_loss(self) -> Optional[torch.Tensor]:
        """Sum of the reported loss terms, or None when there are none."""
        if not self.losses:
            return None
        return torch.stack([v.reshape(()) for v in self.losses.values()]).sum()


def report_loss(name: str, value: torch.Tensor) -> bool:
    """Adds ``value`` (a scalar with a graph) to the loss of the running model step.

    The term is also logged as ``stats[name]``. Returns False (and does nothing) when no
    report is open, e.g. while decoding.
    """
    report = _ACTIVE.get()
    if report is None:
        return False
    if name in report.losses or name in report.stats:
        raise RuntimeError(f"frontend reported '{name}' twice in one step")
    report.losses[name] = value
    return True


def report_stats(values: Dict[str, Union[torch.Tensor, float]]) -> bool:
    """Adds detached values to the ``stats`` of the running model step."""
    report = _ACTIVE.get()
    if report is None:
        return False
    for name, value in values.items():
        if name in report.losses or name in report.stats:
            raise RuntimeError(f"frontend reported '{name}' twice in one step")
        report.stats[name] = value.detach() if torch.is_tensor(value) else value
    return True


def _open_report(module, args, kwargs):
    _ACTIVE.set(FrontendReport())


def _merge_report(module, args, kwargs, output):
    report = _ACTIVE.get()
    _ACTIVE.set(None)
    if report is None or (not report.losses and not report.stats):
        return output
    loss, stats, weight = output
    extra = report.total_loss()
    if extra is not None:
        loss = loss + extra.to(loss.dtype)
    merged = dict(stats)
    for name, value in {**report.losses, **report.stats}.items():
        if name in merged:
            raise RuntimeError(f"frontend stat '{name}' clashes with a model stat")
        merged[name] = value.detach() if torch.is_tensor(value) else value
    if extra is not None and "loss" in merged:
        merged["loss"] = loss.detach()
    return loss, force_gatherable(merged, loss.device), weight


def attach_frontend_report(model: torch.nn.Module) -> torch.nn.Module:
    """Makes ``model.forward`` collect what its submodules report (see module doc).

    Args:
        model: An ESPnet model whose ``forward`` returns ``(loss, stats, weight)``.

    Returns:
        The same model, for chaining.
    """
    model.register_forward_pre_hook(_open_report, with_kwargs=True)
    model.register_forward_hook(_merge_report, with_kwargs=True)
    return model
