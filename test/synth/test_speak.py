"""speak_all: every utterance spoken once, complete wavs kept, errors named."""

import logging

import numpy as np
import pytest
import soundfile

from espnet2_ext.synth import speak as sp
from espnet2_ext.synth import tts
from espnet2_ext.utils.atomic import write_wav_atomic

VOICE = tts.Voice("es_us_m1", "espeak-ng", "en-us+m1", pitch=45)


def _jobs(folder):
    return [
        sp.SpeechJob("u1", VOICE, "Save the page now", folder / "a" / "u1.wav"),
        sp.SpeechJob("u2", VOICE, "Sign in", folder / "b" / "u2.wav", 1.1, -3),
        sp.SpeechJob("u3", VOICE, "Add a new user", folder / "a" / "u3.wav"),
    ]


@pytest.fixture
def fake_tts(monkeypatch):
    """A synthesiser writing 0.1 s per word, recording what it was asked."""
    calls = []

    def synthesize(voice, text, path, rate=1.0, pitch_offset=0):
        calls.append((voice, text, str(path), rate, pitch_offset))
        if "fail" in text:
            raise RuntimeError("espeak-ng failed (exit 1)")
        samples = np.full(1600 * len(text.split()), 0.1)
        write_wav_atomic(path, samples, tts.FS)
        return len(samples) / tts.FS

    monkeypatch.setattr(sp, "synthesize", synthesize)
    return calls


def test_speaks_every_job_in_order(fake_tts, tmp_path):
    jobs = _jobs(tmp_path)
    seconds = sp.speak_all(jobs, nj=1)
    assert list(seconds) == ["u1", "u2", "u3"]
    assert seconds == pytest.approx({"u1": 0.4, "u2": 0.2, "u3": 0.4})
    assert fake_tts == [
        (VOICE, "Save the page now", str(tmp_path / "a" / "u1.wav"), 1.0, 0),
        (VOICE, "Sign in", str(tmp_path / "b" / "u2.wav"), 1.1, -3),
        (VOICE, "Add a new user", str(tmp_path / "a" / "u3.wav"), 1.0, 0),
    ]


def test_resume_keeps_complete_wavs_and_removes_temporaries(fake_tts, tmp_path, caplog):
    jobs = _jobs(tmp_path)
    sp.speak_all(jobs, nj=1)
    kept = jobs[0].path.stat().st_mtime_ns
    jobs[1].path.unlink()
    jobs[2].path.write_bytes(b"RIFF")  # not a complete wav: spoken again
    stale = [
        tmp_path / "a" / ".u3.wav.x1.tmp",
        tmp_path / "b" / ".u2.wav.x2.raw.tmp",
    ]
    for path in stale:
        path.write_bytes(b"partial")
    other = tmp_path / "a" / "notes.txt"
    other.write_text("kept")
    fake_tts.clear()
    with caplog.at_level(logging.INFO):
        seconds = sp.speak_all(jobs, nj=1)
    assert "resuming: 2 of 3 wavs exist" in caplog.text
    assert [text for _, text, *_ in fake_tts] == ["Sign in", "Add a new user"]
    assert seconds == pytest.approx({"u1": 0.4, "u2": 0.2, "u3": 0.4})
    assert jobs[0].path.stat().st_mtime_ns == kept
    assert not any(path.exists() for path in stale) and other.exists()


def test_a_failure_names_the_utterance_and_its_wav(fake_tts, tmp_path):
    job = sp.SpeechJob("u9", VOICE, "this will fail", tmp_path / "u9.wav")
    with pytest.raises(RuntimeError) as e:
        sp.speak_all([job], nj=1)
    assert str(e.value) == (
        f"synthesis of u9 ({tmp_path / 'u9.wav'}) failed: espeak-ng failed (exit 1)"
    )


@pytest.mark.skipif(
    bool(tts.missing_tools(["espeak-ng"])),
    reason="espeak-ng not installed: sudo apt-get install -y espeak-ng",
)
def test_worker_processes_speak_as_one_process_does(tmp_path):
    serial = sp.speak_all(_jobs(tmp_path / "serial"), nj=1)
    jobs = _jobs(tmp_path / "pool")
    pooled = sp.speak_all(jobs, nj=2)
    assert pooled == serial
    for job in jobs:
        info = soundfile.info(str(job.path))
        assert (info.samplerate, info.channels) == (16000, 1)
        assert pooled[job.utt] == info.frames / 16000
        assert (
            job.path.read_bytes()
            == (
                tmp_path / "serial" / job.path.relative_to(tmp_path / "pool")
            ).read_bytes()
        )
