"""Reading the audio a ``wav.scp`` value points to: a file, a ``cmd |`` pipe or an ark.

Shared by stage 3 (:mod:`espnet2_ext.recipe.format_wav`), the data-dir checks
(:mod:`espnet2_ext.recipe.data_checks`) and the units stage
(:mod:`espnet2_ext.bin.fit_units`).
"""

from typing import Optional, Tuple

import numpy as np
import soundfile


def is_plain_path(entry: str) -> bool:
    """Whether a ``wav.scp`` value is a file path (not a pipe or an ark offset)."""
    entry = entry.strip()
    if entry.endswith("|") or entry.startswith("ark:"):
        return False
    head, sep, tail = entry.rpartition(":")
    return not (sep and tail.isdigit() and head.endswith(".ark"))


def read_audio(entry: str) -> Tuple[np.ndarray, int]:
    """Reads a ``wav.scp`` value as float64 samples in [-1, 1].

    Args:
        entry: a file path, a ``cmd |`` pipe or an ark entry (``[ark:]foo.ark:123``).

    Returns:
        ``(samples (frames, channels), sample_rate)``.
    """
    entry = entry.strip()
    if is_plain_path(entry):
        samples, rate = soundfile.read(entry, dtype="float64", always_2d=True)
        return samples, int(rate)
    import kaldiio

    loaded = kaldiio.load_mat(entry[4:] if entry.startswith("ark:") else entry)
    if not isinstance(loaded, tuple):
        raise ValueError(
            f"'{entry}' holds a matrix of shape {np.shape(loaded)}, not audio: wav.scp"
            " must point to waveforms (use the audio the features were made from)"
        )
    rate, samples = loaded
    samples = np.asarray(samples)
    if np.issubdtype(samples.dtype, np.integer):
        samples = samples.astype(np.float64) / float(2 ** (8 * samples.itemsize - 1))
    else:
        samples = samples.astype(np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    return samples, int(rate)


def audio_info(entry: str) -> Optional[Tuple[int, int, int]]:
    """``(frames, sample_rate, channels)`` of a plain file without reading it.

    Returns None for pipes and ark entries (they have to be read).
    """
    if not is_plain_path(entry):
        return None
    info = soundfile.info(entry.strip())
    return int(info.frames), int(info.samplerate), int(info.channels)
