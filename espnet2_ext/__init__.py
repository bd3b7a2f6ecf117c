"""espnet2_ext: fuse FBank features with self-supervised speech representations in ESPnet2.

The package adds one ESPnet frontend, ``multiview``, to the ST and ASR tasks. Importing
:mod:`espnet2_ext.registry` (which every entry point in :mod:`espnet2_ext.bin` does)
registers it.
"""

__version__ = "0.1.0"
