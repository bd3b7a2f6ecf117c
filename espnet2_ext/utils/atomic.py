"""Files written whole or not at all: a temporary file next to the target, renamed.

Readers (and a re-run after an interruption) see either no file, the old file or the
complete new one, never a partial write. Temporary files are named
``.<name>.<random>.tmp`` in the target's directory, so :func:`stale_temporaries` can
find what a killed run left behind.
"""

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, List, Sequence, Union

import numpy as np

PathLike = Union[str, Path]


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yields a temporary path to write; renames it to ``path`` if the block succeeds.

    On an exception the temporary file is removed and ``path`` is left as it was. The
    file gets the mode a plain ``open`` would give it (``mkstemp``'s is 0600). Missing
    parent directories are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: PathLike, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_lines_if_changed(path: PathLike, lines: Sequence[str]) -> bool:
    """Writes ``lines`` (each ended by a newline) atomically, unless ``path`` holds
    them already; returns whether it wrote (a re-run changes no file or mtime)."""
    path = Path(path)
    content = "".join(line + "\n" for line in lines)
    if path.is_file() and path.read_bytes() == content.encode("utf-8"):
        return False
    write_text_atomic(path, content)
    return True


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as int16 (the rare overshoot of resampling clipped)."""
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)


def write_wav_atomic(path: PathLike, samples: np.ndarray, fs: int) -> None:
    """Writes float ``samples`` (T,) in [-1, 1] as a mono PCM16 wav, atomically."""
    import soundfile

    with atomic_path(path) as tmp:
        soundfile.write(str(tmp), to_pcm16(samples), fs, subtype="PCM_16", format="WAV")


def stale_temporaries(directory: PathLike, pattern: str = "*") -> List[Path]:
    """Temporaries in ``directory`` of targets matching ``pattern`` (e.g. ``*.wav``).

    Also finds the older ``.<name>.tmp`` form.
    """
    return sorted(Path(directory).glob(f".{pattern}*.tmp"))
