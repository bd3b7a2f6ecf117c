"""What our ST and ASR tasks add to ESPnet's: one mixin for both.

Parser, config keys and model classes stay ESPnet's own, so configs, checkpoints and
``st_inference`` / ``asr_inference`` remain interchangeable with stock ESPnet. The task
adds two things: the epoch-aware trainer, and the frontend's diagnostics in the
training stats.
"""

import argparse

from espnet2_ext.train.frontend_stats import attach_frontend_stats
from espnet2_ext.train.trainer import EpochAwareTrainer


class MultiViewTaskMixin:
    """Put before an ESPnet task class: ``class T(MultiViewTaskMixin, STTask)``."""

    trainer = EpochAwareTrainer

    @classmethod
    def build_model(cls, args: argparse.Namespace):
        return attach_frontend_stats(super().build_model(args))
