"""The utterances an upstream trains or is probed on: a Kaldi folder read into memory.

Reads ``<dir>/wav.scp`` (``<utt> <path of a 16 kHz mono wav>``, paths only: this
layer does not run pipes) and ``<dir>/text`` (``<utt> <English>``). The whole set is
held in memory (float32: an hour is 230 MB), which keeps training loops simple.
"""

import random
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import torch

from espnet2_ext.fileio.kaldi_io import read_kaldi_map
from espnet2_ext.fileio.stamp import file_digest, make_stamp

SAMPLE_RATE = 16000


@dataclass
class Utterance:
    """One utterance: id, samples (S,) float32 in [-1, 1], English text."""

    utt: str
    wav: torch.Tensor
    text: str


def dir_digest(data_dir: Path) -> str:
    """Fingerprint of a folder's utterances: ``text`` and each wav's contents by id.

    A :class:`~espnet2_ext.fileio.stamp.Stamp` of their digests (``file_digest``)
    named ``text`` and ``wav <utt>``. The audio is keyed by content, not by its path
    in ``wav.scp``: the same speech written to another folder (another clone of a
    recipe: other absolute paths) gives the same digest, so the models and probes
    cached for it are found again.

    Raises:
        FileNotFoundError: ``text`` or a wav of ``wav.scp`` is missing (the message
            names it).
        ValueError: a malformed line of ``wav.scp`` (naming ``path:line``).
    """
    data_dir = Path(data_dir)
    text = data_dir / "text"
    digests = {"text": file_digest(text)}
    if digests["text"] == "missing":
        raise FileNotFoundError(f"no such file {text}")
    for utt, path in read_kaldi_map(data_dir / "wav.scp").items():
        digest = file_digest(path)
        if digest == "missing":
            raise FileNotFoundError(f"{data_dir}/wav.scp: {utt}: no such file {path}")
        digests[f"wav {utt}"] = digest
    return make_stamp([], items=digests).fingerprint()


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
