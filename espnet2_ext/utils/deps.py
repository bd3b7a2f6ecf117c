"""Clear, one-line errors for missing optional pieces (packages, GPUs) and, in the
recipe modules, for bad input.

:func:`run_cli` runs an entry point's ``main(argv)``. A missing package or GPU ends it
with one ``espnet2_ext: error: ...`` line. With ``input_errors=True`` (the recipe
stages) so does a ``ValueError``, ``RuntimeError`` or ``OSError``: the errors our
modules raise about the input, ``path:line: what is wrong - what to do``; the
traceback is left out unless ``ESPNET2_EXT_VERBOSE=1`` (the drivers' ``--verbose
true``). Any other exception is a bug and keeps its traceback.
"""

import argparse
import importlib
import os
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


# Errors about the input or the environment, raised with a message for the user.
INPUT_ERRORS = (ValueError, RuntimeError, OSError)
VERBOSE_ENV = "ESPNET2_EXT_VERBOSE"


def verbose() -> bool:
    """Whether ``ESPNET2_EXT_VERBOSE`` asks for tracebacks."""
    return os.environ.get(VERBOSE_ENV, "").lower() not in ("", "0", "false")


def run_cli(
    main: Callable[[Optional[List[str]]], None],
    argv=None,
    input_errors: bool = False,
) -> None:
    """Runs an entry point; a missing dependency becomes one error line and exit 1.

    Args:
        main: the entry point, called with the arguments.
        argv: the arguments (default: ``sys.argv[1:]``).
        input_errors: also end on :data:`INPUT_ERRORS` with their message and a hint
            line instead of a traceback (unless :func:`verbose`).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        check_ngpu(argv)
        main(argv)
    except MissingDependencyError as e:
        sys.exit(f"espnet2_ext: error: {e}")
    except INPUT_ERRORS as e:
        if not input_errors or verbose():
            raise
        sys.exit(
            f"espnet2_ext: error: {e or type(e).__name__}\n"
            f"  (for the traceback, rerun with {VERBOSE_ENV}=1)"
        )
