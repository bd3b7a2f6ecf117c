"""Benchmarks: speed and memory of the ``multiview`` frontend and of a GSGN step.

- ``python -m espnet2_ext.bench.frontend``: frontends side by side (ESPnet's and ours).
- ``python -m espnet2_ext.bench.gsgn_step``: a whole ST training step, GSGN against
  plain gated fusion and the two-pass reference.

Shared helpers live in :mod:`espnet2_ext.bench.timing`; the two-pass GSGN reference
step in :mod:`espnet2_ext.bench.reference`.
"""
