"""espnet2_ext: FBank features fused with self-supervised speech representations.

The package adds one ESPnet frontend, ``multiview``, to ESPnet's ST and ASR tasks.
``import espnet2_ext`` is all a process needs: the frontend is registered into
``espnet2.tasks.st`` / ``espnet2.tasks.asr`` as soon as those are imported (see
:func:`espnet2_ext.tasks.registry.register_on_import`), so configs and checkpoints
with ``frontend: multiview`` load through ESPnet's own classes, e.g. ``Speech2Text``.
"""

from espnet2_ext.tasks.registry import register_on_import

__version__ = "0.1.0"

register_on_import()
