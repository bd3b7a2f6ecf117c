"""espnet2_ext: FBank features fused with self-supervised speech representations.

The package adds one ESPnet frontend, ``multiview``, to the ST and ASR tasks.
Importing :mod:`espnet2_ext.tasks.registry` (which every entry point in
:mod:`espnet2_ext.bin` does) registers it.
"""

__version__ = "0.1.0"
