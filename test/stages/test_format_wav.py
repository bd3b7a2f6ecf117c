import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet2_ext.fileio.kaldi_io import read_kaldi_map
from espnet2_ext.stages.format_wav import format_data_dir, main, resampled_length


def write_wav(path, samples, rate):
    soundfile.write(str(path), np.asarray(samples, dtype=np.int16), rate, "PCM_16")
    return path


def read_int16(path):
    samples, rate = soundfile.read(str(path), dtype="int16")
    return samples, rate


def make_dir(root, wavs, texts=None, utt2spk=None, segments=None):
    """A data dir with ``wav.scp`` lines in the given order (not sorted on purpose)."""
    src = root / "src"
    src.mkdir()
    (src / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in wavs.items()))
    if texts:
        (src / "text").write_text("".join(f"{k} {v}\n" for k, v in texts.items()))
    if utt2spk:
        (src / "utt2spk").write_text("".join(f"{k} {v}\n" for k, v in utt2spk.items()))
    if segments:
        (src / "segments").write_text("".join(line + "\n" for line in segments))
    return src


def ramp(n):
    return (np.arange(n) % 20000 - 10000).astype(np.int16)


def test_resample_downmix_and_copies(tmp_path, caplog):
    t = np.arange(8001) / 8000
    sine8k = np.round(10000 * np.sin(2 * np.pi * 440 * t))
    rng = np.random.default_rng(0)
    stereo = rng.integers(-8000, 8000, size=(4000, 2)) * 2  # even: exact mean
    mono = ramp(3000)
    wavs = {
        "c_mono": write_wav(tmp_path / "m.wav", mono, 16000),
        "a_8k": write_wav(tmp_path / "a.wav", sine8k, 8000),
        "b_st": write_wav(tmp_path / "b.wav", stereo, 16000),
    }
    src = make_dir(
        tmp_path,
        wavs,
        texts={"a_8k": "hello", "b_st": "world", "c_mono": "x"},
        utt2spk={"a_8k": "s1", "b_st": "s2", "c_mono": "s1"},
    )
    dst = tmp_path / "dst"
    with caplog.at_level(logging.INFO):
        report = format_data_dir(src, dst)
    assert "resampled 1 file from 8000 Hz" in caplog.text
    assert "downmixed 1 stereo file" in caplog.text
    assert (report.resampled, report.downmixed) == ({8000: 1}, {2: 1})
    assert (report.num_utterances, report.num_written, report.num_kept) == (3, 3, 0)

    out, rate = read_int16(dst / "data" / "a_8k.wav")
    assert rate == 16000 and out.ndim == 1
    assert abs(len(out) - 2 * 8001) <= 1
    assert len(out) == resampled_length(8001, 8000, 16000) == 16002
    t16 = np.arange(len(out)) / 16000
    expected = 10000 * np.sin(2 * np.pi * 440 * t16)
    assert np.abs(out[200:-200] - expected[200:-200]).max() < 100  # same sine

    out, _ = read_int16(dst / "data" / "b_st.wav")
    np.testing.assert_array_equal(out, stereo.sum(axis=1) // 2)
    out, _ = read_int16(dst / "data" / "c_mono.wav")
    np.testing.assert_array_equal(out, mono)

    wav_scp = read_kaldi_map(dst / "wav.scp")
    assert list(wav_scp) == ["a_8k", "b_st", "c_mono"]  # sorted
    assert wav_scp["b_st"] == str((dst / "data" / "b_st.wav").resolve())
    assert read_kaldi_map(dst / "utt2num_samples") == {
        "a_8k": "16002",
        "b_st": "4000",
        "c_mono": "3000",
    }
    assert (dst / "text").read_text() == "a_8k hello\nb_st world\nc_mono x\n"
    assert (dst / "spk2utt").read_text() == "s1 a_8k c_mono\ns2 b_st\n"
    assert (dst / ".done").exists()


def test_strict_errors_name_file_and_line(tmp_path):
    good = write_wav(tmp_path / "g.wav", ramp(1600), 16000)
    low = write_wav(tmp_path / "l.wav", ramp(800), 8000)
    st = write_wav(tmp_path / "s.wav", np.stack([ramp(1600)] * 2, axis=1), 16000)
    src = make_dir(tmp_path, {"g": good, "l": low})
    with pytest.raises(ValueError) as e:
        format_data_dir(src, tmp_path / "o1", strict=True)
    assert f"{src / 'wav.scp'}:2" in str(e.value)
    assert str(low) in str(e.value) and "8000 Hz" in str(e.value)
    (src / "wav.scp").write_text(f"g {good}\nx {good}\ns {st}\n")
    with pytest.raises(ValueError) as e:
        main([str(src), str(tmp_path / "o2"), "--strict"])
    assert f"{src / 'wav.scp'}:3" in str(e.value) and "2 channels" in str(e.value)
    assert not (tmp_path / "o2" / ".done").exists()


def test_missing_audio_names_line(tmp_path):
    good = write_wav(tmp_path / "g.wav", ramp(1600), 16000)
    src = make_dir(tmp_path, {"g": good, "m": tmp_path / "missing.wav"})
    with pytest.raises(RuntimeError) as e:
        format_data_dir(src, tmp_path / "out")
    assert f"{src / 'wav.scp'}:2" in str(e.value) and "missing.wav" in str(e.value)


def test_segments_cut_exact_sample_ranges(tmp_path):
    rec = ramp(48000)  # 3 s at 16 kHz
    rec8k = ramp(16000)  # 2 s at 8 kHz
    src = make_dir(
        tmp_path,
        {
            "rec1": write_wav(tmp_path / "r.wav", rec, 16000),
            "rec2": write_wav(tmp_path / "r8.wav", rec8k, 8000),
        },
        texts={"u1": "a", "u2": "b", "u3": "c"},
        segments=["u1 rec1 0.5 1.25", "u2 rec1 2.0 -1", "u3 rec2 0.5 1.5"],
    )
    report = format_data_dir(src, tmp_path / "dst")
    data = tmp_path / "dst" / "data"
    np.testing.assert_array_equal(read_int16(data / "u1.wav")[0], rec[8000:20000])
    np.testing.assert_array_equal(read_int16(data / "u2.wav")[0], rec[32000:])
    assert len(read_int16(data / "u3.wav")[0]) == 16000  # 4000 samples at 8k -> 16k
    assert read_kaldi_map(tmp_path / "dst" / "utt2num_samples") == {
        "u1": "12000",
        "u2": "16000",
        "u3": "16000",
    }
    assert report.resampled == {8000: 1} and report.num_utterances == 3


@pytest.mark.parametrize(
    "bad", ["u2 rec1 2.5 4.0", "u2 rec1 3.5 3.6", "u2 rec1 1.0 0.5", "u2 nope 0 1"]
)
def test_segment_out_of_range_names_segments_line(tmp_path, bad):
    src = make_dir(
        tmp_path,
        {"rec1": write_wav(tmp_path / "r.wav", ramp(48000), 16000)},
        segments=["u1 rec1 0.0 1.0", bad],
    )
    with pytest.raises(ValueError) as e:
        format_data_dir(src, tmp_path / "dst")
    assert f"{src / 'segments'}:2" in str(e.value)


def test_overshoot_within_limit_is_clipped(tmp_path):
    src = make_dir(
        tmp_path,
        {"rec1": write_wav(tmp_path / "r.wav", ramp(48000), 16000)},
        segments=["u1 rec1 2.0 3.2"],
    )
    report = format_data_dir(src, tmp_path / "dst")
    assert report.clipped_segments == 1
    assert read_kaldi_map(tmp_path / "dst" / "utt2num_samples") == {"u1": "16000"}


def stats(data_dir):
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in data_dir.iterdir()}


def test_resumable_and_done_marker(tmp_path, caplog):
    wavs = {
        f"u{i}": write_wav(tmp_path / f"{i}.wav", ramp(1600 * (i + 1)), 8000)
        for i in range(3)
    }
    src = make_dir(tmp_path, wavs)
    dst = tmp_path / "dst"
    data = dst / "data"
    assert format_data_dir(src, dst).num_written == 3
    before = stats(data)

    # Interrupted after the wavs (no .done): nothing is rewritten.
    (dst / ".done").unlink()
    report = format_data_dir(src, dst)
    assert (report.num_written, report.num_kept) == (0, 3)
    assert stats(data) == before
    assert report.resampled == {8000: 3}

    # Interrupted mid-write: u1 missing with a half-written tmp, u2 truncated.
    (data / "u1.wav").unlink()
    (data / ".u1.wav.tmp").write_bytes(b"RIFF\x00\x00")
    (data / ".zz.wav.tmp").write_bytes(b"RIFF")  # stale, of no utterance
    write_wav(data / "u2.wav", ramp(100), 16000)
    (dst / ".done").unlink()
    report = format_data_dir(src, dst)
    assert (report.num_written, report.num_kept) == (2, 1)
    assert sorted(p.name for p in data.iterdir()) == ["u0.wav", "u1.wav", "u2.wav"]
    assert stats(data)["u0.wav"] == before["u0.wav"]
    for i in range(3):
        assert soundfile.info(str(data / f"u{i}.wav")).frames == 3200 * (i + 1)

    # Finished: skipped whole.
    after = stats(data)
    scp_mtime = (dst / "wav.scp").stat().st_mtime_ns
    with caplog.at_level(logging.INFO):
        main([str(src), str(dst)])
    assert f"{dst} already formatted - skipping" in caplog.text
    report = format_data_dir(src, dst)
    assert report.already_done and report.num_utterances == 3
    assert stats(data) == after
    assert (dst / "wav.scp").stat().st_mtime_ns == scp_mtime


def test_pipes_arks_and_parallel_jobs(tmp_path):
    import kaldiio

    a = write_wav(tmp_path / "a.wav", ramp(1600), 16000)
    b = write_wav(tmp_path / "b.wav", np.stack([ramp(800)] * 2, axis=1), 8000)
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/x.ark,{tmp_path}/x.scp") as w:
        w["c"] = (16000, ramp(2400))
    ark_entry = read_kaldi_map(tmp_path / "x.scp")["c"]
    src = make_dir(
        tmp_path,
        {"a": f"cat {a} |", "b": f"cat {b} |", "c": f"ark:{ark_entry}", "d": a},
    )
    report = format_data_dir(src, tmp_path / "dst", nj=2)
    assert report.num_written == 4
    assert (report.resampled, report.downmixed) == ({8000: 1}, {2: 1})
    data = tmp_path / "dst" / "data"
    np.testing.assert_array_equal(read_int16(data / "a.wav")[0], ramp(1600))
    np.testing.assert_array_equal(read_int16(data / "c.wav")[0], ramp(2400))
    np.testing.assert_array_equal(read_int16(data / "d.wav")[0], ramp(1600))
    assert soundfile.info(str(data / "b.wav")).frames == 1600


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """``data/train`` (relative, as stage 3 passes it); its audio does not exist, so
    any message about it would show that audio was touched before validation."""
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "data" / "train"
    d.mkdir(parents=True)
    (d / "wav.scp").write_text("u1 /no/u1.wav\nu2 /no/u2.wav\n")
    (d / "text.en").write_text("u1 hello\nu2 bye\n")
    (d / "text.de").write_text("u1 hallo\nu2 tschüss\n", encoding="utf-8")
    (d / "utt2spk").write_text("u1 s1\nu2 s2\n")
    return d


def run_stage3(caplog):
    """Runs the stage 3 entry on ``data/train``; returns its one logged message."""
    with pytest.raises(SystemExit) as e:
        main(["data/train", "dump/raw/org/train"])
    assert e.value.code == (
        "data/train: 1 problem(s) in the data dir, nothing formatted - fix them (see"
        " above) and rerun stage 3"
    )
    assert not Path("dump").exists()
    (message,) = caplog.messages
    return message


def test_extra_id_in_text_de_is_an_error(user_dir, caplog):
    (user_dir / "text.de").write_text("u1 hallo\nu2 tschüss\nu3 extra\n")
    assert (
        "data/train: 1 problem(s) found:\n  data/train/text.de:3: id 'u3' is not in"
        " wav.scp (text.de has 3 lines, wav.scp 2) - remove the line or add the"
        " utterance"
    ) == run_stage3(caplog)


def test_utt2spk_missing_an_id_is_an_error(user_dir, caplog):
    (user_dir / "utt2spk").write_text("u1 s1\n")
    assert (
        "data/train: 1 problem(s) found:\n"
        "  data/train/utt2spk:2: no line for utterance 'u2' (wav.scp:2; utt2spk has 1"
        " lines, wav.scp 2) - add its utt2spk line or remove it from wav.scp"
    ) == run_stage3(caplog)


def test_invalid_utf8_names_file_and_line(user_dir, caplog):
    (user_dir / "text.de").write_bytes("u1 hallo\nu2 tschüss\n".encode("latin-1"))
    assert (
        "data/train: 1 problem(s) found:\n"
        "  data/train/text.de:2: not valid UTF-8 (byte 0xfc at column 8) - re-encode"
        " the file as UTF-8, e.g. iconv -f latin1 -t utf-8"
    ) == run_stage3(caplog)


def test_cli_exit_status_and_no_traceback(user_dir):
    (user_dir / "text.de").write_text("u1 hallo\nu2 tschüss\nu3 extra\n")
    (user_dir / "utt2spk").write_text("u1 s1\n")
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2_ext.stages.format_wav", "data/train", "out"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "data/train: 2 problem(s) found:" in proc.stderr
    assert proc.stderr.endswith(
        "data/train: 2 problem(s) in the data dir, nothing formatted - fix them (see"
        " above) and rerun stage 3\n"
    )
    assert not Path("out").exists()


REPO = Path(__file__).resolve().parents[2]


def run_cli(*args, env=None, timeout=120):
    """Stage 3's entry as the shell runs it; returns the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "espnet2_ext.stages.format_wav", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        timeout=timeout,
    )


@pytest.fixture
def audio_dir(tmp_path, monkeypatch):
    """``data/train`` (relative) with four 0.1 s wavs u1..u4 and their texts."""
    monkeypatch.chdir(tmp_path)
    d = Path("data") / "train"
    d.mkdir(parents=True)
    wavs = {
        f"u{i}": write_wav(tmp_path / f"u{i}.wav", ramp(1600), 16000) for i in "1234"
    }
    (d / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in wavs.items()))
    (d / "text.de").write_text("".join(f"{k} satz {k}\n" for k in wavs))
    return d


def truncate(path: Path, size: int = 100) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:size])


def test_a_truncated_wav_is_an_error_naming_its_line(audio_dir, tmp_path):
    truncate(tmp_path / "u3.wav")  # header 44 bytes + 28 samples of 1600
    with pytest.raises(ValueError) as e:
        format_data_dir(audio_dir, Path("dump/org/train"))
    assert str(e.value) == (
        f"data/train/wav.scp:3: '{tmp_path}/u3.wav' of 'u3' is truncated: its header"
        " declares 1600 samples but the file holds 28 - replace the file, or pass"
        " --drop_truncated to drop such recordings (counted in the log)"
    )
    assert not Path("dump/org/train/.done").exists()


def test_drop_truncated_drops_and_counts(audio_dir, tmp_path, caplog):
    truncate(tmp_path / "u3.wav")
    dst = Path("dump/org/train")
    with caplog.at_level(logging.INFO):
        report = format_data_dir(audio_dir, dst, drop_truncated=True)
    assert (report.num_utterances, report.dropped_truncated) == (3, 1)
    assert list(read_kaldi_map(dst / "wav.scp")) == ["u1", "u2", "u4"]
    assert list(read_kaldi_map(dst / "text.de")) == ["u1", "u2", "u4"]
    assert (
        "dropped 1 truncated recording (--drop_truncated); first:"
        " data/train/wav.scp:3: its header declares 1600 samples but the file holds 28"
    ) in caplog.messages


def test_a_short_but_complete_wav_is_not_truncated(audio_dir, tmp_path):
    write_wav(tmp_path / "u3.wav", ramp(28), 16000)
    report = format_data_dir(audio_dir, Path("dump/org/train"))
    assert report.num_utterances == 4 and report.dropped_truncated == 0


def test_a_pipe_that_exits_non_zero_is_an_error(audio_dir, tmp_path):
    scp = audio_dir / "wav.scp"
    lines = scp.read_text().splitlines()
    lines[1] = f"u2 cat {tmp_path}/u2.wav; echo 'sox FAIL' >&2; exit 3 |"
    scp.write_text("\n".join(lines) + "\n")
    with pytest.raises(RuntimeError) as e:
        format_data_dir(audio_dir, Path("dump/org/train"))
    assert str(e.value) == (
        f"data/train/wav.scp:2: the audio command of 'u2' failed: command 'cat"
        f" {tmp_path}/u2.wav; echo 'sox FAIL' >&2; exit 3' exited with status 3:"
        " sox FAIL - fix the command (its output is not used)"
    )


def test_cli_error_is_two_lines_printed_once_with_two_jobs(audio_dir, tmp_path):
    truncate(tmp_path / "u3.wav")
    proc = run_cli("data/train", "dump/org/train", "--nj", "2")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-2:] == [
        f"espnet2_ext: error: data/train/wav.scp:3: '{tmp_path}/u3.wav' of 'u3' is"
        " truncated: its header declares 1600 samples but the file holds 28 - replace"
        " the file, or pass --drop_truncated to drop such recordings (counted in the"
        " log)",
        "  (for the traceback, rerun with ESPNET2_EXT_VERBOSE=1)",
    ]
    assert proc.stderr.count("is truncated") == 1
    assert "Traceback" not in proc.stderr
    verbose = run_cli("data/train", "dump/org/train", env={"ESPNET2_EXT_VERBOSE": "1"})
    assert verbose.returncode == 1
    assert "Traceback (most recent call last)" in verbose.stderr
    assert verbose.stderr.rstrip().endswith(
        "replace the file, or pass --drop_truncated to drop such recordings (counted"
        " in the log)"
    )


def test_a_killed_worker_ends_the_stage_at_once_naming_its_job(audio_dir, tmp_path):
    scp = audio_dir / "wav.scp"
    lines = scp.read_text().splitlines()
    lines[2] = "u3 kill -9 $PPID |"  # the shell's parent is the worker process
    scp.write_text("\n".join(lines) + "\n")
    start = time.monotonic()
    proc = run_cli("data/train", "dump/org/train", "--nj", "2", timeout=120)
    # seconds: the spawned workers' imports, not a hang
    assert time.monotonic() - start < 60
    assert proc.returncode == 1, proc.stderr
    (error,) = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert error.startswith(
        "espnet2_ext: error: a worker process died while running"
        " data/train/wav.scp:3 ('u3') (pid "
    )
    assert error.endswith(
        ", killed by SIGKILL) - its outputs are incomplete and are redone on a rerun;"
        " if it was killed for memory, lower --nj"
    )
    assert not Path("dump/org/train/.done").exists()


def test_changed_inputs_are_formatted_again_keeping_what_is_unchanged(
    audio_dir, tmp_path, caplog
):
    dst = Path("dump/org/train")
    format_data_dir(audio_dir, dst)
    kept = {p.name: p.stat().st_mtime_ns for p in (dst / "data").iterdir()}

    (audio_dir / "text.de").write_text("u1 satz u1\nu2 fixed\nu3 satz u3\nu4 satz u4\n")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        report = format_data_dir(audio_dir, dst)
    assert (
        "dump/org/train: data/train/text.de changed since it was made - formatting"
        " again"
    ) in caplog.messages
    assert (report.num_written, report.num_kept) == (0, 4)
    assert read_kaldi_map(dst / "text.de")["u2"] == "fixed"

    write_wav(tmp_path / "u4.wav", -ramp(1600), 16000)  # same length, new samples
    caplog.clear()
    with caplog.at_level(logging.INFO):
        report = format_data_dir(audio_dir, dst)
    assert (
        "dump/org/train: audio of 'u4' changed since it was made - formatting again"
        in caplog.messages
    )
    assert (report.num_written, report.num_kept) == (1, 3)
    np.testing.assert_array_equal(read_int16(dst / "data" / "u4.wav")[0], -ramp(1600))
    after = {p.name: p.stat().st_mtime_ns for p in (dst / "data").iterdir()}
    assert {k: v for k, v in after.items() if k != "u4.wav"} == {
        k: v for k, v in kept.items() if k != "u4.wav"
    }

    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert format_data_dir(audio_dir, dst).already_done
    assert caplog.messages == ["dump/org/train already formatted - skipping"]
