"""Clear, one-line errors for missing optional pieces (packages, GPUs)."""

import argparse
import importlib
import sys
from types import ModuleType
from typing import Callable, List, Optional, Sequence


class MissingDependencyError(ImportError):
    """A package or device that the requested configuration needs is not there."""


def require(module: str, install: str, purpose: str) -> ModuleType:
    """Imports ``module`` or raises :class:`MissingDependencyError` saying what to do.

    Args:
        module: Module to import, e.g. ``"s3prl.nn"``.
        install: What the user should run, e.g. ``"pip install espnet-s3prl"``.
        purpose: What needs it, e.g. ``"the SSL view of the multiview frontend"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(
            f"{purpose} needs '{module}', which cannot be imported ({e}); "
            f"install it with: {install}"
        ) from e


def check_ngpu(argv: Sequence[str]) -> None:
    """Fails early if ``--ngpu N`` (N > 0) is asked for and no CUDA device is seen."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--ngpu", type=int, default=0)
    known, _ = parser.parse_known_args(list(argv))
    if known.ngpu > 0:
        import torch

        if not torch.cuda.is_available():
            raise MissingDependencyError(
                f"--ngpu {known.ngpu} was given but torch sees no CUDA device "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}); "
                "run with --ngpu 0, or on a GPU machine with a CUDA build of torch"
            )


def run_cli(main: Callable[[Optional[List[str]]], None], argv=None) -> None:
    """Runs an entry point; a missing dependency becomes one error line and exit 1."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        check_ngpu(argv)
        main(argv)
    except MissingDependencyError as e:
        sys.exit(f"espnet2_ext: error: {e}")
