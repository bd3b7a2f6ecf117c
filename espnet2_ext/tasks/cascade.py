"""ESPnet task of the exporter cascade (:mod:`espnet2_ext.cascade`).

The data side is ESPnet's ST task's: ``speech``, ``text`` (the translation, MT target
tokens) and ``src_text`` (the transcript, ASR tokens = MT source tokens), tokenised
by its preprocessor from ``token_list`` / ``src_token_list`` and the BPE models. The
model is composed of two sub-models built from their own training configs, as
ESPnet's ``EnhS2TTask`` composes its parts:

- ``--asr_conf``: the ASR's whole ``config.yaml`` (any of our frontends; CTC on);
- ``--mt_conf``: the MT's whole ``config.yaml`` (ESPnet's ``mt`` task);
- ``--exporter`` / ``--exporter_conf``: :mod:`espnet2_ext.cascade.exporter` (widths
  read from the two models);
- ``--model_conf``: :class:`~espnet2_ext.cascade.model.ExporterCascadeModel`'s loss
  weights and pooling.

Both configs are embedded in the cascade's own ``config.yaml``, so a packed model
needs nothing else; the trained weights come in with ESPnet's ``--init_param
asr.pth::asr mt.pth::mt``.
"""

import argparse
from pathlib import Path
from typing import List, Sequence, Union

from espnet2.tasks.mt import MTTask
from espnet2.tasks.st import STTask
from espnet2.utils.get_default_kwargs import get_default_kwargs
from espnet2.utils.nested_dict_action import NestedDictAction

from espnet2_ext.cascade.exporter import build_exporter, exporter_choices
from espnet2_ext.cascade.model import ExporterCascadeModel, first_difference
from espnet2_ext.tasks.asr import MultiViewASRTask
from espnet2_ext.train.trainer import EpochAwareTrainer


def read_token_list(tokens: Union[str, Sequence[str]], what: str) -> List[str]:
    """A token list given inline or as a ``tokens.txt`` path (one token a line).

    Raises:
        FileNotFoundError: naming ``what`` and the missing file.
    """
    if isinstance(tokens, (list, tuple)):
        return list(tokens)
    path = Path(tokens)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no token list file {path}")
    return [line.rstrip() for line in path.read_text(encoding="utf-8").splitlines()]


class ExporterCascadeTask(STTask):
    """ESPnet's ST task with the cascade model; ``asr_conf`` / ``mt_conf`` hold the
    sub-models' configs."""

    trainer = EpochAwareTrainer
    class_choices_list = STTask.class_choices_list + [exporter_choices()]

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_task_arguments(parser)
        parser.set_defaults(model_conf=get_default_kwargs(ExporterCascadeModel))
        group = parser.add_argument_group(description="Exporter cascade related")
        for name, what in (("asr", "ASR (CTC on)"), ("mt", "MT (ESPnet's mt task)")):
            group.add_argument(
                f"--{name}_conf",
                action=NestedDictAction,
                default={},
                help=f"the whole training config.yaml of the {what}",
            )

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> ExporterCascadeModel:
        """The cascade of ``args.asr_conf`` and ``args.mt_conf``.

        Raises:
            ValueError: a missing sub-model config, or token lists that do not
                chain (the cascade's ``src_token_list`` must be the ASR's, its
                ``token_list`` the MT's target list).
        """
        for name in ("asr_conf", "mt_conf"):
            if not getattr(args, name):
                raise ValueError(
                    f"--{name} is empty: give the sub-model's training config.yaml"
                )
        asr = MultiViewASRTask.build_model(argparse.Namespace(**args.asr_conf))
        mt_args = argparse.Namespace(**args.mt_conf)
        mt = MTTask.build_model(mt_args)
        mt_src = read_token_list(mt_args.src_token_list, "mt_conf.src_token_list")
        pairs = (
            ("src_token_list", "the ASR's", asr.token_list, args.src_token_list),
            ("token_list", "the MT's target", mt.token_list, args.token_list),
        )
        for option, owner, theirs, ours in pairs:
            ours = read_token_list(ours, option) if ours is not None else []
            if list(theirs) != ours:
                raise ValueError(
                    f"--{option} of the cascade is not {owner} token list: "
                    + first_difference(ours, list(theirs), ("the cascade's", owner))
                )
        exporter = build_exporter(
            args.exporter,
            asr.encoder.output_size(),
            mt.frontend.output_size(),
            args.exporter_conf,
        )
        return ExporterCascadeModel(asr, mt, mt_src, exporter, **args.model_conf)
