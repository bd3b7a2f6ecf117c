"""Trains an ESPnet ASR model with espnet2_ext's frontends.

Same options as ``python -m espnet2.bin.asr_train``; adds the ``multiview`` frontend,
the frontend's diagnostics in the training stats and epoch-aware modules. Example::

    python -m espnet2_ext.bin.asr_train --frontend multiview --print_config
"""

from espnet2_ext.tasks.asr import MultiViewASRTask
from espnet2_ext.utils.deps import run_cli


def main(cmd=None) -> None:
    MultiViewASRTask.main(cmd=cmd)


if __name__ == "__main__":
    run_cli(main)
