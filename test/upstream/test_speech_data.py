"""The digest that keys the upstream and probe caches: the audio by content."""

import pytest

from espnet2_ext.upstream.speech_data import dir_digest


def test_the_same_speech_elsewhere_has_the_same_digest(
    tiny_speech_dir, tmp_path, copy_elsewhere
):
    other = copy_elsewhere(tiny_speech_dir, tmp_path / "clone")
    assert (other / "wav.scp").read_text() != (tiny_speech_dir / "wav.scp").read_text()
    assert dir_digest(other) == dir_digest(tiny_speech_dir)


def test_other_audio_or_text_changes_the_digest(
    tiny_speech_dir, tmp_path, copy_elsewhere
):
    original = dir_digest(tiny_speech_dir)
    other = copy_elsewhere(tiny_speech_dir, tmp_path / "audio")
    wav = other / "utt2.wav"
    data = bytearray(wav.read_bytes())
    data[-1] ^= 1  # one sample's lowest bit
    wav.write_bytes(bytes(data))
    assert dir_digest(other) != original

    other = copy_elsewhere(tiny_speech_dir, tmp_path / "text")
    (other / "text").write_text((other / "text").read_text().replace("page", "Page"))
    assert dir_digest(other) != original


def test_a_missing_wav_is_named(tiny_speech_dir, tmp_path, copy_elsewhere):
    other = copy_elsewhere(tiny_speech_dir, tmp_path / "missing")
    (other / "utt1.wav").unlink()
    with pytest.raises(FileNotFoundError) as err:
        dir_digest(other)
    assert str(err.value) == (
        f"{other}/wav.scp: utt1: no such file {other / 'utt1.wav'}"
    )


def test_ids_count_and_a_missing_text_is_named(
    tiny_speech_dir, tmp_path, copy_elsewhere
):
    original = dir_digest(tiny_speech_dir)
    other = copy_elsewhere(tiny_speech_dir, tmp_path / "swapped")
    scp = (other / "wav.scp").read_text()
    swapped = scp.replace("utt0.wav", "utt.tmp").replace("utt1.wav", "utt0.wav")
    (other / "wav.scp").write_text(swapped.replace("utt.tmp", "utt1.wav"))
    assert dir_digest(other) != original  # the same audio under other ids
    (other / "text").unlink()
    with pytest.raises(FileNotFoundError, match=f"no such file {other / 'text'}$"):
        dir_digest(other)
