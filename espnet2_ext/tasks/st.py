"""The ST task with our frontends, frontend reports and the epoch-aware trainer."""

import argparse

from espnet2.tasks.st import STTask

from espnet2_ext.tasks import registry
from espnet2_ext.train.trainer import EpochAwareTrainer
from espnet2_ext.tasks.frontend_report import attach_frontend_report

registry.register()


class MultiViewSTTask(STTask):
    """ESPnet's :class:`STTask`; the model reports frontend losses and statistics.

    Parser, config keys and model class are ESPnet's own, so configs, checkpoints and
    ``st_inference`` stay interchangeable with stock ESPnet.
    """

    trainer = EpochAwareTrainer

    @classmethod
    def build_model(cls, args: argparse.Namespace):
        return attach_frontend_report(super().build_model(args))
