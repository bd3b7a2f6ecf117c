import logging

import numpy as np
import pytest
import soundfile

from espnet2_ext.fileio.data_checks import (
    DataDirError,
    check_data_dir,
    check_kaldi_files,
    main,
)
from espnet2_ext.fileio.kaldi_io import read_kaldi_map


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


@pytest.fixture
def data_dir(tmp_path):
    """4 utterances: three 16 kHz mono of 1, 2, 3 s, one 8 kHz stereo of 0.5 s."""
    d = tmp_path / "data"
    d.mkdir()
    wavs = []
    for i, (seconds, rate, ch) in enumerate(
        [(1, 16000, 1), (2, 16000, 1), (3, 16000, 1)]
    ):
        path = tmp_path / f"u{i}.wav"
        soundfile.write(str(path), np.zeros((seconds * rate, ch)), rate, "PCM_16")
        wavs.append(f"u{i} {path}")
    stereo = tmp_path / "u3.wav"
    soundfile.write(str(stereo), np.zeros((4000, 2)), 8000, "PCM_16")
    wavs.append(f"u3 {stereo}")
    write_lines(d / "wav.scp", wavs)
    write_lines(d / "text.en", ["u0 hello", "u1 good morning", "u2 yes", "u3 bye"])
    write_lines(d / "text.de", ["u0 hallo", "u1 guten Morgen", "u2 ja", "u3 tschüss"])
    write_lines(d / "utt2spk", ["u0 s1", "u1 s2", "u2 s1", "u3 s2"])
    return d


def test_happy_path_report(data_dir):
    report = check_data_dir(data_dir, ["text.en", "text.de"])
    assert report.data_dir == data_dir
    assert (report.num_utterances, report.num_recordings) == (4, 4)
    assert report.num_empty_filtered == 0
    assert report.total_duration == pytest.approx(6.5, abs=1e-9)
    assert report.sample_rates == {16000: 3, 8000: 1}
    assert report.channels == {1: 3, 2: 1}
    assert report.text_files == ["text.en", "text.de"]


def test_text_with_one_line_fewer_names_file_line_and_id(data_dir):
    write_lines(data_dir / "text.de", ["u0 hallo", "u1 guten Morgen", "u3 tschüss"])
    with pytest.raises(DataDirError) as e:
        check_data_dir(data_dir, ["text.en", "text.de"])
    assert len(e.value.problems) == 1
    msg = e.value.problems[0]
    assert msg.startswith(f"{data_dir / 'text.de'}:3: no line for utterance 'u2'")
    assert "wav.scp:3" in msg and "text.de has 3 lines, wav.scp 4" in msg


def test_extra_text_id_names_its_line(data_dir):
    write_lines(
        data_dir / "text.en", ["u0 a", "u1 b", "u2 c", "u3 d", "u9 not in wav.scp"]
    )
    with pytest.raises(DataDirError) as e:
        check_data_dir(data_dir, ["text.en"])
    assert e.value.problems[0].startswith(
        f"{data_dir / 'text.en'}:5: id 'u9' is not in wav.scp"
    )


def test_missing_and_unreadable_audio_name_wav_scp_line(data_dir, tmp_path):
    lines = (data_dir / "wav.scp").read_text().splitlines()
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav file at all")
    lines[1] = f"u1 {tmp_path / 'gone.wav'}"
    lines[3] = f"u3 {junk}"
    write_lines(data_dir / "wav.scp", lines)
    with pytest.raises(DataDirError) as e:
        check_data_dir(data_dir, ["text.en"])
    problems = e.value.problems
    assert len(problems) == 2
    assert problems[0].startswith(f"{data_dir / 'wav.scp'}:2: audio file")
    assert str(tmp_path / "gone.wav") in problems[0] and "does not exist" in problems[0]
    assert problems[1].startswith(f"{data_dir / 'wav.scp'}:4: audio file")
    assert str(junk) in problems[1] and "not readable" in problems[1]
    assert "2 problem(s)" in str(e.value)


def test_a_truncated_wav_names_its_wav_scp_line(data_dir, tmp_path):
    stereo = tmp_path / "u3.wav"  # 8 kHz stereo: 4 bytes per frame
    stereo.write_bytes(stereo.read_bytes()[: 44 + 4 * 10])
    with pytest.raises(DataDirError) as e:
        check_data_dir(data_dir, ["text.en"])
    assert e.value.problems == [
        f"{data_dir / 'wav.scp'}:4: audio file '{stereo}' of 'u3' is truncated: its"
        " header declares 4000 samples but the file holds 10 - replace it or remove"
        " the utterance"
    ]


def test_empty_transcripts_filtered_with_count(data_dir, tmp_path, caplog):
    write_lines(data_dir / "text.de", ["u0 hallo", "u1", "u2 ja", "u3 tschüss"])
    write_lines(data_dir / "text.en", ["u0 hello", "u1", "u2 yes", "u3  "])
    with pytest.raises(DataDirError) as e:
        check_data_dir(data_dir, ["text.en", "text.de"])
    assert f"{data_dir / 'text.en'}:2: empty transcript for 'u1'" in str(e.value)
    assert "--fix_empty" in str(e.value)

    out = tmp_path / "fixed"
    with caplog.at_level(logging.INFO):
        report = check_data_dir(data_dir, ["text.en", "text.de"], fix_empty=out)
    assert "filtered 2 of 4 utterances with an empty transcript" in caplog.text
    assert report.data_dir == out
    assert (report.num_utterances, report.num_empty_filtered) == (2, 2)
    assert report.empty_per_file == {"text.en": 2, "text.de": 1}
    assert report.total_duration == pytest.approx(4.0)
    assert list(read_kaldi_map(out / "wav.scp")) == ["u0", "u2"]
    assert read_kaldi_map(out / "text.de") == {"u0": "hallo", "u2": "ja"}
    assert (out / "spk2utt").read_text() == "s1 u0 u2\n"
    assert check_data_dir(out, ["text.en", "text.de"]).num_utterances == 2


def test_segments_and_cli(data_dir, tmp_path, capsys, caplog):
    wav = data_dir / "wav.scp"
    rec = wav.read_text().splitlines()[2].split()[1]  # 3 s
    write_lines(wav, [f"rec {rec}"])
    write_lines(data_dir / "segments", ["a rec 0.0 1.0", "b rec 1.5 -1"])
    write_lines(data_dir / "text", ["a x", "b y"])
    for name in ("utt2spk", "text.en", "text.de"):  # of the 4 utterances
        (data_dir / name).unlink()
    main([str(data_dir)])
    out = capsys.readouterr().out
    assert '"num_utterances": 2' in out and '"total_duration": 2.5' in out
    write_lines(data_dir / "text", ["a x"])
    with pytest.raises(SystemExit) as e:
        main([str(data_dir)])
    assert e.value.code == 1
    assert caplog.messages[-1] == (
        f"{data_dir}: 1 problem(s) found:\n  {data_dir / 'text'}:2: no line for"
        " utterance 'b' (segments:2; text has 1 lines, segments 2) - add its"
        " transcript or remove it from segments"
    )


def test_all_kaldi_files_checked_at_once(data_dir):
    (data_dir / "text.en").write_bytes("u0 hello\nu1 caf\xe9\n".encode("latin-1"))
    write_lines(data_dir / "utt2spk", ["u0 s1", "u0 s2", "u2 s1", "u3 s2"])
    write_lines(data_dir / "spk2utt", ["s1 u0 u2 u7", "s2 u3"])
    text, u2s, s2u = (data_dir / n for n in ("text.en", "utt2spk", "spk2utt"))
    assert check_kaldi_files(data_dir) == [
        f"{text}:2: not valid UTF-8 (byte 0xe9 at column 7) - re-encode the file as"
        " UTF-8, e.g. iconv -f latin1 -t utf-8",
        f"{text}:3: no line for utterance 'u2' (wav.scp:3; text.en has 2 lines,"
        " wav.scp 4) - add its transcript or remove it from wav.scp",
        f"{text}:4: no line for utterance 'u3' (wav.scp:4; text.en has 2 lines,"
        " wav.scp 4) - add its transcript or remove it from wav.scp",
        f"{u2s}:2: duplicate id 'u0' (first at line 1); ids must be unique - remove"
        " or rename one of them",
        f"{u2s}:2: no line for utterance 'u1' (wav.scp:2; utt2spk has 3 lines,"
        " wav.scp 4) - add its utt2spk line or remove it from wav.scp",
        f"{s2u}:1: utterance 'u7' of speaker 's1' is not in wav.scp - remove it, or"
        " rebuild spk2utt with utils/utt2spk_to_spk2utt.pl",
        f"{s2u}:3: utterance 'u1' is in no speaker's line (1 missing in all) -"
        " rebuild spk2utt from utt2spk",
    ]
    with pytest.raises(DataDirError) as e:
        check_data_dir(data_dir, ["text.en"])  # before any audio is probed
    assert len(e.value.problems) == 7


def test_problems_shown_up_to_the_limit(data_dir):
    extra = [f"x{i:02d} extra" for i in range(25)]
    write_lines(data_dir / "text.en", ["u0 a", "u1 b", "u2 c", "u3 d"] + extra)
    with pytest.raises(DataDirError) as e:
        check_data_dir(data_dir, ["text.en"])
    assert len(e.value.problems) == 25
    lines = str(e.value).split("\n")
    assert lines[0] == f"{data_dir}: 25 problem(s) found:"
    assert len(lines) == 1 + 20 + 1
    assert lines[20].startswith(f"  {data_dir / 'text.en'}:24: id 'x19'")
    assert lines[-1] == "  ... and 5 more"
