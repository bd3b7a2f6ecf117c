"""Trains an ESPnet ST model with espnet2_ext's frontends.

Same options as ``python -m espnet2.bin.st_train``; adds the ``multiview`` frontend,
the frontend's diagnostics in the training stats and epoch-aware modules. Example::

    python -m espnet2_ext.bin.st_train --frontend multiview --print_config
"""

from espnet2_ext.tasks.st import MultiViewSTTask
from espnet2_ext.utils.deps import run_cli


def main(cmd=None) -> None:
    MultiViewSTTask.main(cmd=cmd)


if __name__ == "__main__":
    run_cli(main)
