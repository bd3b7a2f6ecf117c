"""checked_wav_info: the length of a complete wav, or what is wrong with it."""

import numpy as np
import soundfile

from espnet2_ext.fileio.audio_io import checked_wav_info


def _wav(path, frames: int, rate: int = 16000):
    noise = np.random.default_rng(0).uniform(-0.1, 0.1, frames)
    soundfile.write(path, noise, rate, subtype="PCM_16")
    return path


def test_complete_wav_gives_frames_and_rate(tmp_path):
    path = _wav(tmp_path / "a.wav", 12345, 8000)
    assert checked_wav_info(path) == ((12345, 8000), None)


def test_missing_and_unreadable(tmp_path):
    assert checked_wav_info(tmp_path / "none.wav") == (None, "not found")
    assert checked_wav_info(tmp_path) == (None, "not found")  # a folder is no file
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is no wav file at all")
    info, problem = checked_wav_info(garbage)
    assert info is None and problem.startswith("not readable by soundfile (")


def test_truncated_copy_is_not_a_short_wav(tmp_path):
    path = _wav(tmp_path / "cut.wav", 16000)
    path.write_bytes(path.read_bytes()[:-1000])  # 500 of the 16000 samples lost
    assert checked_wav_info(path) == (
        None,
        "truncated (its header declares 16000 samples but the file holds 15500)",
    )
