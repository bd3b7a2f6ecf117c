"""Registers espnet2_ext's frontend(s) into ESPnet's ST and ASR tasks.

ESPnet has no plugin mechanism: ``espnet2.tasks.st.frontend_choices`` and
``espnet2.tasks.asr.frontend_choices`` are module globals that both ``get_parser()`` and
``build_model()`` read. Adding our classes to them has to happen in *every* process that
parses a config or builds a model: training, spawned DDP workers, decoding jobs and a
user's notebook.

Two ways get there:

- :func:`register` adds them now (importing both task modules). Every entry module of
  :mod:`espnet2_ext.bin` and :mod:`espnet2_ext.tasks` calls it at import.
- :func:`register_on_import`, which ``import espnet2_ext`` calls, adds them to a task
  module already imported, and otherwise to each task module the moment it is
  imported (a finder on ``sys.meta_path``). So ``import espnet2_ext`` is enough before
  ``from espnet2.bin.st_inference import Speech2Text``, and it stays cheap: it imports
  neither ESPnet nor torch itself.
"""

import importlib
import importlib.machinery
import sys
from types import ModuleType
from typing import Dict, Type

from espnet2_ext.utils import espnet_compat

#: ESPnet task modules whose ``frontend_choices`` receive our frontends.
TASK_MODULES = tuple(espnet_compat.TASK_MODULES.values())


def frontend_classes() -> Dict[str, Type]:
    """The frontends this package adds, by the name used in configs."""
    from espnet2_ext.frontend.multiview import MultiViewFrontend

    return {"multiview": MultiViewFrontend}


def register_into(module: ModuleType) -> None:
    """Adds our frontends to one task module's ``frontend_choices`` (idempotent)."""
    choices = module.frontend_choices
    for key, cls in frontend_classes().items():
        registered = choices.classes.get(key)
        if registered is not None and registered is not cls:
            raise RuntimeError(
                f"frontend name '{key}' is already taken in {module.__name__} by "
                f"{registered.__module__}.{registered.__qualname__}"
            )
        choices.classes[key] = cls


def register() -> None:
    """Adds our frontends to every task in :data:`TASK_MODULES` (idempotent)."""
    for name in TASK_MODULES:
        register_into(importlib.import_module(name))


class _RegisteringLoader:
    """Runs a task module's own loader, then registers into the module.

    Duck-typed like ``importlib.abc.Loader`` (importing ``importlib.abc`` would cost
    more than the rest of ``import espnet2_ext``).
    """

    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        register_into(module)


class _TaskImportFinder:
    """Finds :data:`TASK_MODULES` like Python would, with a registering loader."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in TASK_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


def register_on_import() -> None:
    """Registers into the task modules imported so far and into each one imported later.

    Idempotent: a second call installs no second finder.
    """
    if not any(isinstance(f, _TaskImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _TaskImportFinder())
    for name in TASK_MODULES:
        if name in sys.modules:
            register_into(sys.modules[name])
