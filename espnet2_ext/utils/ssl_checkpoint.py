"""Checks of s3prl converted checkpoints before s3prl reads them.

s3prl's ``*_local`` loaders call ``torch.load`` and index the result; a truncated file
surfaces as a zip-reader error that does not name the file, a dict without a key as a
``KeyError`` deep inside s3prl. :func:`validate_converted_checkpoint` turns both into
one :class:`CheckpointError` that names the file and says what to do.

Example::

    >>> validate_converted_checkpoint("exp/upstream/hubert.pt", "hubert_local")
"""

from pathlib import Path
from typing import Dict, Tuple, Union

#: Keys each s3prl local upstream reads from its converted checkpoint.
REQUIRED_KEYS: Dict[str, Tuple[str, ...]] = {
    "hubert_local": ("task_cfg", "model_cfg", "model_weight", "dictionaries_symbols"),
    "wav2vec2_local": ("task_cfg", "model_cfg", "model_weight"),
}


class CheckpointError(ValueError):
    """A checkpoint file is unreadable or lacks what its loader needs."""


def _load(path: Path):
    import torch

    try:
        # mmap: reading the dict's keys does not copy the tensors into memory
        return torch.load(path, map_location="cpu", mmap=True)
    except RuntimeError as e:
        if "mmap" not in str(e):
            raise
        return torch.load(path, map_location="cpu")  # pre-zip serialisation


def validate_converted_checkpoint(path: Union[str, Path], name: str) -> None:
    """Raises :class:`CheckpointError` unless ``path`` is loadable as upstream ``name``.

    Upstream names without an entry in :data:`REQUIRED_KEYS` are not checked.

    Args:
        path: Checkpoint file.
        name: s3prl upstream name, e.g. ``"hubert_local"``.

    Raises:
        CheckpointError: missing file, unreadable (truncated) file, not a dict, or a
            required key missing; the message names the file.
    """
    required = REQUIRED_KEYS.get(name)
    if required is None:
        return
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' for {name} does not exist")
    try:
        state = _load(path)
    except Exception as e:
        raise CheckpointError(
            f"checkpoint '{path}' for {name} cannot be read (truncated or corrupt?): "
            f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}; "
            "delete it and write it again"
        ) from e
    if not isinstance(state, dict):
        raise CheckpointError(
            f"checkpoint '{path}' for {name} holds a {type(state).__name__}, "
            f"not a dict with keys {list(required)}"
        )
    missing = [k for k in required if k not in state]
    if missing:
        raise CheckpointError(
            f"checkpoint '{path}' is not an s3prl converted checkpoint for {name}: "
            f"keys {missing} are missing (it has {sorted(map(str, state))}); "
            "write it with espnet2_ext.upstream or s3prl's convert.py"
        )
