"""An ESPnet trainer that tells epoch-aware modules which epoch is running.

Modules whose behaviour depends on the epoch (the branch-dropout schedule of the GSGN
fusion) define ``set_epoch(epoch: int)``. ESPnet's trainer keeps the epoch in its
reporter, which ``--resume`` restores, so reading it at the start of every training
epoch also gives the right number after a resume.
"""

import logging

import torch
from espnet2.train.trainer import Trainer


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


class EpochAwareTrainer(Trainer):
    """ESPnet's :class:`Trainer`, plus ``set_epoch`` before each training epoch."""

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
