"""The ASR task with our frontends, frontend reports and the epoch-aware trainer."""

import argparse

from espnet2.tasks.asr import ASRTask

from espnet2_ext.tasks import registry
from espnet2_ext.train.trainer import EpochAwareTrainer
from espnet2_ext.tasks.frontend_report import attach_frontend_report

registry.register()


class MultiViewASRTask(ASRTask):
    """ESPnet's :class:`ASRTask`; the model reports frontend losses and statistics."""

    trainer = EpochAwareTrainer

    @classmethod
    def build_model(cls, args: argparse.Namespace):
        return attach_frontend_report(super().build_model(args))
