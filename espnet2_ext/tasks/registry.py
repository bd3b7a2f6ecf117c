"""Registers espnet2_ext's frontend(s) into ESPnet's ST and ASR tasks.

ESPnet has no plugin mechanism: ``espnet2.tasks.st.frontend_choices`` and
``espnet2.tasks.asr.frontend_choices`` are module globals that both ``get_parser()`` and
``build_model()`` read. Adding our classes to them has to happen in *every* process that
parses a config or builds a model: training, spawned DDP workers and decoding jobs.
Every entry module of :mod:`espnet2_ext.bin` and :mod:`espnet2_ext.tasks` calls
:func:`register` at import, so importing any of them is enough.
"""

from typing import Dict, Type

from espnet2_ext.utils import espnet_compat

#: ESPnet task modules whose ``frontend_choices`` receive our frontends.
TASK_MODULES = tuple(espnet_compat.TASK_MODULES.values())


def frontend_classes() -> Dict[str, Type]:
    """The frontends this package adds, by the name used in configs."""
    from espnet2_ext.frontend.multiview import MultiViewFrontend

    return {"multiview": MultiViewFrontend}


def register() -> None:
    """Adds our frontends to every task in :data:`TASK_MODULES` (idempotent)."""
    classes = frontend_classes()
    for task, name in espnet_compat.TASK_MODULES.items():
        choices = espnet_compat.frontend_choices(task)
        for key, cls in classes.items():
            registered = choices.classes.get(key)
            if registered is not None and registered is not cls:
                raise RuntimeError(
                    f"frontend name '{key}' is already taken in {name} by "
                    f"{registered.__module__}.{registered.__qualname__}"
                )
            choices.classes[key] = cls
