"""Reading the audio a ``wav.scp`` value points to: a file, a ``cmd |`` pipe or an ark.

Audio is checked, not just read:

- a ``cmd |`` entry runs through the shell, and a command that exits non-zero is an
  error (:class:`AudioPipeError`) even when it wrote audio first;
- :func:`wav_header_frames` reads the frame count a RIFF/WAVE header declares, so a
  file cut short (a partial copy) can be told from a short recording: libsndfile
  reads what is there and reports no error.

Shared by stage 3 (:mod:`espnet2_ext.stages.format_wav`), the data-dir checks
(:mod:`espnet2_ext.fileio.data_checks`), the units stage
(:mod:`espnet2_ext.stages.fit_units`) and the real-corpus data preps
(:func:`checked_wav_info`).
"""

import hashlib
import io
import os
import shlex
import stat
import struct
import subprocess
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import soundfile

# Data chunk sizes that mean "unknown" (a header written before the length was known,
# as by a program streaming to a pipe).
_UNKNOWN_SIZES = (0, 0xFFFFFFFF, 0x7FFFF000, 0x7FFFFFFF)


class AudioPipeError(RuntimeError):
    """A ``cmd |`` entry of ``wav.scp`` exited with a non-zero status."""


def is_plain_path(entry: str) -> bool:
    """Whether a ``wav.scp`` value is a file path (not a pipe or an ark offset)."""
    entry = entry.strip()
    if entry.endswith("|") or entry.startswith("ark:"):
        return False
    head, sep, tail = entry.rpartition(":")
    return not (sep and tail.isdigit() and head.endswith(".ark"))


def audio_signature(entry: str) -> str:
    """What identifies the audio of a ``wav.scp`` value without reading it.

    Returns:
        A digest of the value and of the size and modification time of the files it
        names: the file, the ark, or the existing files among a command's words.
    """
    entry = entry.strip()
    if is_plain_path(entry):
        paths = [entry]
    elif entry.endswith("|"):
        try:
            paths = shlex.split(entry[:-1])
        except ValueError:  # unbalanced quotes: the command string alone
            paths = []
    else:  # [ark:]foo.ark:123
        paths = [entry.removeprefix("ark:").rpartition(":")[0]]
    parts = [entry]
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            parts.append(f"{path} {st.st_size} {st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


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
    if entry.endswith("|"):
        data = run_pipe(entry)
        samples, rate = soundfile.read(
            io.BytesIO(data), dtype="float64", always_2d=True
        )
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


def run_pipe(entry: str) -> bytes:
    """The stdout of a ``cmd |`` entry, run with ``/bin/sh`` as Kaldi does.

    Raises:
        AudioPipeError: the command exited non-zero; the message has the status and
            the last line the command wrote to stderr.
    """
    command = entry.strip()[:-1].strip()
    proc = subprocess.run(command, shell=True, capture_output=True)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        said = f": {stderr[-1]}" if stderr else ""
        raise AudioPipeError(
            f"command '{command}' exited with status {proc.returncode}{said}"
        )
    return proc.stdout


def wav_header_frames(path: Path) -> Optional[int]:
    """Frames declared by the ``data`` chunk of a RIFF/WAVE file's header.

    Args:
        path: an audio file.

    Returns:
        ``data size // block align``, or None when ``path`` is not a RIFF/WAVE file,
        its header has no ``fmt``/``data`` chunk before the end, or the size is a
        placeholder (0 or 0xFFFFFFFF, written by streaming programs).
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"fmt ":
                fmt = f.read(size + (size & 1))
                if len(fmt) < 14:
                    return None
                block_align = struct.unpack("<H", fmt[12:14])[0]
            elif name == b"data":
                if block_align in (None, 0) or size in _UNKNOWN_SIZES:
                    return None
                return size // block_align
            else:
                f.seek(size + (size & 1), io.SEEK_CUR)


def truncation(path: Path, frames: int) -> Optional[str]:
    """What is wrong with a wav file whose header declares more than ``frames``.

    Args:
        path: the file.
        frames: the frame count libsndfile reads from it.

    Returns:
        ``"its header declares N samples but the file holds M"``, or None when the
        header agrees (or declares nothing usable).
    """
    declared = wav_header_frames(Path(path))
    if declared is None or declared <= frames:
        return None
    return f"its header declares {declared} samples but the file holds {frames}"


def checked_wav_info(path: Path) -> Tuple[Optional[Tuple[int, int]], Optional[str]]:
    """The length of a complete audio file, from its header, or what is wrong with it.

    Args:
        path: the audio file (a wav of a corpus release).

    Returns:
        ``((frames, sample_rate), None)``, or ``(None, problem)`` with problem
        ``"not found"``, ``"not readable by soundfile (<error>)"`` or ``"truncated
        (<what>)"`` (:func:`truncation`: a partial copy whose header declares more
        samples than the file holds).
    """
    path = Path(path)
    if not path.is_file():
        return None, "not found"
    try:
        info = soundfile.info(str(path))
    except Exception as e:  # noqa: BLE001 - reported with the line naming the file
        return None, f"not readable by soundfile ({e})"
    frames = int(info.frames)
    cut = truncation(path, frames)
    if cut:
        return None, f"truncated ({cut})"
    return (frames, int(info.samplerate)), None
