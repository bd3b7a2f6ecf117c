"""Decodes with ESPnet's own ``espnet2.bin.st_inference``, our frontends registered.

Models trained with espnet2_ext are stock ESPnet ST models; only the frontend class
has to be known to the decoding process. Same options as the stock script.
"""

from espnet2.bin.st_inference import main as stock_main

from espnet2_ext.tasks import registry
from espnet2_ext.utils.deps import run_cli

registry.register()


def main(cmd=None) -> None:
    stock_main(cmd)


if __name__ == "__main__":
    run_cli(main)
