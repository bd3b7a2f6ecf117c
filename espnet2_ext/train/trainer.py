"""An ESPnet trainer that tells modules the running epoch and the AMP loss scale.

Modules whose behaviour depends on the epoch (the branch-dropout schedule of the GSGN
fusion) define ``set_epoch(epoch: int)``. ESPnet's trainer keeps the epoch in its
reporter, which ``--resume`` restores, so reading it at the start of every training
epoch also gives the right number after a resume.

Modules that add gradients of their own inside the backward pass (the GSGN gate loss)
must scale them like the task loss under ``--use_amp``: the ``GradScaler`` multiplies
the loss by its scale S, so every backward signal arrives multiplied by S and is
divided by S again at ``unscale_``. Such modules expose a float attribute
``grad_scale``; :class:`EpochAwareTrainer` keeps it equal to ``scaler.get_scale()``
(see :func:`follow_loss_scale`).
"""

import contextlib
import logging
from typing import Any, Iterator, List, Optional

import torch
from espnet2.train.trainer import Trainer

#: Marks a scaler whose ``update`` is already wrapped by :func:`follow_loss_scale`.
_WRAPPED = "_espnet2_ext_follows_loss_scale"


def announce_epoch(model: torch.nn.Module, epoch: int) -> int:
    """Calls ``set_epoch(epoch)`` on every submodule that defines it.

    Args:
        model: The (possibly DDP-wrapped) model.
        epoch: ESPnet's 1-based epoch number.

    Returns:
        How many modules were told.
    """
    told = 0
    for module in model.modules():
        set_epoch = getattr(module, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)
            told += 1
    if told:
        logging.info(f"told {told} epoch-aware module(s): epoch {epoch}")
    return told


def grad_scale_modules(model: torch.nn.Module) -> List[torch.nn.Module]:
    """Submodules with a numeric ``grad_scale`` attribute (e.g. ``GatedFusion``)."""
    return [
        m
        for m in model.modules()
        if isinstance(getattr(m, "grad_scale", None), (int, float))
    ]


def announce_grad_scale(modules: List[torch.nn.Module], scale: float) -> None:
    """Sets ``grad_scale = scale`` on each of ``modules``."""
    for module in modules:
        module.grad_scale = float(scale)


@contextlib.contextmanager
def follow_loss_scale(
    model: torch.nn.Module, scaler: Optional[Any]
) -> Iterator[List[torch.nn.Module]]:
    """Keeps ``grad_scale`` of ``model``'s modules equal to the scaler's loss scale.

    The scale S that ``scaler.scale(loss)`` applies changes only in
    ``scaler.update()`` (and in ``load_state_dict``, before training starts). So the
    modules are told ``scaler.get_scale()`` on entry and again right after every
    ``update()``: during each forward and the following backward they hold the S
    that multiplies that step's loss. This matters because :class:`GatedFusion`
    reads ``grad_scale`` in its forward (the value travels with the autograd graph
    to the backward); telling the modules inside ``scaler.scale`` would come after
    the forward and so one scale change too late. The cost is one ``get_scale()``
    per optimizer step (ESPnet already calls it once per step to log
    ``loss_scale``).

    ``update`` is wrapped on the scaler instance for the duration of the block and
    restored afterwards, also on error; entering again while wrapped (nested use)
    does not wrap twice. Without a scaler (``--use_amp false``) nothing is touched
    and the modules keep their configured ``grad_scale``. A disabled scaler (ESPnet's
    ``torch.cuda.amp.GradScaler`` on a machine without CUDA) reports S = 1.

    Args:
        model: The (possibly DDP-wrapped) model.
        scaler: A ``torch.amp.GradScaler`` (or anything with ``update()`` and
            ``get_scale()``), or None.

    Yields:
        The modules that follow the scale (empty without a scaler).
    """
    modules = grad_scale_modules(model) if scaler is not None else []
    if not modules or getattr(scaler, _WRAPPED, False):
        if modules:
            announce_grad_scale(modules, scaler.get_scale())
        yield modules
        return
    had_own = "update" in vars(scaler)  # an instance attribute to put back
    previous = vars(scaler).get("update")
    original_update = scaler.update

    def update(*args, **kwargs):
        result = original_update(*args, **kwargs)
        announce_grad_scale(modules, scaler.get_scale())
        return result

    announce_grad_scale(modules, scaler.get_scale())
    scaler.update = update
    setattr(scaler, _WRAPPED, True)
    try:
        yield modules
    finally:
        if had_own:
            scaler.update = previous
        else:
            del scaler.update
        delattr(scaler, _WRAPPED)


class EpochAwareTrainer(Trainer):
    """ESPnet's :class:`Trainer` with epoch and loss-scale announcements.

    Before each training epoch it calls ``set_epoch`` on the modules that define it;
    during the epoch it keeps their ``grad_scale`` equal to the AMP loss scale
    (:func:`follow_loss_scale`).
    """

    @classmethod
    def train_one_epoch(
        cls,
        model,
        iterator,
        optimizers,
        schedulers,
        scaler,
        reporter,
        summary_writer,
        options,
        distributed_option,
    ) -> bool:
        announce_epoch(model, reporter.get_epoch())
        with follow_loss_scale(model, scaler):
            return super().train_one_epoch(
                model=model,
                iterator=iterator,
                optimizers=optimizers,
                schedulers=schedulers,
                scaler=scaler,
                reporter=reporter,
                summary_writer=summary_writer,
                options=options,
                distributed_option=distributed_option,
            )
