"""Real flite / espeak-ng synthesis through espnet2_ext.synth.tts."""

import numpy as np
import pytest
import soundfile

from espnet2_ext.synth import tts

SENTENCE = "Your primary email address must be verified."

needs_tools = pytest.mark.skipif(
    bool(tts.missing_tools()),
    reason=f"{tts.missing_tools()} not installed: "
    "sudo apt-get install -y flite espeak-ng (or tools/install_system_deps.sh)",
)


def test_resample_keeps_length_and_frequency():
    fs_in = 22050
    t = np.arange(fs_in) / fs_in
    y = tts.resample(np.sin(2 * np.pi * 440 * t), fs_in, 16000)
    assert len(y) == 16000
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * 16000 / len(y) - 440) <= 1.0


def test_synth_command_maps_rate_and_pitch():
    fl = tts.Voice("fl_slt_low", "flite", "slt", pitch=140)
    cmd, stdin = tts.synth_command(fl, "Hi there you", rate=1.25)
    assert stdin is None
    assert "duration_stretch=0.8000" in cmd and "int_f0_target_mean=140" in cmd
    assert cmd[-2:] == ["-t", "Hi there you"]
    es = tts.Voice("es_x", "espeak-ng", "en-us+m1", pitch=97)
    cmd, stdin = tts.synth_command(es, "-starts with a dash", rate=0.8, pitch_offset=5)
    assert cmd[cmd.index("-s") + 1] == "140"  # 175 wpm * 0.8
    assert cmd[cmd.index("-p") + 1] == "99"  # clipped
    assert stdin == b"-starts with a dash"  # via stdin: never parsed as an option


def test_voice_pools_are_disjoint_and_valid():
    train = {v.spk for v in tts.TRAIN_VOICES}
    held = {v.spk for v in tts.HELDOUT_VOICES}
    assert not train & held
    assert {v.engine for v in tts.HELDOUT_VOICES} == {"flite", "espeak-ng"}
    with pytest.raises(AssertionError):
        tts.Voice("Bad-Id", "flite", "slt")


@needs_tools
@pytest.mark.parametrize(
    "voice",
    [tts.TRAIN_VOICES[0], tts.HELDOUT_VOICES[2]],
    ids=lambda v: v.spk,
)
def test_synthesize_16k_mono_nonsilent_deterministic(voice, tmp_path):
    assert voice.engine in ("flite", "espeak-ng")
    dur = tts.synthesize(voice, SENTENCE, tmp_path / "a.wav")
    info = soundfile.info(str(tmp_path / "a.wav"))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert dur == pytest.approx(info.frames / 16000)
    assert 1.2 < dur < 6.0, dur  # 7 words
    x, _ = soundfile.read(str(tmp_path / "a.wav"))
    assert np.sqrt(np.mean(x**2)) > 0.01
    assert tts.wav_duration(tmp_path / "a.wav") == pytest.approx(dur)
    # byte-identical on a rerun
    tts.synthesize(voice, SENTENCE, tmp_path / "b.wav")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    # the rate is applied: faster is shorter
    fast = tts.synthesize(voice, SENTENCE, tmp_path / "c.wav", rate=1.4)
    assert fast < 0.9 * dur, (fast, dur)
    assert not list(tmp_path.glob(".*.tmp"))


def test_wav_duration_rejects_unfinished_or_wrong_files(tmp_path):
    assert tts.wav_duration(tmp_path / "missing.wav") is None
    (tmp_path / "trunc.wav").write_bytes(b"RIFF\x00\x00")
    assert tts.wav_duration(tmp_path / "trunc.wav") is None
    soundfile.write(str(tmp_path / "8k.wav"), np.zeros(800), 8000)
    assert tts.wav_duration(tmp_path / "8k.wav") is None


def test_ensure_tools_only_checks_and_names_the_command(monkeypatch):
    monkeypatch.setattr(tts.shutil, "which", lambda name: None)
    ran = []
    monkeypatch.setattr(tts.subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(tts.ToolMissingError) as e:
        tts.ensure_tools(["flite"])
    assert (
        str(e.value)
        == "flite not found; install it with: sudo apt-get install -y flite"
    )
    with pytest.raises(tts.ToolMissingError) as e:
        tts.ensure_tools()
    assert str(e.value) == (
        "flite, espeak-ng not found; install them with:"
        " sudo apt-get install -y flite espeak-ng"
    )
    assert ran == []  # nothing was run, apt-get least of all


def test_ensure_tools_present_is_silent(monkeypatch):
    monkeypatch.setattr(tts.shutil, "which", lambda name: f"/usr/bin/{name}")
    tts.ensure_tools()
