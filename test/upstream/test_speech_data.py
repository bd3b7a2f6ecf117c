"""The digest that keys the upstream and probe caches: the audio by content."""

import shutil

import pytest

from espnet2_ext.upstream.speech_data import dir_digest, read_kaldi_map


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


def test_the_same_speech_elsewhere_has_the_same_digest(tiny_speech_dir, tmp_path):
    other = _copy_elsewhere(tiny_speech_dir, tmp_path / "clone")
    assert (other / "wav.scp").read_text() != (tiny_speech_dir / "wav.scp").read_text()
    assert dir_digest(other) == dir_digest(tiny_speech_dir)


def test_other_audio_or_text_changes_the_digest(tiny_speech_dir, tmp_path):
    original = dir_digest(tiny_speech_dir)
    other = _copy_elsewhere(tiny_speech_dir, tmp_path / "audio")
    wav = other / "utt2.wav"
    data = bytearray(wav.read_bytes())
    data[-1] ^= 1  # one sample's lowest bit
    wav.write_bytes(bytes(data))
    assert dir_digest(other) != original

    other = _copy_elsewhere(tiny_speech_dir, tmp_path / "text")
    (other / "text").write_text((other / "text").read_text().replace("page", "Page"))
    assert dir_digest(other) != original


def test_a_missing_wav_is_named(tiny_speech_dir, tmp_path):
    other = _copy_elsewhere(tiny_speech_dir, tmp_path / "missing")
    (other / "utt1.wav").unlink()
    with pytest.raises(FileNotFoundError) as err:
        dir_digest(other)
    assert str(err.value) == (
        f"{other}/wav.scp: utt1: no such file {other / 'utt1.wav'}"
    )
