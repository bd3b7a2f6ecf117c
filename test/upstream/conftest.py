"""A tiny Kaldi folder of synthetic speech for the upstream-training tests."""

import shutil

import numpy as np
import pytest
import soundfile

from espnet2_ext.fileio.kaldi_io import read_kaldi_map

TEXTS = [
    "Change your password.",
    "Sign in to your account.",
    "The page was not found.",
    "Save and continue editing.",
]


@pytest.fixture(scope="session")
def tiny_speech_dir(tmp_path_factory):
    """4 utterances of 0.6-1.2 s (voiced-like harmonic noise) with English text."""
    d = tmp_path_factory.mktemp("speech")
    rng = np.random.default_rng(0)
    scp, text = [], []
    for i, sentence in enumerate(TEXTS):
        n = 9600 + 3200 * i
        t = np.arange(n) / 16000
        f0 = 120 + 40 * np.sin(2 * np.pi * (0.5 + i) * t)
        x = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / 16000) / k for k in (1, 2, 3))
        x = 0.2 * x * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.normal(
            size=n
        )
        path = d / f"utt{i}.wav"
        soundfile.write(path, x.astype(np.float32), 16000, subtype="PCM_16")
        scp.append(f"utt{i} {path}")
        text.append(f"utt{i} {sentence}")
    (d / "wav.scp").write_text("\n".join(scp) + "\n")
    (d / "text").write_text("\n".join(text) + "\n")
    return d


def _copy_elsewhere(src, dst):
    """The same speech under another folder: wav.scp names the new absolute paths."""
    dst.mkdir()
    lines = []
    for utt, path in read_kaldi_map(src / "wav.scp").items():
        shutil.copy2(path, dst / f"{utt}.wav")
        lines.append(f"{utt} {dst / f'{utt}.wav'}")
    (dst / "wav.scp").write_text("\n".join(lines) + "\n")
    shutil.copy2(src / "text", dst / "text")
    return dst


@pytest.fixture
def copy_elsewhere():
    """``copy(src, dst)``: the Kaldi folder ``src`` copied to the new folder ``dst``,
    its wavs too (``wav.scp`` names the new paths); returns ``dst``."""
    return _copy_elsewhere
