"""The ESPnet APIs espnet2_ext touches, on both supported releases (202511, 202611).

espnet 202611 (Python >= 3.12) moved ESPnet1's ``espnet.nets.*`` and
``espnet.utils.*`` to ``espnet2.legacy.nets.*`` / ``espnet2.legacy.utils.*``; 202511
(the last release for Python 3.11) has only the old paths. Everything else we use kept
its path and signature (checked: ``espnet2.train.trainer.Trainer.train_one_epoch``,
``espnet2.tasks.{st,asr}.frontend_choices``, the ``espnet2.bin.*`` entry points the
recipes call, ``AbsFrontend``, ``Reporter``). This module is the one place that knows
the difference, and :data:`MODULES` lists every ESPnet module path the package and its
recipes use, so that one test can import them all on the installed release and name
the path that is missing.

Nothing heavy is imported at module import; each accessor imports on first use.
"""

import importlib
from functools import lru_cache
from types import ModuleType
from typing import Callable, Dict, List, Tuple

#: ESPnet1 package prefixes, newest first: 202611 has the first, 202511 the second.
LEGACY_PREFIXES: Tuple[str, ...] = ("espnet2.legacy", "espnet")

#: ESPnet modules (besides the legacy ones) that espnet2_ext, its tests and its
#: recipes import or run with ``python -m``.
MODULES: Tuple[str, ...] = (
    "espnet2.asr.frontend.abs_frontend",
    "espnet2.asr.frontend.default",
    "espnet2.asr.frontend.fused",
    "espnet2.asr.frontend.s3prl",
    "espnet2.bin.aggregate_stats_dirs",
    "espnet2.bin.asr_inference",
    "espnet2.bin.asr_train",
    "espnet2.bin.launch",
    "espnet2.bin.pack",
    "espnet2.bin.st_inference",
    "espnet2.bin.st_train",
    "espnet2.bin.tokenize_text",
    "espnet2.fileio.read_text",
    "espnet2.layers.stft",
    "espnet2.main_funcs.pack_funcs",
    "espnet2.tasks.asr",
    "espnet2.tasks.mt",
    "espnet2.tasks.st",
    "espnet2.text.build_tokenizer",
    "espnet2.text.token_id_converter",
    "espnet2.torch_utils.device_funcs",
    "espnet2.train.abs_espnet_model",
    "espnet2.train.class_choices",
    "espnet2.train.distributed_utils",
    "espnet2.train.reporter",
    "espnet2.train.trainer",
    "espnet2.utils.get_default_kwargs",
    "espnet2.utils.nested_dict_action",
    "espnet2.utils.types",
)

#: ESPnet1 modules we use, relative to the legacy prefix.
LEGACY_MODULES: Tuple[str, ...] = (
    "nets.beam_search",
    "nets.pytorch_backend.nets_utils",
    "nets.pytorch_backend.transformer.add_sos_eos",
    "nets.scorers.length_bonus",
)

#: Keyword arguments :class:`espnet2_ext.train.trainer.EpochAwareTrainer` passes on
#: to ``Trainer.train_one_epoch``; both releases take exactly these.
TRAIN_ONE_EPOCH_ARGS: Tuple[str, ...] = (
    "model",
    "iterator",
    "optimizers",
    "schedulers",
    "scaler",
    "reporter",
    "summary_writer",
    "options",
    "distributed_option",
)

#: The task modules whose ``frontend_choices`` receive our frontends.
TASK_MODULES: Dict[str, str] = {"st": "espnet2.tasks.st", "asr": "espnet2.tasks.asr"}


def espnet_version() -> str:
    """The installed ESPnet release, e.g. ``"202611"``."""
    from importlib.metadata import version

    return version("espnet")


@lru_cache(maxsize=None)
def legacy_module(name: str) -> ModuleType:
    """Imports an ESPnet1 module from wherever the installed release keeps it.

    Args:
        name: The path below the legacy prefix, e.g.
            ``"nets.pytorch_backend.nets_utils"``.

    Raises:
        ImportError: Under no known prefix, naming every path tried.
    """
    tried = []
    for prefix in LEGACY_PREFIXES:
        path = f"{prefix}.{name}"
        try:
            return importlib.import_module(path)
        except ModuleNotFoundError as e:
            if e.name is None or not path.startswith(e.name):
                raise  # the module exists but one of its own imports failed
            tried.append(path)
    raise ImportError(
        f"no ESPnet module {' or '.join(tried)} (espnet {espnet_version()}); "
        "espnet2_ext supports espnet 202511 and 202611"
    )


def make_pad_mask(lengths, xs=None, length_dim: int = -1, maxlen=None):
    """ESPnet's ``make_pad_mask`` (True at padded positions), from either release.

    espnet 202511's version leaves the row of a zero-length utterance unmasked (it
    reads length 0 as "no length given"); 202611's masks it whole. This returns
    202611's answer on both: such rows are all True.
    """
    module = legacy_module("nets.pytorch_backend.nets_utils")
    mask = module.make_pad_mask(lengths, xs, length_dim, maxlen)
    if not module.__name__.startswith("espnet2."):
        import torch

        empty = torch.as_tensor(lengths, device=mask.device) == 0
        if bool(empty.any()):
            mask = mask.clone()
            mask[empty] = True
    return mask


def frontend_choices(task: str):
    """The ``ClassChoices`` of frontends of ESPnet's ``st`` or ``asr`` task."""
    return importlib.import_module(TASK_MODULES[task]).frontend_choices


def missing_apis() -> List[str]:
    """What the installed ESPnet lacks of what we use; empty when all is there.

    Each entry names a module path or a signature that differs, so a failing check
    says what to adapt.
    """
    missing = []
    for path in MODULES:
        try:
            importlib.import_module(path)
        except ImportError as e:
            missing.append(f"{path}: {e}")
    for name in LEGACY_MODULES:
        try:
            legacy_module(name)
        except ImportError as e:
            missing.append(str(e))
    for task, path in TASK_MODULES.items():
        if path in [m.split(":")[0] for m in missing]:
            continue
        if not hasattr(importlib.import_module(path), "frontend_choices"):
            missing.append(f"{path}.frontend_choices: not defined")
    if not any(m.startswith("espnet2.train.trainer") for m in missing):
        from espnet2.train.trainer import Trainer

        params = _parameters(Trainer.train_one_epoch)
        for arg in TRAIN_ONE_EPOCH_ARGS:
            if arg not in params:
                missing.append(f"espnet2.train.trainer.Trainer.train_one_epoch({arg}=)")
    return missing


def _parameters(func: Callable) -> List[str]:
    import inspect

    return list(inspect.signature(func).parameters)
