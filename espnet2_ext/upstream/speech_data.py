"""The utterances an upstream trains or is probed on: a Kaldi folder read into memory.

Reads ``<dir>/wav.scp`` (``<utt> <path of a 16 kHz mono wav>``, paths only: this
layer does not run pipes) and ``<dir>/text`` (``<utt> <English>``). The whole set is
held in memory (float32: an hour is 230 MB), which keeps training loops simple.
"""

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

SAMPLE_RATE = 16000


@dataclass
class Utterance:
    """One utterance: id, samples (S,) float32 in [-1, 1], English text."""

    utt: str
    wav: torch.Tensor
    text: str


def read_kaldi_map(path: Path) -> Dict[str, str]:
    """``<key> <value>`` lines of a Kaldi table, in file order."""
    out = {}
    for lineno, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"{path}:{lineno}: expected '<key> <value>': {line!r}")
        out[parts[0]] = parts[1].strip()
    return out


def dir_digest(data_dir: Path) -> bytes:
    """SHA-256 of a folder's utterances: ids, ``text`` and each wav's contents.

    The audio is hashed by content, not by its path in ``wav.scp``: the same speech
    written to another folder (another clone of a recipe: other absolute paths)
    gives the same digest, so the models and probes cached for it are found again.

    Raises:
        FileNotFoundError: a wav of ``wav.scp`` is missing (the message names it).
    """
    data_dir = Path(data_dir)
    h = hashlib.sha256(b"text\0" + (data_dir / "text").read_bytes())
    for utt, path in sorted(read_kaldi_map(data_dir / "wav.scp").items()):
        try:
            audio = Path(path).read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{data_dir}/wav.scp: {utt}: no such file {path}"
            ) from None
        h.update(f"\0{utt}\0".encode() + hashlib.sha256(audio).digest())
    return h.digest()


def load_dir(data_dir: Path, max_utts: Optional[int] = None) -> List[Utterance]:
    """Utterances of a Kaldi folder (``wav.scp`` + ``text``), sorted by id.

    Raises:
        ValueError: an utterance without text, or audio that is not 16 kHz mono.
    """
    import soundfile

    data_dir = Path(data_dir)
    wavs = read_kaldi_map(data_dir / "wav.scp")
    texts = read_kaldi_map(data_dir / "text")
    missing = sorted(set(wavs) - set(texts))
    if missing:
        raise ValueError(
            f"{data_dir}/text lacks {len(missing)} utterances: {missing[:3]}"
        )
    utts = []
    for utt in sorted(wavs)[:max_utts]:
        x, fs = soundfile.read(wavs[utt], dtype="float32", always_2d=True)
        if fs != SAMPLE_RATE or x.shape[1] != 1:
            raise ValueError(
                f"{wavs[utt]} ({data_dir}/wav.scp): {fs} Hz, {x.shape[1]} channels; "
                f"expected {SAMPLE_RATE} Hz mono"
            )
        utts.append(Utterance(utt, torch.from_numpy(x[:, 0].copy()), texts[utt]))
    return utts


def length_batches(
    lengths: Sequence[int], max_samples: int, seed: int
) -> List[List[int]]:
    """Batches of indices of similar length, ``len(batch) * longest <= max_samples``.

    Indices are sorted by length and cut greedily; the batch order is shuffled with
    ``seed`` (the same seed gives the same batches).
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches, cur = [], []
    for i in order:
        if cur and (len(cur) + 1) * lengths[i] > max_samples:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    random.Random(seed).shuffle(batches)
    return batches


def pad(wavs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Zero-padded batch (B, max S) of waveforms (S_i,)."""
    return torch.nn.utils.rnn.pad_sequence(list(wavs), batch_first=True)
