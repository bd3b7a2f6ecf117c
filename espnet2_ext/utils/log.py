"""One logging setup for every entry module of the package.

Each ``python -m espnet2_ext...`` entry point calls :func:`setup_logging` once in its
``main()``; library functions only log through ``logging``. The format names the
source file and line, like the recipes' shell ``log()`` helper (icefall style)::

    2026-12-02 13:07:08,123 [format_wav.py:512] INFO: data/train: 4 utterances

Example::

    >>> from espnet2_ext.utils.log import setup_logging
    >>> setup_logging()  # INFO and above, to stderr
"""

import logging
from typing import Union

LOG_FORMAT = "%(asctime)s [%(filename)s:%(lineno)d] %(levelname)s: %(message)s"


def setup_logging(level: Union[int, str] = logging.INFO) -> None:
    """Configures the root logger with :data:`LOG_FORMAT` at ``level``.

    Does nothing when the root logger already has handlers (``logging.basicConfig``
    semantics), so pytest's log capture and an embedding application keep theirs.

    Args:
        level: a ``logging`` level number or name (``"INFO"``, ``"DEBUG"``, ...).
    """
    logging.basicConfig(level=level, format=LOG_FORMAT)
